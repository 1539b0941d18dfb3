"""Timeline interchange (issue 21 item 5): export to .otio/.edl/.xml/.fcpxml through the official
OTIO adapters and `import-timeline` back, with media relinked by hash and by name.

The round trips go from a project to a file to a fresh project holding the same media (imported
from copies of the original files under their own names) and compare the timelines field by
field, ids aside. The other formats are read back with OpenTimelineIO itself and their clip
ranges checked frame by frame against the project's clips."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import msgspec
import opentimelineio as otio  # type: ignore[import-untyped]
import pytest

from engine.door import door
from engine.errors import MediaError, ReelcutError
from engine.interchange import from_otio, to_otio
from engine.model import Asset, Clip, Project, Transform, new_project
from engine.ops import (
    AddMarker,
    AddText,
    AddTrack,
    EditMarker,
    ImportTimeline,
    OpError,
    Overwrite,
    SetTrackFlags,
    decode_op,
)
from engine.projectdir import ProjectDir
from engine.timebase import Rate

FORMATS = [".otio", ".edl", ".xml", ".fcpxml"]
READ_BACK = {".edl": "cmx_3600", ".xml": "fcp_xml", ".fcpxml": "fcpx_xml"}


# -- helpers ------------------------------------------------------------------------------------


def originals(project_root: Path, into: Path) -> list[Path]:
    """Copies of a project's imported files under the names they were imported with."""
    into.mkdir(parents=True, exist_ok=True)
    out = []
    for a in ProjectDir(project_root).load().assets:
        if a.derived_from is None and a.filename and a.source_name:
            out.append(into / a.source_name)
            shutil.copyfile(project_root / "assets" / a.filename, out[-1])
    return out


def fresh(root: Path, media: list[Path], rate: Rate | None = None) -> Path:
    """A new project at ``root`` holding ``media`` (nothing placed)."""
    ProjectDir.create(root, new_project(root.name, rate=rate or Rate(30)))
    with door(root, "test") as d:
        d.call("import", {"files": [str(m) for m in media], "place": False})
    return root


def call(root: Path, method: str, **params: Any) -> Any:
    with door(root, "test") as d:
        return d.call(method, params)


def edit(root: Path, op: Any) -> Any:
    return call(root, "edit", op=msgspec.to_builtins(op))


def shape(project: Project) -> dict[str, Any]:
    """The timeline without ids: tracks, clips (with their asset's hash and partner's place)
    and markers, to compare two projects holding the same media under other ids."""
    hashes = {a.id: a.hash for a in project.assets}
    place = {c.id: (t.name, c.start) for t in project.tracks for c in t.clips}
    return {
        "tracks": [
            {
                "name": t.name,
                "kind": t.kind,
                "flags": (t.muted, t.locked, t.solo),
                "clips": [
                    (
                        c.kind,
                        c.name,
                        c.start,
                        c.duration,
                        c.source_in,
                        hashes.get(c.asset_id or ""),
                        place.get(c.linked_id or ""),
                    )
                    for c in t.clips
                ],
            }
            for t in project.tracks
        ],
        "markers": sorted((m.frame, m.name, m.color, m.note) for m in project.markers),
    }


def without_text(project: Project) -> Project:
    tracks = tuple(
        msgspec.structs.replace(t, clips=tuple(c for c in t.clips if c.kind == "media"))
        for t in project.tracks
    )
    return msgspec.structs.replace(project, tracks=tracks)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, demo_master: Path) -> Path:
    """A project with gaps, two video tracks (V2 muted), markers with colours (one with a
    note), a linked pair and a title: pattern.mp4 (with its sound), still.png, tone.wav from
    the demo's media."""
    tmp = tmp_path_factory.mktemp("interchange")
    root = fresh(tmp / "built", originals(demo_master, tmp / "media"))
    ids = {a.source_name: a.id for a in ProjectDir(root).load().assets if not a.derived_from}
    edit(root, Overwrite(asset_id=ids["pattern.mp4"], at=10, source_in=30, duration=60))
    edit(root, Overwrite(asset_id=ids["pattern.mp4"], at=100, source_in=5, duration=40))
    edit(root, AddTrack(kind="video", index=0))
    edit(root, Overwrite(asset_id=ids["still.png"], at=20, track="V2", duration=25))
    edit(root, SetTrackFlags(track="V2", muted=True))
    edit(root, Overwrite(asset_id=ids["tone.wav"], at=0, track="A1", duration=8))
    edit(root, AddMarker(at=12, name="Cut here", color="#ff0000"))
    edit(root, EditMarker(marker_id="Cut here", note="Trim the pause"))
    edit(root, AddMarker(at=120, name="", color="#00ffcc"))
    edit(root, AddText(text="Title", at=0, duration=15, track="V2"))
    return root


