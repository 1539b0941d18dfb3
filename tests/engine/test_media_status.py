"""The media bin's view of the asset store: a file there, missing or changed (bytes that no
longer hash to its name), which derivatives are built, and relink from a copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.errors import ReelcutError
from engine.media.status import media_status, relink
from engine.projectdir import ProjectDir


def test_status_marks_missing_and_changed_files_and_relink_puts_the_same_bytes_back(
    demo_dir: Path, tmp_path: Path
) -> None:
    project = ProjectDir(demo_dir).load()
    first = media_status(demo_dir, project)
    assert {a.id: s.file for a, s in ((a, first[a.id]) for a in project.assets)} == {
        a.id: "ok" for a in project.assets
    }
    video = next(a for a in project.assets if a.kind == "video")
    image = next(a for a in project.assets if a.kind == "image")
    assert set(first[video.id].derivatives) >= {"proxy", "thumbs"}

    stored = demo_dir / "assets" / str(video.filename)
    copy = tmp_path / "found" / "pattern-copy.mp4"
    copy.parent.mkdir()
    shutil.copyfile(stored, copy)
    stored.unlink()
    # An image's bytes changed in place, same size: only the hash can tell.
    still = demo_dir / "assets" / str(image.filename)
    data = bytearray(still.read_bytes())
    data[-3] ^= 0xFF
    still.write_bytes(bytes(data))

    after = media_status(demo_dir, project)
    assert after[video.id].file == "missing"
    assert not any(after[video.id].derivatives.values())  # nothing is "ready" without media
    assert after[image.id].file == "changed"

    with pytest.raises(ReelcutError, match="is not the media of"):
        relink(demo_dir, project, video.id, still)
    assert not stored.exists()  # a refused relink writes nothing
    assert "relinked" in relink(demo_dir, project, video.id, copy)
    assert stored.read_bytes() == copy.read_bytes()
    assert media_status(demo_dir, project)[video.id].file == "ok"
    assert "already in place" in relink(demo_dir, project, video.id, copy)
    with pytest.raises(ReelcutError, match="is not a file"):
        relink(demo_dir, project, video.id, tmp_path / "nothing.mp4")
