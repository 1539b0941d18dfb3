"""The demo project: real media generated on the spot, assembled into a small timeline.

ffmpeg draws a test pattern with the frame number and timecode burned in (so a preview can be
checked frame by frame) over a beeping tone, a still image and a second tone; espeak-ng speaks a
line. Everything is imported through the normal importer, then laid out on two video and two
audio tracks with a linked pair, a title, markers and the scripts an agent works on.

The project is built in a hidden sibling folder and renamed into place, so an interrupted demo
never leaves a half-made project behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import msgspec

from engine.errors import ReelcutError
from engine.fsio.durable import atomic_write
from engine.media.ffmpeg import FFMPEG_TIMEOUT, run
from engine.media.ffmpeg_command import require
from engine.media.importer import import_files
from engine.model import (
    Clip,
    EditorState,
    Marker,
    Project,
    TextProps,
    Track,
    new_id,
    new_project,
)
from engine.projectdir import ProjectDir
from engine.session import seed_view
from engine.timebase import Rate
from engine.workflows import EDITOR_WORKFLOW

FPS = 30
WIDTH, HEIGHT = 1280, 720
PATTERN_SECONDS = 8


def default_demo_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local/share")
    return Path(base) / "reelcut" / "demo"


def make_demo(root: Path | str) -> ProjectDir:
    """Create the demo project at ``root`` (which must not exist, or be an empty folder)."""
    root = Path(root).absolute()
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ReelcutError(f"{root}: exists and is not an empty folder; choose a new path")
    for program in ("ffmpeg", "ffprobe", "espeak-ng"):
        require(program)
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".tmp", dir=root.parent))
    try:
        with tempfile.TemporaryDirectory(prefix="reelcut-demo-media-") as media_dir:
            media = _generate_media(Path(media_dir))
            shutil.rmtree(staging)
            pd = ProjectDir.create(
                staging, new_project("reelcut demo", rate=Rate(FPS), width=WIDTH, height=HEIGHT)
            )
            with pd.writer("reelcut demo"):
                project, results = import_files(pd, pd.load(), media, place=False)
                failed = [r.error for r in results if r.error]
                if failed:
                    raise ReelcutError(f"demo media did not import: {failed[0]}")
                project = _assemble(project, [r.assets for r in results])
                _write_scripts(pd)
                pd.save(project)
                # The view is the state database's, not project.json's: zoomed in to start.
                seed_view(pd, EditorState(playhead=0, frames_per_cell=2))
        if root.exists():
            root.rmdir()
        os.rename(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ProjectDir(root)


def _generate_media(out: Path) -> list[Path]:
    pattern, still, tone, line = (
        out / "pattern.mp4",
        out / "still.png",
        out / "tone.wav",
        out / "line.wav",
    )
    label = "fontsize=40:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=8:font=Mono:x=40"
    draw = (
        f"drawtext={label}:y=40:text='frame %{{frame_num}}',"
        f"drawtext={label}:y=100:timecode='00\\:00\\:00\\:00':rate={FPS}"
    )
    ffmpeg = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
    run(
        [
            *ffmpeg,
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS}:duration={PATTERN_SECONDS},{draw}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:beep_factor=4:duration={PATTERN_SECONDS}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-g",
            str(FPS),
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-shortest",
            "-fflags",
            "+bitexact",
            str(pattern),
        ],
        timeout=FFMPEG_TIMEOUT,
        what="demo: could not render the test pattern",
    )
    run(
        [
            *ffmpeg,
            "-f",
            "lavfi",
            "-i",
            f"smptehdbars=size={WIDTH}x{HEIGHT}:duration=1,"
            f"drawtext={label}:y=40:text='reelcut still'",
            "-frames:v",
            "1",
            str(still),
        ],
        timeout=FFMPEG_TIMEOUT,
        what="demo: could not render the still image",
    )
    run(
        [
            *ffmpeg,
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=880:duration=2",
            "-ac",
            "2",
            "-fflags",
            "+bitexact",
            str(tone),
        ],
        timeout=FFMPEG_TIMEOUT,
        what="demo: could not render the tone",
    )
    run(
        [
            "espeak-ng",
            "-w",
            str(line),
            "Welcome to reelcut. Cut with the keyboard, watch in the browser.",
        ],
        timeout=60,
        what="demo: espeak-ng could not speak the line",
    )
    return [pattern, still, tone, line]


def _assemble(project: Project, imported: list[list[str]]) -> Project:
    """Lay the imported assets out on V2/V1/A1/A2 with a linked pair, a title and markers."""
    (video_id, video_audio_id), (still_id,), (tone_id,), (line_id,) = imported
    assets = {a.id: a for a in project.assets}
    pattern_len = min(
        assets[video_id].media.duration_frames,  # type: ignore[union-attr]
        assets[video_audio_id].media.duration_frames,  # type: ignore[union-attr]
    )
    line_len = assets[line_id].media.duration_frames  # type: ignore[union-attr]
    tone_len = assets[tone_id].media.duration_frames  # type: ignore[union-attr]

    ids: dict[str, str] = {}
    for key in (
        "v2",
        "a2",
        "pattern",
        "pattern_audio",
        "still",
        "title",
        "line",
        "tone",
        "m1",
        "m2",
    ):
        ids[key], project = new_id(
            project, "t" if key in ("v2", "a2") else "m" if key.startswith("m") else "c"
        )
    v1, a1 = project.tracks
    v1 = msgspec.structs.replace(
        v1,
        clips=(
            Clip(
                id=ids["pattern"],
                kind="media",
                name="Test pattern",
                start=0,
                duration=pattern_len,
                asset_id=video_id,
                linked_id=ids["pattern_audio"],
            ),
            Clip(
                id=ids["still"],
                kind="media",
                name="Still",
                start=pattern_len,
                duration=3 * FPS,
                asset_id=still_id,
            ),
        ),
    )
    a1 = msgspec.structs.replace(
        a1,
        clips=(
            Clip(
                id=ids["pattern_audio"],
                kind="media",
                name="Test pattern (audio)",
                start=0,
                duration=pattern_len,
                asset_id=video_audio_id,
                linked_id=ids["pattern"],
            ),
        ),
    )
    v2 = Track(
        id=ids["v2"],
        kind="video",
        name="V2",
        clips=(
            Clip(
                id=ids["title"],
                kind="text",
                name="Title",
                start=0,
                duration=75,
                text=TextProps(text="reelcut demo", size=96, background="#00000099"),
            ),
        ),
    )
    a2 = Track(
        id=ids["a2"],
        kind="audio",
        name="A2",
        clips=(
            Clip(
                id=ids["line"],
                kind="media",
                name="Welcome line",
                start=45,
                duration=line_len,
                asset_id=line_id,
            ),
            Clip(
                id=ids["tone"],
                kind="media",
                name="Tone",
                start=pattern_len,
                duration=min(tone_len, 3 * FPS),
                asset_id=tone_id,
            ),
        ),
    )
    return msgspec.structs.replace(
        project,
        tracks=(v2, v1, a1, a2),
        markers=(
            Marker(id=ids["m1"], frame=4 * FPS, name="Midpoint"),
            Marker(id=ids["m2"], frame=pattern_len, name="Still", color="#33ccff"),
        ),
    )


SCRIPT_MD = """\
# reelcut demo

