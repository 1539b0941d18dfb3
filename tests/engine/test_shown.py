"""The frame-selection rule (`engine.shown`) and one frame decoded from the proxies
(`engine.media.still`), proven on pixels.

The project is the page's and the export's exactness project (`tests.preview_web.exactness`):
bar-coded 25 fps and 29.97 fps sources in a 30 fps timeline, bladed, slipped, ripple-deleted,
with a clip on V2 over V1 and gaps. For each checked frame the picture `picture_at` chose is
decoded from its proxy by `frame_pixels`, its bar code read back, and compared with the source
frame ffprobe's timestamps say the timeline must show there (`framecode.expected`), never with
anything the code under test computed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest

from engine.media.derivatives import build_derivative
from engine.media.still import NoProxy, canvas_size, frame_picture, frame_pixels
from engine.model import Asset, Clip, Project, TextProps, Track, Transform
from engine.projectdir import ProjectDir
from engine.shown import layers_at, picture_at, source_frame
from engine.timebase import Rate
from tests.preview_web import framecode
from tests.preview_web.exactness import Built, build_project

WIDTH, HEIGHT = 480, 270


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    tmp = tmp_path_factory.mktemp("shown")
    built = build_project(tmp / "p", "30", ["25", "30000/1001"], tmp)
    project = ProjectDir(built.root).load()
    for asset in project.assets:
        if asset.kind == "video":
            asyncio.run(build_derivative(built.root, asset, "proxy", project.rate))
    return built


def read_code(pixels: bytes, width: int, height: int) -> int | None:
    """The bar code in the middle row of an RGB frame; None when the row is black (a gap)."""
    y = height // 2
    row = [pixels[(y * width + x) * 3] for x in range(width)]
    if max(row) < 60:
        return None
    content = round(height * framecode.WIDTH / framecode.HEIGHT)  # fitted inside the canvas
    left = (width - content) / 2
    n = 0
    for i in range(framecode.BITS):
        if row[int(left + (i + 0.5) * content / framecode.BITS)] > 128:
            n |= 1 << i
    return n


def truth(built: Built, project: Project, n: int) -> int | None:
    """What ffprobe says timeline frame ``n`` shows: the first listed video track's clip
    (in front), its source frame from the file's own timestamps; None in a gap."""
    for track in project.tracks:
        if track.kind != "video":
            continue
        for c in track.clips:
            if c.start <= n < c.end and c.asset_id in built.sources:
                return framecode.expected(
                    built.sources[c.asset_id],
                    start=c.start,
                    source_in=c.source_in,
                    n=n,
                    rate=project.rate.fraction,
                )
    return None


