"""`reelcut tts DIR --no-wait` queues the lines and places their placeholders; `reelcut jobs DIR
run` (headless, as the project's holder) speaks them with espeak-ng and lands every take; the
real binary both times."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from engine.projectdir import ProjectDir
from tests.engine.test_tts import make_project

REELCUT = str(Path(sys.executable).with_name("reelcut"))


def stages(root: Path) -> list[str]:
    return sorted(a.generation.stage for a in ProjectDir(root).load().assets if a.generation)


def test_jobs_run_speaks_and_lands_the_lines_tts_queued(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    queued = subprocess.run(
        [REELCUT, "tts", str(root), "--no-wait", "--json"], capture_output=True, text=True
    )
    assert queued.returncode == 0, queued.stderr
    assert len(json.loads(queued.stdout)["jobs"]) == 3
    assert stages(root) == ["queued"] * 3  # placeholders, nothing spoken

    ran = subprocess.run(
        [REELCUT, "jobs", str(root), "run", "--json"], capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    assert stages(root) == ["ready"] * 3
    counts = json.loads(ran.stdout)["counts"]
    assert counts.get("failed", 0) == counts.get("dead", 0) == 0
    status = subprocess.run(
        [REELCUT, "tts", str(root), "status", "--json"], capture_output=True, text=True
    )
    assert {ln["stage"] for ln in json.loads(status.stdout)["lines"]} == {"ready"}
