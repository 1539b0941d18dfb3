"""A rough cut from an empty project with the keyboard alone (issue 19), the real `reelcut`
binary in real tmux: three files imported from inside the editor (a path prompt, Tab
completion), a cut built with append, overwrite and insert from source marks in the media bin,
trimmed with roll, slip and slide in trim mode, a clip moved to a new V2, a title, a gain and
two fades set in the clip inspector, and a marked range lifted. project.json must hold exactly
the expected timeline; after a restart, undo walks every edit back.

The media: a.mp4 (4 s of test pattern with a 440 Hz tone: a video asset a_3 and its sound
a_4), b.mp4 (3 s of blue, no sound: a_5), c.wav (2 s at 880 Hz: a_6); 30 fps.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from engine.model import ClipAudio
from engine.projectdir import ProjectDir
from tests.e2e.tmux import Tmux

REELCUT = str(Path(sys.executable).with_name("reelcut"))


def make_media(folder: Path) -> None:
    folder.mkdir()
    ff = ["ffmpeg", "-v", "error", "-y"]
    subprocess.run(
        [
            *ff,
            *("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=4"),
            *("-f", "lavfi", "-i", "sine=frequency=440:duration=4"),
            *("-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"),
            str(folder / "a.mp4"),
        ],
        check=True,
    )
    subprocess.run(
        [
            *ff,
            *("-f", "lavfi", "-i", "color=c=blue:size=320x180:rate=30:duration=3"),
            *("-c:v", "libx264", "-pix_fmt", "yuv420p", str(folder / "b.mp4")),
        ],
        check=True,
    )
    subprocess.run(
        [*ff, "-f", "lavfi", "-i", "sine=frequency=880:duration=2", str(folder / "c.wav")],
        check=True,
    )


def timeline(root: Path) -> list[tuple[str, list[tuple[int, int, str | None, int, str]]]]:
    """Each track top-down with its clips as (start, end, asset, source in, text or kind)."""
    project = ProjectDir(root).load()
    return [
        (
            t.name,
            [
                (c.start, c.end, c.asset_id, c.source_in, c.text.text if c.text else c.kind)
                for c in t.clips
            ],
        )
        for t in project.tracks
    ]


class Editor:
    """The editor in a pane, with the few moves this scenario repeats."""

    def __init__(self, tmux: Tmux) -> None:
        self.tmux = tmux

    def press(self, *keys: str, then: str) -> None:
        """Press ``keys`` and wait until the screen shows ``then``. One ``send-keys`` a key:
        keys that reach the terminal in one read can be taken for a paste (a control key
        among text was lost)."""
        for key in keys:
            self.tmux.keys(key)
        self.tmux.wait_text(then)

    def goto(self, frame: int) -> None:
        prompt = "Go to timecode (HH:MM:SS:FF"  # the prompt goes on with the short forms
        self.press("g", then=prompt)
        self.tmux.keys(str(frame))  # the field's text is selected: typing replaces it
        self.tmux.keys("Enter")
        self.tmux.wait_for(lambda: prompt not in self.tmux.screen(), "the prompt to close")

    def to_bin(self) -> None:
        self.press("F5", then="i Source in")  # the key bar shows the bin's keys

    def to_timeline(self) -> None:
        self.tmux.keys("Enter")  # Enter on a bin item: it is the source, back to the timeline
        self.tmux.wait_for(lambda: "Source in" not in self.tmux.screen(), "the timeline")


def test_a_rough_cut_from_an_empty_project_with_the_keyboard_alone(tmp_path: Path) -> None:
    media = tmp_path / "media"
    make_media(media)
    root = tmp_path / "proj"
    subprocess.run([REELCUT, "new", str(root)], check=True, capture_output=True)
    tmux = Tmux([REELCUT, "open", str(root)])
    try:
        ed = Editor(tmux)
        tmux.wait_text("track V1", timeout=60)
        ed.to_bin()
        tmux.wait_text("no media: a imports a file")
        for name in ("a.mp4", "b.mp4", "c.wav"):
            ed.press("a", then="Import media:")
            tmux.keys(str(media / name[:3]))
            tmux.wait_text(str(media / name))  # shown as the completion, after the cursor
            ed.press("Tab", "Enter", then=f"imported {name}")  # Tab takes it

        # Append a second of a.mp4 (1 s to 2 s) with its sound, then all of b.mp4.
        ed.press("Home", "S-Right", "i", "S-Right", "o", then="in 00:00:01:00 out 00:00:02:00")
        ed.to_timeline()
        ed.press("e", then="at 00:00:00:00")
        ed.to_bin()
        ed.press("Down", "Down", then="b.mp4")
        ed.to_timeline()
        ed.press("e", then="placed b (c_9) at 00:00:01:00")
        # Overwrite 3 s to 4 s of a.mp4 at 2 s (over b), then insert c.wav at 1 s.
        ed.to_bin()
        ed.press("Home", "x", then="in -- out --")
        ed.press("S-Right", "i", "S-Right", "o", then="in 00:00:03:00 out 00:00:04:00")
        ed.to_timeline()
        ed.goto(60)
        ed.press("b", then="at 00:00:02:00")
        ed.to_bin()
        ed.press("End", then="src 00:00:00:00 / 00:00:02:00")
        ed.to_timeline()
        ed.goto(30)
        ed.press("v", then="inserted c")

        # Trim mode on V1: roll the b|a cut at 4 s two frames later, slip b, slide a.
        ed.goto(119)
        ed.press("u", then="TRIM roll 00:00:04:00")
        ed.press(".", ".", then="rolled the cut after")
        ed.press("u", "u", "u", then="TRIM slip")
        ed.press(">", then="slipped")
        ed.press("u", then="TRIM slide")
        ed.goto(130)
        ed.press(".", then="slid")
        ed.press("Escape", then="trim mode off")

        # A V2 on top, b moved up onto it, a title over the first three seconds.
        ed.press("C-p", then="Search for commands")
        tmux.keys("add a video track")
        ed.press("Enter", then="added video track V2")
        ed.goto(100)
        ed.press("Tab", then="sel c_9")
        ed.press("S-Up", then="to V2")
        ed.goto(0)
        ed.press("C-t", then="Title text")
        tmux.keys("Hello")
        ed.press("Enter", then="added text 'Hello'")
        # The sound of c.wav on A1: -6 dB, a 10-frame fade-in and a 15-frame fade-out, in
        # the clip inspector (each field's text is selected when it gets the focus).
        ed.goto(40)
        for _ in range(3):  # down to A1, one track a press (the status line says which)
            current = re.search(r"track (\w+)", tmux.screen())
            if current is None or current.group(1) == "A1":
                break
            was = f"track {current.group(1)} "
            tmux.keys("M-Down")
            tmux.wait_for(lambda was=was: was not in tmux.screen(), "the next track")
        tmux.wait_text("track A1  sel c_14")  # a new track selects the clip under the playhead
        ed.press("I", then="fade out")
        tmux.keys("--", "-6")  # "--": the gain is not a flag of send-keys
        tmux.wait_text("gain dB     -6")
        # A Tab in the same read as the digits before it is lost, so each waits its turn.
        ed.press("Tab", "1", "0", then="fade in     10 ")
        ed.press("Tab", "1", "5", then="fade out    15 ")
        ed.press("Enter", then="set the sound of")
        # Lift 4:20 to 4:25 from every track.
        ed.goto(140)
        ed.press("i", then="in 00:00:04:20")
        ed.goto(145)
        ed.press("o", then="out 00:00:04:25")
        ed.press("\\;", then="lifted 00:00:04:20-00:00:04:25")  # ";" alone ends a tmux command
        tmux.keys("C-q")
        assert tmux.wait_exit() == 0, tmux.screen()
    finally:
        tmux.close()

    assert timeline(root) == [
        ("V2", [(0, 90, None, 0, "Hello"), (90, 123, "a_5", 10, "media")]),
        (
            "V1",
            [
                (0, 30, "a_3", 30, "media"),
                (123, 140, "a_3", 92, "media"),
                (145, 151, "a_3", 114, "media"),
                (151, 180, "a_5", 61, "media"),
            ],
        ),
        (
            "A1",
            [
                (0, 30, "a_4", 30, "media"),
                (30, 90, "a_6", 0, "media"),
                (123, 140, "a_4", 92, "media"),
                (145, 151, "a_4", 114, "media"),
            ],
        ),
    ]
    project = ProjectDir(root).load()
    links = {
        (c.asset_id, c.start, c.linked_id is not None) for t in project.tracks for c in t.clips
    }
    assert ("a_3", 123, True) in links and ("a_4", 145, True) in links
    sound = {c.start: c.audio for t in project.tracks if t.name == "A1" for c in t.clips}
    assert sound == {
        0: None,
        30: ClipAudio(gain_db=-6.0, fade_in=10, fade_out=15),
        123: None,
        145: None,
    }

    # Undo walks it all back, after a restart: fifteen steps (the in and out marks are two of
    # them), then nothing is left to undo.
    tmux = Tmux([REELCUT, "open", str(root)])
    try:
        tmux.wait_text("snap on", timeout=60)
        for n in range(15):
            before = tmux.screen()
            tmux.keys("C-z")
            tmux.wait_for(
                lambda b=before: tmux.screen() != b and "undid" in tmux.screen(), f"undo {n}"
            )
        tmux.keys("C-z")
        tmux.wait_text("nothing to undo")
        tmux.keys("C-q")
        assert tmux.wait_exit() == 0, tmux.screen()
    finally:
        tmux.close()
    assert timeline(root) == [("V1", []), ("A1", [])]
    assert [a.name for a in ProjectDir(root).load().assets] == [
        "a.mp4",
        "a.mp4 (audio)",
        "b.mp4",
        "c.wav",
    ]
