"""An export seeks each clip's source near its in-point and still shows, for every timeline
frame, the source frame a decode from the start would (`engine.export.seek`).

Long bar-coded sources (25 fps and 29.97 fps in a 30 fps timeline, keyframes every 10 s as
x264 makes them) with in-points 20 to 50 seconds in, between keyframes and on one: the plan
seeks (``-ss`` in its inputs) and every exported frame carries the expected number, computed
from ffprobe's timestamps of the sources (`tests.preview_web.framecode`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.export.graph import plan
from engine.export.presets import PRESETS
from engine.media.importer import import_files
from engine.model import new_project
from engine.ops import Overwrite
from engine.projectdir import ProjectDir
from engine.session import Session
from engine.timebase import Rate
from tests.engine.test_export import decode_rows, expected_at, read_code, reelcut
from tests.preview_web import framecode
from tests.preview_web.exactness import Built

SOURCE_S = 60


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    tmp = tmp_path_factory.mktemp("seek")
    files = [
        framecode.make_cfr(tmp / "a25.mp4", "25", SOURCE_S),
        framecode.make_cfr(tmp / "b2997.mp4", "30000/1001", SOURCE_S),
    ]
    root = tmp / "p"
    ProjectDir.create(root, new_project("seek", rate=Rate(30), width=320, height=180))
    pd = ProjectDir(root)
    with pd.writer("test"):
        project, results = import_files(pd, pd.load(), files, place=False)
        pd.save(project)
    ids = [r.assets[0] for r in results]
    built = Built(root, {}, {})
    for asset_id, path in zip(ids, files, strict=True):
        built.sources[asset_id] = framecode.probe(path)
    # (asset, source_in in project frames): 20.5 s, 30 s (a keyframe of the 25 fps file),
    # 47.3 s, then the other file at 41.7 s and 0.5 s (no seek there).
    cuts = [(ids[0], 615), (ids[0], 900), (ids[0], 1419), (ids[1], 1251), (ids[1], 15)]
    with Session(root) as session:
        at = 0
        for asset_id, source_in in cuts:
            session.apply(
                Overwrite(
                    asset_id=asset_id,
                    at=at,
                    track="V1",
                    source_in=source_in,
                    duration=37,
                    with_audio=False,
                )
            )
            at += 37
    return built


def test_the_plan_seeks_near_each_late_in_point(built: Built, tmp_path: Path) -> None:
    project = ProjectDir(built.root).load()
    job = plan(built.root, project, PRESETS["h264"], 0, project.duration, tmp_path)
    seeks = [job.args[i + 1] for i, a in enumerate(job.args) if a == "-ss"]
    assert seeks == ["19", "29", "46", "40"]  # whole seconds, 1 s or more before the in-point


def test_every_frame_after_a_seek_is_the_source_frame_the_timeline_shows(
    built: Built, tmp_path: Path
) -> None:
    out = tmp_path / "seek.mp4"
    res = reelcut("export", built.root, out)
    assert res.returncode == 0, res.stderr
    project = ProjectDir(built.root).load()
    rows = decode_rows(out, project.width, project.height)
    assert len(rows) == project.duration
    got = [read_code(r, project.width, project.height) for r in rows]
    want = [expected_at(built, n) for n in range(project.duration)]
    wrong = [(n, w, g) for n, (w, g) in enumerate(zip(want, got, strict=True)) if w != g]
    assert wrong == [], f"{len(wrong)} of {len(rows)} frames wrong, first: {wrong[:5]}"
