"""Caption clips (issue 22): the timeline's words placed as text clips on the Captions track
in one undoable edit, mapped through each clip's in-point and position (a cut clip keeps only
its words); .srt/.vtt written from those clips and read into them; an export burns them in
unless told not to. Real ffmpeg, the real door, pysubs2 to read what was written.
"""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import msgspec
import pysubs2
import pytest

from engine.door import door
from engine.model import Clip, Project, Track
from engine.ops import EditText, decode_op
from engine.ops.captions import CAPTIONS_TRACK, CaptionCue, PlaceCaptions, caption_clips
from engine.projectdir import ProjectDir
from engine.transcripts.captions import frame_ms
from tests.engine.opcheck import applied, refused
from tests.engine.test_transcript_edit import WORDS, make_talk, tool, truth
from tests.engine.timelines import timeline
from tui.cli import main

# -- the op ---------------------------------------------------------------------------------


def captions_track(p: Project) -> Track:
    return next(t for t in p.tracks if t.name == CAPTIONS_TRACK)


def test_place_captions_makes_the_track_on_top_and_replaces_its_clips() -> None:
    p = timeline({"V1": [(0, 100)], "A1": [(0, 100)]})
    first = applied(PlaceCaptions((CaptionCue("so today", 5, 20), CaptionCue("we are", 30, 10))), p)
    q = first.project
    assert [t.name for t in q.tracks] == [CAPTIONS_TRACK, "V1", "A1"]
    clips = captions_track(q).clips
    assert [(c.kind, c.start, c.duration) for c in clips] == [("text", 5, 20), ("text", 30, 10)]
    assert [c.text.text for c in clips if c.text] == ["so today", "we are"]
    assert all(c.transform is not None and c.transform.y > 0 for c in clips)  # low in the frame
    again = applied(PlaceCaptions((CaptionCue("  one\n two  ", 40, 5),)), q).project
    (only,) = captions_track(again).clips
    assert only.text is not None and only.text.text == "one\ntwo"
    assert [t.name for t in again.tracks] == [CAPTIONS_TRACK, "V1", "A1"]  # not a second track
    op = PlaceCaptions((CaptionCue("x", 1, 2),), size=30)
    assert decode_op(msgspec.json.encode(op)) == op


def test_place_captions_refusals_say_what_to_do() -> None:
    p = timeline({"V1": [(0, 100)]})
    refused(
        PlaceCaptions((CaptionCue("a", 10, 20), CaptionCue("b", 25, 5))),
        p,
        "caption 2 starts at 00:00:00:25, before caption 1 ends",
    )
    refused(PlaceCaptions((CaptionCue("  ", 0, 5),)), p, "caption 1 has no text")
    placed = PlaceCaptions((CaptionCue("a", 0, 5),)).apply(p).project
    locked = msgspec.structs.replace(
        placed,
        tracks=tuple(
            msgspec.structs.replace(t, locked=True) if t.name == CAPTIONS_TRACK else t
            for t in placed.tracks
        ),
    )
    refused(PlaceCaptions((CaptionCue("b", 0, 5),)), locked, "track Captions is locked")
    audio = timeline({"Captions": [(0, 10)], "V1": [(0, 10)]})  # not V*: an audio track
    refused(PlaceCaptions((CaptionCue("b", 0, 5),)), audio, "is an audio track")


# -- from the timeline's words, through the door ---------------------------------------------


def source_frame(p: Project, frame: int) -> int:
    """The source frame of the video that the timeline shows at ``frame``."""
    video = next(t for t in p.tracks if t.name == "V1")
    c = next(c for c in video.clips if c.start <= frame < c.end)
    return c.source_in + frame - c.start


def test_captions_of_a_cut_timeline_map_words_through_in_points_and_undo_in_one_step(
    tmp_path: Path,
) -> None:
    root = tmp_path / "p"
    make_talk(root, video=True)
    view = tool(root, "transcript_read", {})["result"]["view"]
    edited = view.replace(" um going", " going").replace("editing video with", "with")
    assert tool(root, "transcript_cut", {"view": edited}, apply=True)["applied"]
    cut = ProjectDir(root).load()
    assert len(next(t for t in cut.tracks if t.name == "V1").clips) == 3  # two cuts
    with door(root, "test") as d:
        placed = d.call("captions.place", {})
    assert placed["change"]["summary"].startswith("placed ")
    p = ProjectDir(root).load()
    clips = caption_clips(p.tracks)
    assert len(clips) == placed["cues"] == len(placed["clips"]) >= 2
    said = " ".join(c.text.text for c in clips if c.text).split()
    kept = [w for w in WORDS if w not in ("um", "editing", "video")]
    assert said == kept
    # Each caption starts where its first word starts in the source, through the clip there.
    starts = {s.text: round(s.start * 30) for s in truth()}
    for c in clips:
        assert c.text is not None
        first = c.text.text.split()[0]
        assert abs(source_frame(p, c.start) - starts[first]) <= 1, (first, c.start)
    assert all(a.end <= b.start for a, b in itertools.pairwise(clips))
    with door(root, "test") as d:
        d.call("undo", {})
    assert ProjectDir(root).load().tracks == cut.tracks


