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
- **anchors**, in the same run: a **plain edit**, the least any tool that inserts a line into
  a UTF-8 text file and saves it durably does (a Python process that reads the file, decodes
  it, inserts the line, encodes it and writes it to a temp file, fsync, rename: no audit, no
  hashes, no undo), measured the same way; the command line's **fixed cost** (``reelcut tool
  DIR file_list {}`` on the same project: interpreter, imports, opening the project); and, for
  information, a copy of the file (read, write, fsync) in this process.

Targets (exit status 1 if one is missed), on medians: stdout at most 64 KiB; state.sqlite
growth at most 1 MiB; the edit's peak RSS at most 1.5x the plain edit's; its time above the
fixed cost at most 4x the plain edit's. ``--repo`` runs another checkout's command line (its
``tui.cli``) the same way, with the text tools' size cap lifted (older ones refuse files over
16 MiB), to measure the cost before the change.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
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


def stored_bytes(root: Path) -> int:
    """Bytes the changesets and tool calls hold (their text and JSON columns), read after the
    run: what a call stored, without SQLite's page slack."""
    conn = sqlite3.connect(root / ".reelcut" / "state.sqlite")
    try:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(file_changes)")]
        kept = [c for c in ("before_text", "after_text", "diff", "delta") if c in columns]
        total = 0
        for table, names in (
            ("file_changes", kept),
            ("tool_events", ["args_json", "audit_json", "result_json"]),
        ):
            summed = " + ".join(f"COALESCE(length(CAST({c} AS BLOB)), 0)" for c in names)
            total += conn.execute(f"SELECT COALESCE(SUM({summed}), 0) FROM {table}").fetchone()[0]
        return int(total)
    finally:
        conn.close()


def state_bytes(root: Path) -> int:
    state = root / ".reelcut"
    return sum(p.stat().st_size for p in state.glob("state.sqlite*") if p.is_file())


PLAIN_EDIT = """
import os, sys
path, after, line = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "rb") as f:
    text = f.read().decode("utf-8")
at = 0
for _ in range(after):
    at = text.index("\\n", at) + 1
data = "".join((text[:at], line, "\\n", text[at:])).encode("utf-8")
with open(path + ".tmp", "wb") as f:
    f.write(data)
    f.flush()
    os.fsync(f.fileno())
os.replace(path + ".tmp", path)
"""


def plain_edit(repo: Path, path: Path) -> Measured:
    """The anchor: the plain edit, through the launcher like the command line."""
    with tempfile.TemporaryFile() as out:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                LAUNCHER,
                sys.executable,
                "-c",
                PLAIN_EDIT,
                str(path),
                str(AFTER),
                INSERTED,
            ],
            stdout=out,
            stderr=subprocess.PIPE,
            cwd=repo,
            check=True,
        )
    report = json.loads(done.stderr.decode().strip().splitlines()[-1])
    assert report["code"] == 0, report["err"]
    return Measured(report["seconds"], report["peak_kib"] / 1024, 0, "", 0)


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
    shutil.copyfile(big, work / "plain.md")
    plain = plain_edit(repo, work / "plain.md")
    assert sha256_of(work / "plain.md") == expected, "the plain edit is not the expected file"
    (work / "plain.md").unlink()

    grown_from, stored_from = state_bytes(root), stored_bytes(root)
    args = json.dumps({"path": "scripts/big.md", "after": AFTER, "text": INSERTED})
    edit = run(repo, "tool", root, "text_insert_lines", args, "--apply")
    grown = state_bytes(root) - grown_from
    stored = stored_bytes(root) - stored_from
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
        "stored_bytes": stored,
        "revert_s": revert.seconds,
        "revert_peak_mib": revert.peak_mib,
        "copy_s": copy,
        "plain_s": plain.seconds,
        "plain_peak_mib": plain.peak_mib,
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
                f"stdout {r['stdout_bytes']:,} B, state +{r['state_growth_bytes']:,} B "
                f"({r['stored_bytes']:,} B stored); revert "
                f"{r['revert_s']:.2f} s, peak {r['revert_peak_mib']:.0f} MiB; anchors: plain "
                f"edit {r['plain_s']:.2f} s, peak {r['plain_peak_mib']:.0f} MiB; fixed cost "
                f"{r['fixed_s']:.2f} s ({r['fixed_peak_mib']:.0f} MiB); copy {r['copy_s']:.2f} s"
            )

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    over_fixed = max(med("edit_s") - med("fixed_s"), 0.0)
    ratio = over_fixed / med("plain_s")
    memory = med("edit_peak_mib") / med("plain_peak_mib")
    checks = [
        ("stdout", med("stdout_bytes"), 64 * 1024, f"{med('stdout_bytes'):,.0f} B <= 64 KiB"),
        (
            "state growth",
            max(med("state_growth_bytes"), med("stored_bytes")),
            1 << 20,
            f"file +{med('state_growth_bytes'):,.0f} B, rows {med('stored_bytes'):,.0f} B <= 1 MiB",
        ),
        (
            "peak RSS",
            memory,
            1.5,
            f"{med('edit_peak_mib'):.0f} MiB ({med('edit_peak_mib') / mib:.2f}x the file) = "
            f"{memory:.2f}x the plain edit's {med('plain_peak_mib'):.0f} MiB <= 1.5x",
        ),
        (
            "time",
            ratio,
            4.0,
            f"{med('edit_s'):.2f} s, {over_fixed:.2f} s above the fixed cost "
            f"{med('fixed_s'):.2f} s = {ratio:.2f}x the plain edit ({med('plain_s'):.2f} s) "
            "<= 4x",
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
