"""The back track joined into the canvas (`engine.export.compose`): a video track's clips of
the canvas's own size are cut together by ``concat`` with black between them, the track's other
clips and the tracks above are laid over that, and every exported frame still shows the source
frame the timeline shows, for the whole timeline and for a range that starts inside a clip.

Bar-coded sources of the canvas's size (25 fps and 29.97 fps in a 30 fps timeline) on V1: a
clip, a gap, a one-frame clip, a clip right after it, a moved clip (not opaque: overlaid on the
black that stands in for it), a gap up to the end; on V2, a clip over the first cut and gap
and one after V1's end."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.export.graph import plan
from engine.export.presets import PRESETS
from engine.media.importer import import_files
from engine.model import new_project
from engine.ops import AddTrack, Overwrite, SetTransform
from engine.projectdir import ProjectDir
from engine.session import Session
from engine.timebase import Rate
from tests.engine.test_export import decode_rows, expected_at, read_code, reelcut
from tests.preview_web import framecode
from tests.preview_web.exactness import Built

W, H = framecode.WIDTH, framecode.HEIGHT

# (source, at, source_in, frames, track) in timeline order; the end of the timeline is a gap
CLIPS = [
    (0, 0, 7, 40, "V1"),
    (1, 45, 10, 1, "V1"),  # after a 5-frame gap; one frame long
    (0, 46, 100, 30, "V1"),
    (1, 80, 20, 25, "V1"),  # moved 2 px (below): overlaid, not joined
    (0, 120, 3, 6, "V1"),
    (1, 30, 60, 20, "V2"),  # over the first cut and the gap
    (0, 128, 30, 12, "V2"),  # past V1's end: black below it from 126
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    tmp = tmp_path_factory.mktemp("compose")
    files = [
        framecode.make_cfr(tmp / "a25.mp4", "25", 7),
        framecode.make_cfr(tmp / "b2997.mp4", "30000/1001", 7),
    ]
    root = tmp / "p"
    ProjectDir.create(root, new_project("compose", rate=Rate(30), width=W, height=H))
    pd = ProjectDir(root)
    with pd.writer("test"):
        project, results = import_files(pd, pd.load(), files, place=False)
        pd.save(project)
    ids = [r.assets[0] for r in results]
    built = Built(root, {}, {})
    for asset_id, path in zip(ids, files, strict=True):
        built.sources[asset_id] = framecode.probe(path)
    with Session(root) as session:
        session.apply(AddTrack(kind="video", name="V2", index=0))
        for source, at, source_in, frames, track in CLIPS:
            session.apply(
                Overwrite(asset_id=ids[source], at=at, track=track, source_in=source_in,
                          duration=frames, with_audio=False)
            )  # fmt: skip
        moved = next(c for t in session.project.tracks for c in t.clips if c.start == 80)
        session.apply(SetTransform(clip_id=moved.id, x=2))
    return built


def frames_of(out: Path) -> list[int | None]:
    return [read_code(r, W, H) for r in decode_rows(out, W, H)]


def test_the_plan_joins_the_back_tracks_opaque_clips(built: Built, tmp_path: Path) -> None:
    project = ProjectDir(built.root).load()
    graph = plan(built.root, project, PRESETS["h264"], 0, project.duration, tmp_path).args
    chains = graph[graph.index("-filter_complex") + 1].split(";")
    (joined,) = [c for c in chains if "concat=" in c]
    # four opaque clips of V1 and the black before, between and after them
    assert "concat=n=7:v=1:a=0" in joined
    assert sum("overlay=" in c for c in chains) == 3  # the moved clip and V2's clips


@pytest.mark.parametrize("span", [None, "20-101", "44-47", "123-135"])
def test_every_frame_is_the_source_frame_the_timeline_shows(
    built: Built, tmp_path: Path, span: str | None
) -> None:
    project = ProjectDir(built.root).load()
    out = tmp_path / "joined.mp4"
    res = reelcut("export", built.root, out, *(["--range", span] if span else []))
    assert res.returncode == 0, res.stderr
    first, last = (int(x) for x in span.split("-")) if span else (0, project.duration)
    got = frames_of(out)
    want = [expected_at(built, n) for n in range(first, last)]
    assert len(got) == last - first
    wrong = [(first + n, w, g) for n, (w, g) in enumerate(zip(want, got, strict=True)) if w != g]
    assert wrong == [], f"{len(wrong)} of {len(got)} frames wrong, first: {wrong[:5]}"