# -- round trips through .otio --------------------------------------------------------------


def test_demo_round_trips_through_otio_into_a_fresh_project(demo_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "cut.otio"
    written = call(demo_dir, "export.interchange", out=str(out))
    assert written["clips"] == 5 and written["markers"] == 2
    assert any("text clip" in w and "Title" in w for w in written["warnings"]), written
    target = fresh(tmp_path / "fresh", originals(demo_dir, tmp_path / "media"))
    doc = call(target, "timeline.import", file=str(out))
    assert doc["replaced"] is True and doc["not_relinked"] == []
    assert doc["relinked"] == {"hash": 5, "name": 0}
    got, want = ProjectDir(target).load(), ProjectDir(demo_dir).load()
    assert shape(got) == shape(without_text(want))


def test_built_project_round_trips_with_gaps_tracks_markers_and_links(
    built: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cut.otio"
    call(built, "export.interchange", out=str(out))
    target = fresh(tmp_path / "fresh", originals(built, tmp_path / "media"))
    call(target, "timeline.import", file=str(out))
    got, want = ProjectDir(target).load(), ProjectDir(built).load()
    assert shape(got) == shape(without_text(want))
    v2 = next(t for t in got.tracks if t.name == "V2")
    assert v2.muted and [c.start for c in v2.clips] == [20]
    linked = [c for t in got.tracks for c in t.clips if c.linked_id]
    assert len(linked) == 4  # two video clips with their sound


def test_the_otio_file_carries_absolute_urls_hashes_and_ids(built: Path, tmp_path: Path) -> None:
    out = tmp_path / "cut.otio"
    call(built, "export.interchange", out=str(out))
    timeline = otio.adapters.read_from_file(str(out))
    project = ProjectDir(built).load()
    clips = list(timeline.find_clips())
    assert len(clips) == sum(c.kind == "media" for t in project.tracks for c in t.clips)
    for item in clips:
        meta = item.media_reference.metadata["reelcut"]
        asset = project.asset(meta["asset"])
        assert asset is not None and meta["sha256"] == asset.hash
        path = Path(item.media_reference.target_url.removeprefix("file://"))
        assert (
            path.is_absolute()
            and path.read_bytes()[:64] == (built / "assets" / str(asset.filename)).read_bytes()[:64]
        )
        assert item.metadata["reelcut"]["clip"]


# -- the other formats, read back by OTIO --------------------------------------------------------


@pytest.mark.parametrize("suffix", list(READ_BACK))
def test_each_format_reads_back_frame_exact(built: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"cut{suffix}"
    doc = call(built, "export.interchange", out=str(out))
    back = otio.adapters.read_from_file(str(out), READ_BACK[suffix], **_rate(suffix))
    project = ProjectDir(built).load()
    want = sorted(
        (t.kind, c.start, c.duration, c.source_in)
        for t in project.tracks
        for c in t.clips
        if c.kind == "media"
    )
    got = sorted(
        (
            "audio" if tr.kind == otio.schema.TrackKind.Audio else "video",
            placed_at(item, tr),
            item.source_range.duration.to_frames(30),
            item.source_range.start_time.to_frames(30),
        )
        for tr in back.tracks
        for item in tr.find_clips()
    )
    if suffix != ".edl":
        assert (
            f"track V2 is muted; {READ_BACK[suffix]} keeps no mute, it is written enabled"
            in (doc["warnings"])
        )
    if suffix == ".edl":  # one video track: V1's clips, the others listed in the warnings
        v1 = next(t for t in project.tracks if t.name == "V1")
        want = sorted(("video", c.start, c.duration, c.source_in) for c in v1.clips)
        assert any("V2" in w and "left out" in w for w in doc["warnings"])
        assert any("audio track A1" in w for w in doc["warnings"])
    assert got == want


def placed_at(item: Any, track: Any) -> int:
    """Where a clip sits on the timeline, in frames: a trimmed track (the EDL reader starts
    its track at the first event's record time) shifts what it holds."""
    at = item.range_in_parent().start_time
    if track.source_range is not None:
        at -= track.source_range.start_time
    return int(at.to_frames(30))


def _rate(suffix: str) -> dict[str, Any]:
    return {"rate": 30} if suffix == ".edl" else {}


@pytest.mark.parametrize("suffix", FORMATS)
def test_each_format_imports_relinked_by_hash(built: Path, tmp_path: Path, suffix: str) -> None:
    """The export points into the project's assets/ (<sha256>.<ext>): relinked by hash."""
    out = tmp_path / f"cut{suffix}"
    call(built, "export.interchange", out=str(out))
    target = fresh(tmp_path / "fresh", originals(built, tmp_path / "media"))
    doc = call(target, "timeline.import", file=str(out))
    assert doc["not_relinked"] == [] and doc["relinked"]["name"] == 0
    assert doc["relinked"]["hash"] == doc["clips"] > 0
    got = sorted(
        (c.start, c.duration, c.source_in)
        for t in ProjectDir(target).load().tracks
        for c in t.clips
    )
    project = ProjectDir(built).load()
    tracks = [t for t in project.tracks if suffix != ".edl" or t.name == "V1"]
    want = sorted(
        (c.start, c.duration, c.source_in) for t in tracks for c in t.clips if c.kind == "media"
    )
    assert got == want


def _repointed(built: Path, tmp_path: Path, suffix: str, url_for: Any) -> Path:
    """The built timeline written as ``suffix`` with every media URL replaced by
    ``url_for(source_name)`` and no reelcut metadata (a file from another editor)."""
    project = ProjectDir(built).load()
    timeline, _ = to_otio.build(
        built, project, 0, project.duration, READ_BACK.get(suffix, "otio_json")
    )
    for item in timeline.find_clips():
        ref = item.media_reference
        ref.target_url = url_for(
            ref.metadata["reelcut"]["source_name"], ref.metadata["reelcut"]["kind"]
        )
        ref.metadata.pop("reelcut")
        item.metadata.pop("reelcut")
    out = tmp_path / f"other{suffix}"
    otio.adapters.write_to_file(timeline, str(out), READ_BACK.get(suffix, "otio_json"))
    return out


@pytest.mark.parametrize("suffix", FORMATS)
def test_each_format_relinks_by_name_and_a_renamed_file_by_hash(
    built: Path, tmp_path: Path, suffix: str
) -> None:
    media = originals(built, tmp_path / "media")
    target = fresh(tmp_path / "fresh", media)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def by_name(source_name: str, kind: str) -> str:
        # The audio demuxed from a video is referred to by the video's file, as editors do.
        return (Path("/nowhere/cut media") / source_name).as_uri()

    doc = call(target, "timeline.import", file=str(_repointed(built, tmp_path, suffix, by_name)))
    assert doc["not_relinked"] == [] and doc["relinked"] == {"hash": 0, "name": doc["clips"]}
    first = ProjectDir(target).load()
    call(target, "undo")

    def renamed(source_name: str, kind: str) -> str:
        moved = elsewhere / f"renamed-{source_name}"
        if not moved.exists():
            shutil.copyfile(tmp_path / "media" / source_name, moved)
        return moved.as_uri()

    doc = call(target, "timeline.import", file=str(_repointed(built, tmp_path, suffix, renamed)))
    assert doc["not_relinked"] == [] and doc["relinked"] == {"hash": doc["clips"], "name": 0}
    assert shape(ProjectDir(target).load()) == shape(first)


def test_a_clip_that_relinks_to_nothing_is_listed_and_left_a_gap(
    built: Path, tmp_path: Path
) -> None:
    media = originals(built, tmp_path / "media")
    target = fresh(tmp_path / "fresh", [m for m in media if m.name == "still.png"])
    out = tmp_path / "cut.otio"
    call(built, "export.interchange", out=str(out))
    doc = call(target, "timeline.import", file=str(out))
    assert doc["clips"] == 1  # the still
    assert len(doc["not_relinked"]) == 5  # 2 pattern clips, their 2 sounds, the tone
    assert all(
        "no asset matches" in line and "left as a gap" in line for line in doc["not_relinked"]
    )


NTSC = Rate(30000, 1001)


@pytest.fixture(scope="module")
def ntsc(tmp_path_factory: pytest.TempPathFactory, demo_master: Path) -> Path:
    """A 30000/1001 project: the pattern with its sound at 100 from source 100, the still
    after it, a marker on the pattern."""
    tmp = tmp_path_factory.mktemp("ntsc")
    root = fresh(tmp / "ntsc", originals(demo_master, tmp / "media"), NTSC)
    ids = {a.source_name: a.id for a in ProjectDir(root).load().assets if not a.derived_from}
    edit(root, Overwrite(asset_id=ids["pattern.mp4"], at=100, source_in=100, duration=139))
    edit(root, Overwrite(asset_id=ids["still.png"], at=239, duration=149))
    edit(root, AddMarker(at=120, name="m"))
    return root


@pytest.mark.parametrize("suffix", [".otio", ".edl", ".xml"])
def test_a_29_97_project_round_trips_frame_exact(ntsc: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"cut{suffix}"
    call(ntsc, "export.interchange", out=str(out))
    target = fresh(tmp_path / "fresh", originals(ntsc, tmp_path / "media"), NTSC)
    doc = call(target, "timeline.import", file=str(out))
    assert doc["warnings"] == [] and doc["not_relinked"] == []  # no time between frames
    got, want = ProjectDir(target).load(), ProjectDir(ntsc).load()

    def video(p: Project) -> list[tuple[int, int, int]]:
        return [(c.start, c.duration, c.source_in) for t in p.tracks[:1] for c in t.clips]

    assert video(got) == video(want) == [(100, 139, 100), (239, 149, 0)]
    assert [m.frame for m in got.markers] == [120]
    if suffix == ".otio":
        assert shape(got) == shape(want)
    elif suffix == ".xml":  # no marker colours in Final Cut 7 XML (listed at export)
        assert shape(got)["tracks"] == shape(want)["tracks"]


def test_fcpxml_at_29_97_is_written_exact_and_its_import_refused(
    ntsc: Path, tmp_path: Path
) -> None:
    """The FCPXML adapter writes 1001/30000s frames (after being taught the rate) but reads
    them as 29 whole frames a second: the import says so instead of misplacing clips."""
    out = tmp_path / "cut.fcpxml"
    call(ntsc, "export.interchange", out=str(out))
    text = out.read_text()
    assert 'frameDuration="1001/30000s"' in text
    assert 'offset="1001/300s"' in text  # frame 100 at 30000/1001: exactly 100 * 1001/30000 s
    target = fresh(tmp_path / "fresh", originals(ntsc, tmp_path / "media"), NTSC)
    before = (target / "project.json").read_bytes()
    with pytest.raises(MediaError, match=r"cut.fcpxml: its frames last 1001/30000 s \(29.970 fps"):
        call(target, "timeline.import", file=str(out))
    assert (target / "project.json").read_bytes() == before


# -- what does not map ---------------------------------------------------------------------------


def test_text_remotion_and_transforms_are_listed_not_dropped(tmp_path: Path) -> None:
    project = new_project("p", rate=Rate(30))
    remotion = Asset(id="a_9", kind="remotion", name="Lower third")
    v1 = msgspec.structs.replace(
        project.tracks[0],
        clips=(
            Clip(id="c_1", kind="text", name="Title", start=0, duration=30),
            Clip(
                id="c_2", kind="remotion", name="Lower third", start=30, duration=30, asset_id="a_9"
            ),
        ),
    )
    project = msgspec.structs.replace(project, assets=(remotion,), tracks=(v1, project.tracks[1]))
    timeline, done = to_otio.build(tmp_path, project, 0, 60)
    assert len(done.warnings) == 2
    assert "text clip c_1 'Title'" in done.warnings[0] and "is a gap" in done.warnings[0]
    assert "remotion clip c_2 'Lower third'" in done.warnings[1]
    assert [type(i).__name__ for i in timeline.tracks[0]] == ["Gap", "Gap"]
    assert timeline.tracks[0].duration().to_frames(30) == 60

    still = Asset(id="a_8", kind="image", name="s.png", hash="0" * 64, ext="png")
    moved = Clip(
        id="c_3", kind="media", name="s", start=0, duration=5, asset_id="a_8",
        transform=Transform(x=10, opacity=0.5),
    )  # fmt: skip
    v1 = msgspec.structs.replace(project.tracks[0], clips=(moved,))
    project = msgspec.structs.replace(project, assets=(still,), tracks=(v1,))
    _, done = to_otio.build(tmp_path, project, 0, 5)
    assert done.warnings == [
        "media clip c_3 's' on V1 at 00:00:00:00: its transform/opacity is not written"
    ]


def test_range_exports_only_those_frames(built: Path, tmp_path: Path) -> None:
    out = tmp_path / "part.otio"
    doc = call(built, "export.interchange", out=str(out), range="20-110")
    assert (doc["first"], doc["last"]) == (20, 110)
    timeline = otio.adapters.read_from_file(str(out))
    v1 = next(t for t in timeline.tracks if t.name == "V1")
    ranges = [
        (c.range_in_parent().start_time.to_frames(30), c.source_range.start_time.to_frames(30),
         c.source_range.duration.to_frames(30))
        for c in v1.find_clips()
    ]  # fmt: skip
    # V1: [10, 70) from source 30 and [100, 140) from source 5, cut to [20, 110)
    assert ranges == [(0, 40, 50), (80, 5, 10)]
    assert [m.marked_range.start_time.to_frames(30) for m in timeline.tracks.markers] == []


# -- import: one undoable edit, never silently destructive, bad files change nothing -----------


def test_import_beside_a_cut_adds_tracks_and_undo_restores_the_file(
    built: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cut.otio"
    call(built, "export.interchange", out=str(out))
    target = tmp_path / "target"
    shutil.copytree(built, target)
    before = (target / "project.json").read_bytes()
    doc = call(target, "timeline.import", file=str(out))
    assert doc["replaced"] is False
    names = [t.name for t in ProjectDir(target).load().tracks]
    assert names == ["V4", "V3", "V2", "V1", "A1", "A2"]
    # the same markers are there already: not added twice
    assert doc["change"]["summary"] == (
        "imported cut.otio: 3 track(s), 6 clip(s), 0 marker(s) beside the timeline"
    )
    assert len(ProjectDir(target).load().markers) == 2
    call(target, "undo")
    assert (target / "project.json").read_bytes() == before

    doc = call(target, "timeline.import", file=str(out), replace=True)
    assert doc["replaced"] is True
    assert shape(ProjectDir(target).load()) == shape(without_text(ProjectDir(built).load()))
    call(target, "undo")
    assert (target / "project.json").read_bytes() == before


def test_the_op_inverts_exactly_and_survives_its_json(built: Path, tmp_path: Path) -> None:
    """import_timeline as the history stores it: decoded from its JSON, applied beside and in
    place of a cut, and undone by its inverse to the very same project."""
    out = tmp_path / "cut.otio"
    call(built, "export.interchange", out=str(out))
    project = ProjectDir(built).load()
    timeline = from_otio.read(out, project)
    found = from_otio.plan(built, project, timeline, out.name)
    for replace in (False, True):
        op = ImportTimeline(tuple(found.tracks), tuple(found.markers), replace, out.name)
        assert decode_op(msgspec.json.encode(op)) == op
        result = op.apply(project)
        assert len(result.project.tracks) == (3 if replace else 6)
        assert result.inverse.apply(result.project).project == project
    locked = msgspec.structs.replace(
        project,
        tracks=(msgspec.structs.replace(project.tracks[0], locked=True), *project.tracks[1:]),
    )
    with pytest.raises(OpError, match="track V2 is locked; unlock it or import beside it"):
        ImportTimeline(tuple(found.tracks), replace=True).apply(locked)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("cut.otio", "{not json", "cut.otio: not a readable otio_json file"),
        ("cut.xml", "<xmeml><nothing/>", "cut.xml: not a readable fcp_xml file"),
        ("cut.fcpxml", "hello", "cut.fcpxml: not a readable fcpx_xml file"),
        ("cut.edl", "001  AX V C 00:00:00:00\n", "cut.edl: not a readable cmx_3600 file"),
        ("cut.aaf", "x", "cut.aaf: a timeline file ends in .otio, .edl, .xml, .fcpxml"),
    ],
)
def test_a_bad_file_is_one_line_and_changes_nothing(
    built: Path, tmp_path: Path, name: str, content: str, expected: str
) -> None:
    target = tmp_path / "target"
    shutil.copytree(built, target)
    before = (target / "project.json").read_bytes()
    bad = tmp_path / name
    bad.write_text(content)
    with pytest.raises(ReelcutError) as err:
        call(target, "timeline.import", file=str(bad))
    assert str(err.value).startswith(expected) and "\n" not in str(err.value)
    with pytest.raises(MediaError, match="no such file"):
        call(target, "timeline.import", file=str(tmp_path / "missing.otio"))
    assert (target / "project.json").read_bytes() == before


def test_export_stays_out_of_reelcuts_own_folders(built: Path) -> None:
    for where in ("assets", ".reelcut", "proxies"):
        with pytest.raises(ReelcutError, match=f"is reelcut's own; export outside {where}/"):
            call(built, "export.interchange", out=str(built / where / "cut.otio"))
        assert not (built / where / "cut.otio").exists()


def test_export_refuses_an_existing_file_without_force(built: Path, tmp_path: Path) -> None:
    out = tmp_path / "cut.xml"
    out.write_text("keep me")
    with pytest.raises(ReelcutError, match="exists; --force replaces it"):
        call(built, "export.interchange", out=str(out))
    assert out.read_text() == "keep me"
    call(built, "export.interchange", out=str(out), force=True)
    assert out.read_text().startswith("<?xml")
    assert [p.name for p in tmp_path.iterdir()] == ["cut.xml"]  # no temp left beside it
