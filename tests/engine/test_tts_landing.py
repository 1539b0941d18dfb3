"""Takes landing together (engine.tts.landing, Session.apply_each): one write of project.json,
one undo step, a refused landing skipped, and a batch killed before its write leaves no step."""

from __future__ import annotations

from pathlib import Path

import pytest

import engine.session as session_module
from engine.model import MediaInfo, new_project
from engine.ops import LandTake, PlaceTakes
from engine.ops.generate import Placement
from engine.projectdir import ProjectDir
from engine.session import Session
from engine.timebase import Rate

TAKES = ("a" * 16, "b" * 16, "c" * 16)


def placed(root: Path) -> Path:
    ProjectDir.create(root, new_project("p", rate=Rate(30, 1)))
    with Session(root) as s:
        s.apply(
            PlaceTakes(tuple(Placement(f"l_{i}", t, f"line {i}", 30) for i, t in enumerate(TAKES)))
        )
    return root


def land(take: str, frames: int) -> LandTake:
    media = MediaInfo(
        format="wav", size_bytes=1, duration_frames=frames, duration_us=frames * 33_333
    )
    return LandTake(take=take, hash=take[0] * 64, ext="wav", media=media)


def stages(s: Session) -> dict[str, str]:
    return {
        a.generation.take or "": a.generation.stage
        for a in s.project.assets
        if a.generation is not None
    }


def test_takes_landing_together_are_one_write_and_one_undo_step(tmp_path: Path) -> None:
    root = placed(tmp_path / "p")
    writes: list[bytes] = []
    real = session_module.write_project

    def counting(folder: Path, data: bytes) -> None:
        writes.append(data)
        real(folder, data)

    with Session(root) as s, pytest.MonkeyPatch.context() as mp:
        mp.setattr(session_module, "write_project", counting)
        before = s.revision
        unknown = land("d" * 16, 10)
        change, refused = s.apply_each([land(TAKES[0], 45), unknown, land(TAKES[2], 60)])
        assert change is not None and s.revision == before + 1
        assert len(writes) == 1  # one project.json for two takes
        assert [(op, "no placeholder" in why) for op, why in refused] == [(unknown, True)]
        assert stages(s) == {TAKES[0]: "ready", TAKES[1]: "queued", TAKES[2]: "ready"}
        clips = sorted(s.project.tracks[-1].clips, key=lambda c: c.start)
        assert [c.duration for c in clips] == [45, 30, 60]
        assert (root / "project.json").read_bytes() == writes[0]
        s.undo()  # both landings at once: the placeholders are back
        assert set(stages(s).values()) == {"queued"}
        s.redo()
        assert stages(s)[TAKES[2]] == "ready"
        assert s.apply_each([unknown]) == (None, [(unknown, refused[0][1])])


def test_a_batch_killed_before_its_write_leaves_no_step(tmp_path: Path) -> None:
    root = placed(tmp_path / "p")
    on_disk = (root / "project.json").read_bytes()

    def killed(folder: Path, data: bytes) -> None:
        raise KeyboardInterrupt  # the process dies between the journal and the file

    with Session(root) as s:
        steps = len(s.steps())
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(session_module, "write_project", killed)
            with pytest.raises(KeyboardInterrupt):
                s.apply_each([land(TAKES[0], 45), land(TAKES[1], 50)])
    assert (root / "project.json").read_bytes() == on_disk
    with Session(root) as s:  # the journal names both steps; both go
        assert len(s.steps()) == steps
        assert set(stages(s).values()) == {"queued"}
