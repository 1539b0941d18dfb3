"""Runs reelcut command lines in a process of its own, for tests that need one: a process whose
file system is a read-only mount or a small tmpfs (``unshare -m``), or whose privileges were
dropped (``setpriv``), or that must not hang the test run (a FIFO where project.json belongs).

``python -m tests.tui.cli_probe run CASES``: ``CASES`` is a JSON list of argument lists; each
goes through `tui.cli.main` (the console script's entry) in turn, with a watchdog, and one JSON
document comes out: ``[{"argv", "code", "out", "err"}, ...]`` (``code`` is ``"hang"`` when the
watchdog fired).

``python -m tests.tui.cli_probe fill-run TEMPLATE WORK LEVELS ARGV``: for each free-space level
in the JSON list ``LEVELS`` (bytes), copies the project ``TEMPLATE`` to ``WORK/p`` (on the small
file system), fills the file system until that much is free, runs the JSON argument list
``ARGV`` (``{p}`` is the project), frees the filler and reports what project.json and the state
database hold afterwards (`fill_run`).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import sqlite3
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

WATCHDOG_SECONDS = 20


class Hang(BaseException):
    """The watchdog fired: the command was still running (a BaseException, so the command
    line's own error handling does not take it for a bug of its own)."""


def _alarm(signum: int, frame: Any) -> None:
    raise Hang


def run(argv: list[str]) -> dict[str, Any]:
    from tui.cli import main

    out, err = io.StringIO(), io.StringIO()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(WATCHDOG_SECONDS)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code: int | str = main(argv)
    except Hang:
        code = "hang"
    finally:
        signal.alarm(0)
    return {"argv": argv, "code": code, "out": out.getvalue(), "err": err.getvalue()}


def fill_run(template: Path, work: Path, free: int, argv: list[str]) -> dict[str, Any]:
    """Copy ``template`` to ``WORK/p``, fill the file system to ``free`` bytes, run ``argv``
    (``{p}`` stands for the project), free the space and report the project's state."""
    proj = work / "p"
    if proj.exists():
        shutil.rmtree(proj)
    shutil.copytree(template, proj)
    filler = work / "filler"
    fs = os.statvfs(work)
    with open(filler, "wb") as f:
        try:
            f.write(b"\0" * max(0, fs.f_bavail * fs.f_frsize - free))
            f.flush()
        except OSError:
            pass  # full a little early: as full as it gets
    fs = os.statvfs(work)
    result = run([a.replace("{p}", str(proj)) for a in argv])
    filler.unlink()
    doc = json.loads((proj / "project.json").read_bytes())
    conn = sqlite3.connect(proj / ".reelcut" / "state.sqlite")
    try:
        jobs = [r[0] for r in conn.execute("SELECT json_extract(payload, '$.asset') FROM jobs")]
        pending = conn.execute("SELECT count(*) FROM meta WHERE key = 'pending'").fetchone()[0]
    finally:
        conn.close()
    names = sorted(os.listdir(proj / "assets"))
    return {
        **result,
        "free": fs.f_bavail * fs.f_frsize,
        "project_json": (proj / "project.json").read_text(),
        "assets": [a["id"] for a in doc["assets"]],
        "asset_files": [n for n in names if not n.startswith(".")],
        "temps": [n for n in names if n.startswith(".")],
        "job_assets": sorted(set(jobs)),
        "pending": pending,
    }


if __name__ == "__main__":
    mode, rest = sys.argv[1], sys.argv[2:]
    if mode == "run":
        report = [run(argv) for argv in json.loads(rest[0])]
    elif mode == "fill-run":
        template, work = Path(rest[0]), Path(rest[1])
        argv = json.loads(rest[3])
        report = [fill_run(template, work, int(f), argv) for f in json.loads(rest[2])]
    else:
        raise SystemExit(f"unknown mode {mode}")
    sys.stdout = sys.__stdout__
    print(json.dumps(report))
