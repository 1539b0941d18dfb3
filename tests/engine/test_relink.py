"""Relink to a different file through the door (``relink``): the asset keeps its id and its
clips their ranges, takes the new bytes as one undoable edit and queues its derivatives; a file
that cannot stand in (shorter than what the clips play, another kind) is refused with nothing
changed.

The demo (tests/tui/test_media_bin.py): a_3 pattern.mp4 (video, 240 frames at 30 fps) with its
sound a_4; V1's c_10 plays a_3's frames [0, 240), A1's c_11 its sound."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from engine.door import door
from engine.errors import ReelcutError
from engine.projectdir import ProjectDir


def clip_file(path: Path, seconds: int, rate: int = 30, sound: bool = True) -> Path:
    """A real test-pattern video of ``seconds`` at ``rate`` fps (with a tone when ``sound``)."""
    args = ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size=320x180:rate={rate}"]
    if sound:
        args += ["-f", "lavfi", "-i", "sine=frequency=440"]
    args += ["-t", str(seconds), "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(args, check=True)
    return path


def ranges(root: Path) -> list[tuple[str, str | None, int, int, int]]:
    p = ProjectDir(root).load()
    return [(c.id, c.asset_id, c.start, c.duration, c.source_in) for t in p.tracks for c in t.clips]


def test_relink_to_a_longer_copy_keeps_the_clips_and_queues_derivatives(
    demo_dir: Path, tmp_path: Path
) -> None:
    longer = clip_file(tmp_path / "take-2-longer.mp4", 10, rate=25)
    before = ProjectDir(demo_dir).load()
    old = before.asset("a_3")
    assert old is not None and old.media is not None
    clips = ranges(demo_dir)
    with door(demo_dir, "test") as d:
        out = d.call("relink", {"asset": "a_3", "file": str(longer)})
        after = ProjectDir(demo_dir).load()
        new, sound = after.asset("a_3"), after.asset("a_4")
        assert new is not None and new.media is not None and sound is not None
        assert new.hash != old.hash and new.source_name == "take-2-longer.mp4"
        assert new.name == "pattern.mp4" and new.media.duration_frames == 300  # at 30 fps
        assert (demo_dir / "assets" / str(new.filename)).is_file()
        assert sound.source_name == "take-2-longer.mp4" and sound.hash != before.asset("a_4").hash  # type: ignore[union-attr]
        assert ranges(demo_dir) == clips  # every clip keeps its range
        # Another rate and size warn (Premiere and Resolve relink such a file), never refuse.
        assert any("25 fps" in w for w in out["warnings"])
        assert any("320x180" in w for w in out["warnings"])
        assert "relinked pattern.mp4" in out["summary"]
        assert out["change"]["kind"] == "edit" and out["jobs_queued"]
        db = sqlite3.connect(demo_dir / ".reelcut" / "state.sqlite")
        try:
            marks = ",".join("?" * len(out["jobs_queued"]))
            rows = db.execute(
                f"SELECT kind, payload FROM jobs WHERE id IN ({marks})", out["jobs_queued"]
            ).fetchall()
        finally:
            db.close()
        built = {(k, json.loads(p)["asset"]) for k, p in rows}
        assert ("proxy", "a_3") in built and ("peaks", "a_4") in built

        undone = d.call("undo")
        assert undone is not None and "relinked pattern.mp4" in undone["summary"]
        back = ProjectDir(demo_dir).load()
        assert back.assets == before.assets and ranges(demo_dir) == clips
        assert (demo_dir / "assets" / str(old.filename)).is_file()  # the old bytes stayed


def test_relink_to_a_file_that_cannot_stand_in_is_refused_and_changes_nothing(
    demo_dir: Path, tmp_path: Path
) -> None:
    short = clip_file(tmp_path / "short.mp4", 3)
    still = next((demo_dir / "assets").glob("*.png"))
    project = (demo_dir / "project.json").read_bytes()
    stored = sorted(p.name for p in (demo_dir / "assets").iterdir())
    with door(demo_dir, "test") as d:
        with pytest.raises(ReelcutError, match=r"short\.mp4 is 00:00:03:00 long, but the timeline"):
            d.call("relink", {"asset": "a_3", "file": str(short)})
        with pytest.raises(ReelcutError, match=r"pattern\.mp4 is video and the new file is image"):
            d.call("relink", {"asset": "a_3", "file": str(still)})
        with pytest.raises(ReelcutError, match="has no sound, but the timeline plays"):
            d.call(
                "relink",
                {"asset": "a_3", "file": str(clip_file(tmp_path / "mute.mp4", 9, sound=False))},
            )
    assert (demo_dir / "project.json").read_bytes() == project
    assert sorted(p.name for p in (demo_dir / "assets").iterdir()) == stored


def test_relink_media_op_has_an_exact_inverse_and_says_why_it_refuses() -> None:
    """The op on a small timeline (tests/engine/timelines.py): a_1's clips on V1 play its
    frames up to 110, a_3 is unused audio."""
    import msgspec

    from engine.ops import RelinkMedia, decode_op
    from tests.engine.opcheck import applied, refused
    from tests.engine.timelines import timeline

    p = timeline({"V1": [(0, 40), (40, 30), (90, 20)], "A1": [(0, 40)]})
    a_1 = p.asset("a_1")
    assert a_1 is not None and a_1.media is not None
    used = max(c.source_in + c.duration for t in p.tracks for c in t.clips if c.asset_id == "a_1")

    def new(length: int, **changes: object) -> RelinkMedia:
        media = msgspec.structs.replace(a_1.media, duration_frames=length)  # type: ignore[arg-type]
        return RelinkMedia((msgspec.structs.replace(a_1, hash="e" * 64, media=media, **changes),))

    op = new(used, source_name="take-2.mp4")
    result = applied(op, p)  # valid, an exact inverse, a replayable forward
    assert result.project.asset("a_1").hash == "e" * 64  # type: ignore[union-attr]
    assert [t.clips for t in result.project.tracks] == [t.clips for t in p.tracks]
    assert result.summary == "relinked a_1.mp4 to take-2.mp4"
    assert decode_op(msgspec.json.encode(op)) == op
    refused(new(used - 1), p, "up to", "pick a file at least that long")
    refused(new(used, kind="audio"), p, "a_1.mp4 is video and the new file is audio")
    gone = msgspec.structs.replace(a_1, id="a_99")
    refused(RelinkMedia((gone,)), p, "asset 'a_99' does not exist")


def test_a_picture_without_sound_relinked_to_a_file_with_sound_keeps_no_stray_sound(
    tmp_path: Path,
) -> None:
    """A video imported without sound has no sound asset to take the new file's: the sound the
    store extracted is not left in assets/ (only the new picture's file is added)."""
    from engine.model import new_project
    from engine.timebase import Rate

    pd = ProjectDir.create(
        tmp_path / "proj", new_project("p", rate=Rate(30), width=320, height=180)
    )
    mute = clip_file(tmp_path / "mute.mp4", 2, sound=False)
    loud = clip_file(tmp_path / "loud.mp4", 3)
    with door(pd.root, "test") as d:
        d.call("import", {"files": [str(mute)]})
        stored = {p.name for p in pd.assets.iterdir()}
        video = next(a for a in pd.load().assets if a.kind == "video")
        out = d.call("relink", {"asset": video.id, "file": str(loud)})
    assert out["change"] is not None and len(pd.load().assets) == 1
    added = {p.name for p in pd.assets.iterdir()} - stored
    assert added == {str(pd.load().assets[0].filename)}
