"""The command line as a user runs it: a real `reelcut` process, real files, exit codes."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import MediaError, ProjectInvalid, ProjectLocked
from engine.lock import WriterLock

REELCUT = [sys.executable, "-m", "tui.cli"]


def reelcut(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*REELCUT, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


def assert_one_line_error(res: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert res.returncode == code, res.stderr
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("reelcut: ")
    for needle in needles:
        assert needle in lines[0]


def test_new_then_info_json(tmp_path: Path) -> None:
    """`new` makes an empty project at the asked rate and size; `info --json` describes it."""
    res = reelcut("new", tmp_path / "p", "--fps", "30000/1001", "--size", "1280x720", "--json")
    assert res.returncode == 0, res.stderr
    info = json.loads(reelcut("info", tmp_path / "p", "--json").stdout)
    assert info["rate"] == {"num": 30000, "den": 1001}
    assert (info["width"], info["height"]) == (1280, 720)
    assert [t["name"] for t in info["tracks"]] == ["V1", "A1"]
    assert info["duration"] == 0
    for sub in ("assets", "scripts", ".reelcut"):
        assert (tmp_path / "p" / sub).is_dir()


def test_info_json_lists_demo_clips_frame_exact(demo_master: Path) -> None:
    """The demo's linked pair, title and marker come back with frame-exact positions."""
    res = reelcut("info", demo_master, "--json")
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    clips = {c["name"]: c for t in info["tracks"] for c in t["clips"]}
    video, audio = clips["Test pattern"], clips["Test pattern (audio)"]
    assert video["linked_id"] == audio["id"] and audio["linked_id"] == video["id"]
    assert (video["start"], video["duration"]) == (audio["start"], audio["duration"]) == (0, 240)
    assert clips["Still"]["start"] == 240
    assert clips["Title"]["kind"] == "text"
    assert [t["kind"] for t in info["tracks"]] == ["video", "video", "audio", "audio"]
    assert info["markers"][0]["frame"] == 120
    assert info["duration"] == 330 and info["duration_tc"] == "00:00:11:00"


def test_info_text_table(demo_master: Path) -> None:
    res = reelcut("info", demo_master)
    assert res.returncode == 0
    assert "reelcut demo: 1280x720 at 30 fps, 00:00:11:00 (330 frames)" in res.stdout
    assert "Test pattern (audio)" in res.stdout


def test_info_works_while_editor_holds_the_lock(demo_master: Path) -> None:
    """Read-only commands ignore the writer lock; writers are refused with the holder named."""
    with WriterLock(demo_master, purpose="reelcut open"):
        assert reelcut("info", demo_master).returncode == 0
        res = reelcut("import", demo_master, __file__)
        assert_one_line_error(res, ProjectLocked.exit_code, f"pid {os.getpid()}", "reelcut open")


def test_import_reports_each_file(demo_dir: Path, tmp_path: Path) -> None:
    """One bad file gets one line; the good one still imports and the project is saved."""
    bad = tmp_path / "notes.txt"
    bad.write_text("not media")
    good = (
        demo_dir
        / "assets"
        / next(p.name for p in (demo_dir / "assets").iterdir() if p.suffix == ".png")
    )
    copy = tmp_path / "still-copy.png"
    copy.write_bytes(good.read_bytes())
    extra = tmp_path / "tone2.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=300:duration=1", str(extra)],
        check=True,
    )
    res = reelcut("import", demo_dir, bad, copy, extra)
    assert_one_line_error(res, MediaError.exit_code, "notes.txt")
    assert "still-copy.png: already imported as" in res.stdout
    assert "tone2.wav: imported as" in res.stdout
    info = json.loads(reelcut("info", demo_dir, "--json").stdout)
    assert any(a["name"] == "tone2.wav" for a in info["assets"])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("info", "{missing}"), "no such folder"),
        (("new", "{existing}"), "already a project"),
        (("new", "{fresh}", "--fps", "abc"), "frame rate 'abc'"),
        (("new", "{fresh}", "--size", "big"), "WIDTHxHEIGHT"),
    ],
)
def test_user_errors_are_one_line(
    demo_master: Path, tmp_path: Path, args: tuple[str, ...], needle: str
) -> None:
    paths = {"missing": tmp_path / "nope", "existing": demo_master, "fresh": tmp_path / "new"}
    res = reelcut(*(a.format(**paths) for a in args))
    assert res.returncode != 0
    assert_one_line_error(res, res.returncode, needle)


def test_broken_project_json_is_reported_and_kept(demo_dir: Path) -> None:
    """An invalid project.json is named by JSON path and never overwritten, even by `open`."""
    path = demo_dir / "project.json"
    doc = json.loads(path.read_text())
    doc["tracks"][1]["clips"][0]["duration"] = -5
    broken = json.dumps(doc, indent=2).encode()
    path.write_bytes(broken)
    for command in ("info", "open"):
        res = reelcut(command, demo_dir)
        assert_one_line_error(
            res,
            ProjectInvalid.exit_code,
            "project.json: $.tracks[1].clips[0].duration: expected an integer >= 1, got -5",
        )
        assert path.read_bytes() == broken


def test_editor_without_a_terminal_says_so(demo_dir: Path) -> None:
    """`open` with stdin and stdout not a TTY: one line naming the terminal, not a spinning app."""
    before = (demo_dir / "project.json").read_bytes()
    res = reelcut("open", demo_dir)
    assert_one_line_error(res, 1, "the editor needs a terminal", "reelcut info")
    assert res.stdout == "" and (demo_dir / "project.json").read_bytes() == before


def test_demo_json_creates_once(tmp_path: Path) -> None:
    """`demo DIR --json` makes the project the first time and reuses it the second."""
    first = json.loads(reelcut("demo", tmp_path / "d", "--json").stdout)
    second = json.loads(reelcut("demo", tmp_path / "d", "--json").stdout)
    assert first["created"] is True and second["created"] is False
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_info_into_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    """`reelcut info DIR | head -1`: no traceback when the reader goes away early."""
    from engine.projectdir import ProjectDir
    from tests.engine.timelines import timeline

    # Far more output than a pipe buffers, so the writer is still writing when head leaves.
    root = tmp_path / "big"
    ProjectDir.create(root, timeline({"V1": [(i * 10, 10) for i in range(3000)]}))
    res = subprocess.run(
        f"{shlex.join(REELCUT)} info {shlex.quote(str(root))} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert res.stdout.startswith("t:"), res.stdout
    assert "Traceback" not in res.stderr and "BrokenPipe" not in res.stderr, res.stderr


def test_the_editor_module_leaves_heavy_imports_for_later() -> None:
    """Opening the editor imports neither the Gemini SDK, the tool registry's JSON Schema, the
    preview server's Starlette nor markdown-it: they load when first used (after the first
    paint), which keeps `reelcut open` near a bare Textual app's start-up."""
    code = (
        "import sys; import tui.app, engine.session; "
        "print(' '.join(m for m in ('google.genai', 'jsonschema', 'starlette', 'markdown_it') "
        "if m in sys.modules))"
    )
    res = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == []
