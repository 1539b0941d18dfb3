"""What a one-line edit of a large script costs: `reelcut tool DIR text_insert_lines ... --apply`
on a 100 MB file under scripts/, against copying that file.

Run: ``.venv/bin/python bench/bench_big_file.py [--mb 100] [--runs 3] [--repo PATH]``

Issue 25 measured this call at 10 s, 1 GB of memory, 206 MB of JSON on stdout and 392 MB more
in state.sqlite: the changeset and the call's audit each kept the whole file before and after.
Now a change to a file over 1 MiB keeps its splices (`engine.changes.delta`), so what the call
stores and prints is bounded by the line it inserts.

Each run, on a fresh project (``reelcut new``) holding ``scripts/big.md`` of ``--mb`` MB:

- **the edit**: the real command line, as a subprocess, inserting one line after line 5 and
  applying it (through the door, under the writer lock, durably); measured: wall time, the
  process's peak RSS (``os.wait4``'s rusage of that child only, started by a small launcher:
  a child forked from this process would count this process's memory too, since Linux keeps
  the high-water mark across exec), stdout bytes, and how much state.sqlite (with its -wal)
  grew. Checked outside the timing: the file is the original with the line inserted, byte for
  byte.
- **the revert**: ``reelcut changes DIR revert N``, timed the same way; the file must come back
  byte for byte (sha256).
- **anchors**, in the same run: copying the file (read, write, fsync: what any edit that
  rewrites the file pays at least), and the command line's fixed cost (``reelcut tool DIR
  file_list {}`` on the same project: interpreter, imports, opening the project).

Targets (exit status 1 if one is missed): stdout at most 64 KiB; state.sqlite growth at most
1 MiB; peak RSS at most 4x the file's size; the edit's time above the fixed cost at most 12x
the copy. ``--repo`` runs another checkout's command line (its ``tui.cli``) the same way, with
the text tools' size cap lifted (older ones refuse files over 16 MiB), to measure the cost
before the change.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
LINE = "the quick brown fox jumps over the lazy dog 0123456789\n"
INSERTED = "one line inserted by the bench"
AFTER = 5

# The command line, with the text tools' size cap lifted for older checkouts (it is above the
# bench's sizes in this one).
DRIVER = (
    "import sys; import engine.tools.file_tools as f; f.MAX_TEXT_BYTES = max(f.MAX_TEXT_BYTES, "
    "1 << 30); from tui.cli import main; sys.exit(main(sys.argv[1:]))"
)


# Started fresh (small), it starts the command and reports the command's own rusage.
LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=sys.stdout, stderr=subprocess.PIPE)
err = proc.stderr.read()
_pid, status, usage = os.wait4(proc.pid, 0)
print(json.dumps({"seconds": time.perf_counter() - start, "peak_kib": usage.ru_maxrss,
                  "code": os.waitstatus_to_exitcode(status), "err": err.decode()[-300:]}),
      file=sys.stderr)
"""


@dataclass
class Measured:
    seconds: float
    peak_mib: float
    stdout_bytes: int
    stdout: str
    code: int


