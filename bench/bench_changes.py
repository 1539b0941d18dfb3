"""Applying a 100-file changeset with ``Ledger.apply`` against ``git apply`` of the same diffs.

Run: ``.venv/bin/python bench/bench_changes.py [--runs N] [--files N] [--profile]``

The tree: 100 text files of about 200 lines in a few folders; the changeset changes 3 lines of
each. Measured, on a fresh copy of the tree each run: ``Ledger.apply`` (verify every sha256,
mark in flight, write every file atomically and durably, mark applied); the proposals and
opening the ledger happen before the clock starts. Anchor: ``git apply`` of the 100 stored
diffs (``ledger.store.files(cs)[i].diff``, concatenated) on a fresh copy of the same tree, as a
subprocess (wall time) in a directory that is not a git repository. The two alternate, run by
run; each result tree is checked byte for byte outside the timing.

Target (exit status 1 if it fails): median ``Ledger.apply`` time at most 1.5x the median
``git apply`` time.

``--profile`` also splits one apply into its parts (reads + hashing, atomic writes, database
updates, fsyncs) by timing the ledger's calls from the outside, and runs the apply once more
with ``os.fsync`` made a no-op to show what durability costs. Nothing in the engine changes.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import sandbox
from engine.changes.ledger import Ledger
from engine.fsio import batch

RATIO_TARGET = 1.5
LINES = 200
CHANGED = 3

WORDS = ("cut", "trim", "ripple", "slip", "slide", "roll", "title", "fade", "marker", "clip")


def make_tree(root: Path, files: int, seed: int = 7) -> tuple[dict[str, bytes], dict[str, str]]:
    """Write the before-tree; return its files and the text each should become."""
    rng = random.Random(seed)
    before: dict[str, bytes] = {}
    after: dict[str, str] = {}
    for i in range(files):
        rel = f"scripts/part{i % 5}/scene_{i:03d}.md"
        lines = [f"# Scene {i}\n"] + [
            f"{n:03d} " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12))) + "\n"
            for n in range(LINES - 1)
        ]
        text = "".join(lines)
        for n in rng.sample(range(1, LINES), CHANGED):
            lines[n] = f"{n:03d} edited by the agent: {rng.choice(WORDS)}\n"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        before[rel] = text.encode()
        after[rel] = "".join(lines)
    return before, after


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".reelcut" not in p.relative_to(root).parts
    }


async def propose(root: Path, after: dict[str, str]) -> tuple[Ledger, int]:
    ledger = await Ledger.open(root)
    cs = await ledger.store.create("bench", "100-file changeset")
    for rel, text in after.items():
        await ledger.propose(cs, rel, text)
    await ledger.mark_ready(cs)
    return ledger, cs


def settle() -> None:
    """Start both sides from the same quiet disk: write back the set-up's copies (which a
    syncfs barrier would otherwise flush inside the timing) and collect garbage."""
    os.sync()
    gc.collect()


def run_ledger(master: Path, work: Path, after: dict[str, str]) -> float:
    """One timed ``Ledger.apply`` on a fresh copy; the result is checked afterwards."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(master, work)
    loop = asyncio.new_event_loop()
    try:
        ledger, cs = loop.run_until_complete(propose(work, after))
        settle()
        t = time.perf_counter()
        got = loop.run_until_complete(ledger.apply(cs))
        ms = (time.perf_counter() - t) * 1000
        loop.run_until_complete(ledger.close())
    finally:
        loop.close()
    assert got.status == "applied", got
    expected = {rel: text.encode() for rel, text in after.items()}
    if tree(work) != expected:
        raise SystemExit("Ledger.apply did not produce the after-tree")
    return ms