def frames_worth_checking(project: Project) -> list[int]:
    """Every clip's first, second and last frame, the frame after it (a gap or the next clip),
    one in the middle, and every 17th frame."""
    frames = {0, project.duration - 1, *range(0, project.duration, 17)}
    for t in project.tracks:
        for c in t.clips:
            frames |= {c.start, c.start + 1, c.start + c.duration // 2, c.end - 1, c.end}
    return sorted(f for f in frames if 0 <= f < project.duration)


def test_each_frame_decoded_from_the_proxy_is_the_source_frame_the_timeline_shows(
    built: Built,
) -> None:
    project = ProjectDir(built.root).load()
    w, h = canvas_size(project, WIDTH, HEIGHT)
    assert (w, h) == (480, 270)
    frames = frames_worth_checking(project)
    assert len(frames) > 30
    wrong = []
    gaps = fronts = 0
    for n in frames:
        picture = picture_at(project, n)
        got = read_code(frame_pixels(built.root, project, picture, w, h).rgb, w, h)
        want = truth(built, project, n)
        gaps += want is None
        fronts += len(layers_at(project, n)) > 1
        if got != want:
            wrong.append((n, want, got))
    assert wrong == [], f"{len(wrong)} of {len(frames)} frames wrong (n, want, got): {wrong[:8]}"
    assert gaps and fronts  # the check went through gaps and through a clip over another


def _asset(asset_id: str, kind: str = "video") -> Asset:
    return Asset(id=asset_id, kind=kind, name=asset_id, hash=asset_id[-1] * 64, ext="mp4")  # type: ignore[arg-type]


def test_the_front_clip_is_the_first_listed_video_track_text_is_in_front_a_gap_is_empty() -> None:
    """V2 is listed first (in front); a text clip on V3 above both; a transparent clip and a
    take without bytes draw nothing, so what is under them shows."""
    v1 = Track(
        id="t_1",
        kind="video",
        name="V1",
        clips=(
            Clip(
                id="c_1", kind="media", name="a", start=0, duration=20, source_in=7, asset_id="a_1"
            ),
            Clip(id="c_4", kind="media", name="d", start=40, duration=5, asset_id="a_4"),
        ),
    )
    v2 = Track(
        id="t_2",
        kind="video",
        name="V2",
        clips=(
            Clip(
                id="c_2",
                kind="media",
                name="b",
                start=10,
                duration=5,
                source_in=100,
                asset_id="a_2",
            ),
            Clip(
                id="c_5",
                kind="media",
                name="e",
                start=16,
                duration=2,
                asset_id="a_2",
                transform=Transform(opacity=0.0),
            ),
        ),
    )
    v3 = Track(
        id="t_3",
        kind="video",
        name="V3",
        clips=(
            Clip(id="c_3", kind="text", name="t", start=12, duration=10, text=TextProps(text="hi")),
        ),
    )
    a1 = Track(
        id="t_4",
        kind="audio",
        name="A1",
        clips=(Clip(id="c_6", kind="media", name="s", start=0, duration=50, asset_id="a_1"),),
    )
    pending = Asset(id="a_4", kind="video", name="take")  # no bytes yet
    project = Project(
        schema_version=1,
        id="p_1",
        name="x",
        rate=Rate(30),
        assets=(_asset("a_1"), _asset("a_2"), pending),
        tracks=(v3, v2, v1, a1),
    )

    def shown(n: int) -> tuple[str | None, int | None, tuple[str, ...]]:
        p = picture_at(project, n)
        layer = p.layer
        return (
            layer.clip.id if layer else None,
            layer.source_frame if layer else None,
            tuple(c.id for c in p.texts),
        )

    assert shown(0) == ("c_1", 7, ())
    assert shown(9) == ("c_1", 16, ())
    assert shown(10) == ("c_2", 100, ())  # V2 over V1
    assert shown(12) == ("c_2", 102, ("c_3",))  # the title in front of it
    assert shown(14) == ("c_2", 104, ("c_3",))
    assert shown(15) == ("c_1", 22, ("c_3",))  # V2's clip ended (half-open)
    assert shown(16) == ("c_1", 23, ("c_3",))  # a transparent clip shows what is under it
    assert shown(19) == ("c_1", 26, ("c_3",))
    assert shown(20) == (None, None, ("c_3",))  # a gap: black (with the title)
    assert shown(41) == (None, None, ())  # a take not generated yet draws nothing
    assert [x.clip.id for x in layers_at(project, 16)] == ["c_3", "c_5", "c_1"]
    assert source_frame(v1.clips[0], 19) == 26


def test_the_caption_says_what_is_shown_and_what_is_not_drawn(built: Built) -> None:
    project = ProjectDir(built.root).load()
    v1 = next(t for t in project.tracks if t.name == "V1")
    first = v1.clips[0]
    caption = frame_picture(built.root, project, first.start, 48, 27).caption
    assert caption == f"00:00:00:00 V1 {first.name} · src 00:00:00:{first.source_in:02d}"
    in_gap = next(n for n in range(project.duration) if picture_at(project, n).layer is None)
    gap = frame_picture(built.root, project, in_gap, 48, 27)
    assert gap.caption.endswith("gap (black)") and max(gap.pixels.rgb) == 0
    moved = msgspec.structs.replace(first, transform=Transform(scale=0.5))
    tracks = tuple(
        msgspec.structs.replace(t, clips=(moved, *t.clips[1:])) if t is v1 else t
        for t in project.tracks
    )
    scaled = msgspec.structs.replace(project, tracks=tracks)
    assert frame_picture(built.root, scaled, first.start, 48, 27).caption.endswith(
        "· transform not drawn"
    )


def test_a_video_without_its_proxy_says_so(built: Built, tmp_path: Path) -> None:
    project = ProjectDir(built.root).load()
    picture = picture_at(project, 0)
    assert picture.layer is not None and picture.layer.asset is not None
    copy = tmp_path / "p"
    (copy / "proxies").mkdir(parents=True)
    with pytest.raises(NoProxy, match="proxy is not built yet"):
        frame_pixels(copy, project, picture, 64, 36)