def test_a_transcript_cut_takes_the_captions_along(tmp_path: Path) -> None:
    """With captions placed, cutting words is not blocked by them: the changeset cuts the
    captions over those words and groups the words left into captions again."""
    root = tmp_path / "p"
    make_talk(root, video=True)
    with door(root, "test") as d:
        d.call("captions.place", {})
    before = (root / "project.json").read_bytes()
    view = tool(root, "transcript_read", {})["result"]["view"]
    out = tool(root, "transcript_cut", {"view": view.replace("so today we are ", "")}, apply=True)
    assert out.get("applied"), out
    assert "caption(s) made again" in out["result"]["summary"]
    p = ProjectDir(root).load()
    clips = caption_clips(p.tracks)
    assert " ".join(c.text.text for c in clips if c.text).split() == WORDS[4:]
    starts = {s.text: round(s.start * 30) for s in truth()}
    for c in clips:
        assert c.text is not None
        assert abs(source_frame(p, c.start) - starts[c.text.text.split()[0]]) <= 1
    with door(root, "test") as d:
        d.call("changes.revert", {"id": out["changeset"]})
    assert (root / "project.json").read_bytes() == before


def test_the_srt_and_vtt_hold_the_caption_clips_as_edited(tmp_path: Path) -> None:
    root = tmp_path / "p"
    make_talk(root)
    with door(root, "test") as d:
        d.call("captions.place", {})
        first = caption_clips(ProjectDir(root).load().tracks)[0]
        d.call("edit", {"op": msgspec.to_builtins(EditText(first.id, text="So, today\nwe are"))})
    p = ProjectDir(root).load()
    clips = caption_clips(p.tracks)
    for suffix in ("srt", "vtt"):
        out = tmp_path / f"talk.{suffix}"
        with door(root, "test") as d:
            doc = d.call("captions.write", {"out": str(out)})
        assert doc["from"] == "captions" and doc["cues"] == len(clips)
        subs = pysubs2.load(str(out))
        assert [(e.start, e.end, e.plaintext) for e in subs] == [
            (frame_ms(c.start, p), frame_ms(c.end, p), c.text.text) for c in clips if c.text
        ]
        assert subs[0].plaintext == "So, today\nwe are"


# -- importing a subtitle file ----------------------------------------------------------------

SRT = """1
00:00:01,000 --> 00:00:02,500
Hello <i>there</i>
second line

2
00:00:03,010 --> 00:00:04,000
Bye.
"""


def test_an_srt_import_becomes_caption_clips_in_one_undoable_edit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "p"
    make_talk(root)
    before = ProjectDir(root).load()
    srt = tmp_path / "subs.srt"
    srt.write_text(SRT, encoding="utf-8")
    assert main(["import", str(root), str(srt)]) == 0
    clips = caption_clips(ProjectDir(root).load().tracks)
    out = capsys.readouterr().out
    assert out.splitlines() == [
        f"subs.srt: 2 caption(s) on the Captions track as {clips[0].id}, {clips[1].id}"
    ]
    # 1.000 s is frame 30, 2.500 s frame 75; 3.010 s rounds to frame 90, 4.000 s is 120.
    assert [(c.start, c.end, c.text.text if c.text else "") for c in clips] == [
        (30, 75, "Hello there\nsecond line"),
        (90, 120, "Bye."),
    ]
    vtt = tmp_path / "subs.vtt"
    vtt.write_text("WEBVTT\n\n00:00.500 --> 00:01.000\nOnly one\n", encoding="utf-8")
    assert main(["import", str(root), str(vtt), "--json"]) == 0
    assert [c.text.text for c in caption_clips(ProjectDir(root).load().tracks) if c.text] == [
        "Only one"
    ]
    capsys.readouterr()
    assert main(["undo", str(root)]) == 0
    assert main(["undo", str(root)]) == 0
    assert ProjectDir(root).load().tracks == before.tracks


def test_a_subtitle_file_without_cues_is_one_line_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "p"
    make_talk(root)
    before = (root / "project.json").read_bytes()
    bad = tmp_path / "notes.srt"
    bad.write_text("these are not subtitles\n", encoding="utf-8")
    assert main(["import", str(root), str(bad)]) != 0
    err = capsys.readouterr().err.strip()
    assert err == "reelcut: notes.srt: holds no caption with text; nothing to place"
    assert (root / "project.json").read_bytes() == before