def run_git(master: Path, work: Path, patch: Path, after: dict[str, str]) -> float:
    """One timed ``git apply`` of the concatenated diffs on a fresh copy of the tree."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(master, work)
    settle()
    t = time.perf_counter()
    res = subprocess.run(["git", "apply", str(patch)], cwd=work, capture_output=True)
    ms = (time.perf_counter() - t) * 1000
    if res.returncode != 0:
        raise SystemExit(f"git apply failed: {res.stderr.decode(errors='replace')}")
    if tree(work) != {rel: text.encode() for rel, text in after.items()}:
        raise SystemExit("git apply did not produce the after-tree")
    return ms


@contextmanager
def timed(obj: Any, name: str, totals: dict[str, list[float]], label: str) -> Iterator[None]:
    """Wrap ``obj.name`` (sync or async) so every call adds its wall time to ``totals[label]``."""
    real = getattr(obj, name)
    if asyncio.iscoroutinefunction(real):

        async def wrapper_async(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return await real(*args, **kwargs)
            finally:
                totals[label].append(time.perf_counter() - t)

        setattr(obj, name, wrapper_async)
    else:

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                totals[label].append(time.perf_counter() - t)

        setattr(obj, name, wrapper)
    try:
        yield
    finally:
        setattr(obj, name, real)


def profile(master: Path, work: Path, after: dict[str, str], runs: int) -> None:
    """Where one apply's time goes, measured from the outside; medians over ``runs``."""
    import engine.changes.ledger as ledger_mod

    parts: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(master, work)
        loop = asyncio.new_event_loop()
        try:
            ledger, cs = loop.run_until_complete(propose(work, after))
            settle()
            totals: dict[str, list[float]] = defaultdict(list)
            with (
                timed(ledger.files, "read", totals, "read (thread)"),
                timed(ledger_mod, "sha256", totals, "sha256"),
                timed(sandbox.Batch, "stage", totals, "stage: temp file written"),
                timed(batch, "_sync_all", totals, "durability barriers"),
                timed(sandbox.Batch, "commit", totals, "commit: rename"),
                timed(ledger.store, "set_state", totals, "set_state (aiosqlite)"),
                timed(ledger.store, "files", totals, "store.files (aiosqlite)"),
                timed(ledger.store, "get", totals, "store.get (aiosqlite)"),
                timed(asyncio, "to_thread", totals, "to_thread round trips"),
            ):
                t = time.perf_counter()
                loop.run_until_complete(ledger.apply(cs))
                totals["total"].append(time.perf_counter() - t)
            loop.run_until_complete(ledger.close())
        finally:
            loop.close()
        for label, values in totals.items():
            parts[label].append(sum(values) * 1000)
            parts[label + " #"].append(len(values))

    print("\nprofile of Ledger.apply (median of runs; the thread round trips include the rest)")
    med = {label: statistics.median(values) for label, values in parts.items()}
    for label in sorted(k for k in parts if not k.endswith(" #")):
        print(f"  {label:28} {med[label]:8.1f} ms  {med[label + ' #']:5.0f} calls")
    quiet = batch._dirty_bytes() <= batch.SYNCFS_DIRTY_LIMIT
    print(f"  {'barrier':28} {'syncfs' if batch._syncfs and quiet else 'parallel fsync'}")

    # The same apply with the barriers made no-ops: what durability costs on this disk.
    no_sync = []
    real_sync = batch._sync_all
    batch._sync_all = lambda fds: None
    try:
        for _ in range(runs):
            no_sync.append(run_ledger(master, work, after))
    finally:
        batch._sync_all = real_sync
    print(f"  {'apply without barriers':28} {statistics.median(no_sync):8.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-changes-") as tmp:
        base = Path(tmp)
        master = base / "before"
        _, after = make_tree(master, args.files)

        # The patch set: the ledger's own stored diffs, concatenated.
        shutil.copytree(master, base / "probe")
        loop = asyncio.new_event_loop()
        try:
            ledger, cs = loop.run_until_complete(propose(base / "probe", after))
            stored = loop.run_until_complete(ledger.store.files(cs))
            loop.run_until_complete(ledger.close())
        finally:
            loop.close()
        assert len(stored) == args.files
        patch = base / "changes.patch"
        patch.write_text("".join(fc.diff for fc in stored))
        digest = hashlib.sha256(patch.read_bytes()).hexdigest()[:12]

        ours: list[float] = []
        git: list[float] = []
        run_ledger(master, base / "warm", after)  # imports, first-open costs
        run_git(master, base / "warm", patch, after)
        for i in range(args.runs):
            steps: list[Callable[[], None]] = [
                lambda: ours.append(run_ledger(master, base / "ours", after)),
                lambda: git.append(run_git(master, base / "git", patch, after)),
            ]
            for step in steps if i % 2 == 0 else reversed(steps):
                step()

        m_ours, m_git = statistics.median(ours), statistics.median(git)
        ratio = m_ours / m_git
        ok = ratio <= RATIO_TARGET
        print(
            f"{args.files} files x ~{LINES} lines, {CHANGED} lines changed each; "
            f"patch {patch.stat().st_size:,} bytes (sha256 {digest}); median of {args.runs}"
        )
        print(f"  Ledger.apply   {m_ours:8.1f} ms   runs: {', '.join(f'{x:.1f}' for x in ours)}")
        print(f"  git apply      {m_git:8.1f} ms   runs: {', '.join(f'{x:.1f}' for x in git)}")
        print(f"  ratio {ratio:.2f} (target <= {RATIO_TARGET:g})  {'PASS' if ok else 'FAIL'}")
        if args.profile:
            profile(master, base / "prof", after, args.runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