## Scene 1: the pattern

NARRATOR: Welcome to reelcut. Cut with the keyboard, watch in the browser.

The test pattern shows its own frame number and timecode, so the preview can be checked
frame by frame against the terminal.

## Scene 2: the still

A still image holds for three seconds while a tone plays.
"""

WORKFLOW = EDITOR_WORKFLOW

SCENARIO = {
    "schema_version": 1,
    "title": "Demo dialogue",
    "speakers": [
        {"id": "narrator", "name": "Narrator", "voice": "Kore"},
        {"id": "guest", "name": "Guest", "voice": "Puck"},
    ],
    "lines": [
        {"id": "l_1", "speaker": "narrator", "text": "Welcome to reelcut."},
        {"id": "l_2", "speaker": "guest", "text": "So the timeline is just a file?"},
        {"id": "l_3", "speaker": "narrator", "text": "A file you and the agent both edit."},
    ],
}


def _write_scripts(pd: ProjectDir) -> None:
    (pd.scripts / "workflows").mkdir(parents=True, exist_ok=True)
    atomic_write(pd.scripts / "script.md", SCRIPT_MD.encode())
    atomic_write(
        pd.scripts / "workflows" / "editor.json", (json.dumps(WORKFLOW, indent=2) + "\n").encode()
    )
    atomic_write(pd.scripts / "Scenario_TTS.json", (json.dumps(SCENARIO, indent=2) + "\n").encode())