# -- burned in by export, or left out ------------------------------------------------------


def bright(path: Path) -> tuple[int, int]:
    """How many pixels of the single frame in ``path`` are bright (> 200 of 255): in its
    bottom fifth, and above it."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    assert len(raw) == 1920 * 1080
    cut = 1920 * 1080 * 4 // 5
    return sum(1 for v in raw[cut:] if v > 200), sum(1 for v in raw[:cut] if v > 200)


def test_export_burns_the_captions_in_unless_no_captions(tmp_path: Path) -> None:
    root = tmp_path / "p"
    make_talk(root)  # sound only: the picture is black but for the captions
    with door(root, "test") as d:
        d.call("captions.place", {})
    first = caption_clips(ProjectDir(root).load().tracks)[0]
    span = f"{first.start + 2}-{first.start + 3}"
    with_caps, without = tmp_path / "with.mp4", tmp_path / "without.mp4"
    assert main(["export", str(root), str(with_caps), "--range", span]) == 0
    assert main(["export", str(root), str(without), "--range", span, "--no-captions"]) == 0
    low, high = bright(with_caps)
    assert low > 2000 and high == 0  # the words, low in the picture
    assert bright(without) == (0, 0)


def test_a_clip_that_is_not_text_on_the_captions_track_is_not_a_caption() -> None:
    p = timeline({"V1": [(0, 10)]})
    p = PlaceCaptions((CaptionCue("hi", 0, 5),)).apply(p).project
    track = captions_track(p)
    media = Clip(id="c_99", kind="media", name="m", start=20, duration=5, asset_id="a_1")
    tracks = tuple(
        msgspec.structs.replace(t, clips=(*t.clips, media)) if t.id == track.id else t
        for t in p.tracks
    )
    assert [c.id for c in caption_clips(tracks)] == [track.clips[0].id]


def test_placing_captions_again_never_removes_a_picture_put_on_their_track() -> None:
    """Found by the ops state machine: a media clip inserted on the Captions track (with its
    linked sound on A1) was removed by the next PlaceCaptions, leaving its partner's link
    dangling. Now the op refuses and names the clip; nothing changes."""
    p = timeline({"V1": [(0, 10)], "A1": [(0, 10)]})
    p = PlaceCaptions((CaptionCue("hi", 0, 5),)).apply(p).project
    track = captions_track(p)
    picture = Clip(
        id="c_98", kind="media", name="shot", start=20, duration=5, asset_id="a_1", linked_id="c_99"
    )
    sound = Clip(
        id="c_99", kind="media", name="shot", start=20, duration=5, asset_id="a_2", linked_id="c_98"
    )
    tracks = tuple(
        msgspec.structs.replace(t, clips=(*t.clips, picture))
        if t.id == track.id
        else msgspec.structs.replace(t, clips=(*t.clips, sound))
        if t.name == "A1"
        else t
        for t in p.tracks
    )
    p = msgspec.structs.replace(p, tracks=tracks)
    refused(
        PlaceCaptions((CaptionCue("again", 0, 5),)),
        p,
        "the Captions track holds media clip 'shot' at 00:00:00:20; move it to another track",
    )


# -- the agent's tool -------------------------------------------------------------------------


def test_the_captions_place_tool_proposes_one_changeset_from_words_or_srt(tmp_path: Path) -> None:
    root = tmp_path / "p"
    make_talk(root)
    before = (root / "project.json").read_bytes()
    out = tool(root, "captions_place", {})
    assert out["ok"], out
    assert (root / "project.json").read_bytes() == before  # proposed, not applied
    assert " ".join(out["result"]["captions"]).split() == WORDS
    with door(root, "test") as d:
        d.call("changes.apply", {"id": out["changeset"]})
    clips = caption_clips(ProjectDir(root).load().tracks)
    assert [c.text.text for c in clips if c.text] == out["result"]["captions"]
    again = tool(root, "captions_place", {"srt": SRT}, apply=True)
    assert again.get("applied"), again
    clips = caption_clips(ProjectDir(root).load().tracks)
    assert [(c.start, c.end) for c in clips] == [(30, 75), (90, 120)]
    bad = tool(root, "captions_place", {"srt": "not subtitles"})
    assert not bad["ok"] and "holds no caption with text" in bad["error"]
    with door(root, "test") as d:
        d.call("changes.revert", {"id": again["changeset"]})
        d.call("changes.revert", {"id": out["changeset"]})
    assert (root / "project.json").read_bytes() == before