def run(repo: Path, *argv: str | Path) -> Measured:
    """One command line as a subprocess: wall time, its own peak RSS, its stdout."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    command = [sys.executable, "-c", DRIVER, *map(str, argv)]
    with tempfile.TemporaryFile() as out:
        done = subprocess.run(
            [sys.executable, "-c", LAUNCHER, *command],
            stdout=out,
            stderr=subprocess.PIPE,
            env=env,
            cwd=repo,
            check=True,
        )
        out.seek(0)
        data = out.read()
    report = json.loads(done.stderr.decode().strip().splitlines()[-1])
    if report["code"] != 0:
        print(f"  {' '.join(map(str, argv[:3]))}: exit {report['code']}: {report['err'].strip()}")
    return Measured(
        report["seconds"], report["peak_kib"] / 1024, len(data), data.decode(), report["code"]
    )


def state_bytes(root: Path) -> int:
    state = root / ".reelcut"
    return sum(p.stat().st_size for p in state.glob("state.sqlite*") if p.is_file())


def copy_seconds(src: Path, dst: Path) -> float:
    start = time.perf_counter()
    with open(src, "rb") as f, open(dst, "wb") as g:
        shutil.copyfileobj(f, g, 1 << 20)
        g.flush()
        os.fsync(g.fileno())
    seconds = time.perf_counter() - start
    dst.unlink()
    return seconds


def write_script(path: Path, size: int) -> tuple[int, str]:
    """``size`` bytes of whole lines at ``path``, written in chunks (this process stays small:
    see the launcher); their length and sha256."""
    chunk = (LINE * ((1 << 20) // len(LINE))).encode()
    h = hashlib.sha256()
    written = 0
    with open(path, "wb") as f:
        while written + len(chunk) <= size:
            f.write(chunk)
            h.update(chunk)
            written += len(chunk)
    return written, h.hexdigest()


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def edited_sha256(path: Path) -> str:
    """The sha256 of ``path`` with the bench's line inserted after line `AFTER`."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for _ in range(AFTER):
            h.update(f.readline())
        h.update((INSERTED + "\n").encode())
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def one_run(repo: Path, work: Path, size: int) -> dict[str, float]:
    root = work / "p"
    shutil.rmtree(root, ignore_errors=True)
    made = run(repo, "new", root)
    assert made.code == 0, "reelcut new failed"
    big = root / "scripts" / "big.md"
    _written, original = write_script(big, size)
    expected = edited_sha256(big)
    cost = run(repo, "tool", root, "file_list", "{}")  # the fixed cost, and the database made
    copy = copy_seconds(big, work / "copy.md")

    grown_from = state_bytes(root)
    args = json.dumps({"path": "scripts/big.md", "after": AFTER, "text": INSERTED})
    edit = run(repo, "tool", root, "text_insert_lines", args, "--apply")
    grown = state_bytes(root) - grown_from
    assert edit.code == 0, "the edit failed"
    assert sha256_of(big) == expected, "the edited file is not the original plus one line"
    changeset = json.loads(edit.stdout)["changeset"]

    revert = run(repo, "changes", root, "revert", str(changeset))
    assert revert.code == 0, "the revert failed"
    assert sha256_of(big) == original, "revert is not byte-exact"
    return {
        "edit_s": edit.seconds,
        "edit_peak_mib": edit.peak_mib,
        "stdout_bytes": edit.stdout_bytes,
        "state_growth_bytes": grown,
        "revert_s": revert.seconds,
        "revert_peak_mib": revert.peak_mib,
        "copy_s": copy,
        "fixed_s": cost.seconds,
        "fixed_peak_mib": cost.peak_mib,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=100, help="size of the script in MB")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--repo", type=Path, default=HERE, help="the checkout to measure")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_big_file-") as tmp:
        chunk = len(LINE) * ((1 << 20) // len(LINE))  # write_script's unit
        size = args.mb * 1_000_000 // chunk * chunk
        mib = size / (1 << 20)
        print(
            f"{args.repo}: one line into a {size:,}-byte script ({mib:.1f} MiB), {args.runs} runs"
        )
        runs = []
        for i in range(args.runs):
            r = one_run(args.repo, Path(tmp), size)
            runs.append(r)
            print(
                f"  run {i + 1}: edit {r['edit_s']:.2f} s, peak {r['edit_peak_mib']:.0f} MiB, "
                f"stdout {r['stdout_bytes']:,} B, state +{r['state_growth_bytes']:,} B; revert "
                f"{r['revert_s']:.2f} s, peak {r['revert_peak_mib']:.0f} MiB; anchors: copy "
                f"{r['copy_s']:.2f} s, fixed cost {r['fixed_s']:.2f} s "
                f"({r['fixed_peak_mib']:.0f} MiB)"
            )

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    over_fixed = max(med("edit_s") - med("fixed_s"), 0.0)
    ratio = over_fixed / med("copy_s")
    checks = [
        ("stdout", med("stdout_bytes"), 64 * 1024, f"{med('stdout_bytes'):,.0f} B <= 64 KiB"),
        (
            "state growth",
            med("state_growth_bytes"),
            1 << 20,
            f"{med('state_growth_bytes'):,.0f} B <= 1 MiB",
        ),
        (
            "peak RSS",
            med("edit_peak_mib"),
            4 * mib,
            f"{med('edit_peak_mib'):.0f} MiB = {med('edit_peak_mib') / mib:.2f}x the file <= 4x",
        ),
        (
            "time",
            ratio,
            12.0,
            f"{med('edit_s'):.2f} s, {over_fixed:.2f} s above the fixed cost "
            f"{med('fixed_s'):.2f} s = {ratio:.1f}x the copy ({med('copy_s'):.2f} s) <= 12x",
        ),
    ]
    failed = False
    print("medians:")
    for name, value, limit, said in checks:
        ok = value <= limit
        failed |= not ok
        print(f"  {name}: {said}: {'met' if ok else 'MISSED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
