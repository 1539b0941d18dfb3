"""Editing the video by editing its words: the timeline's words clip by clip, the text view,
deletions as one reviewable changeset of ripple deletes (linked partners too), apply, export,
revert, and the refusals (a changed word, a stray block), through the real door and tools.

The media is real (a WAV of tone "words" imported with ffmpeg, a video with that sound for the
linked pair); its transcript is written from the recording's truth, so what is tested here is
the mapping and the cut, not a recognizer (tests/engine/test_transcripts.py tests those).
"""

from __future__ import annotations

import json
import math
import subprocess
import wave
from pathlib import Path
from typing import Any

import pytest

from engine.door import door
from engine.model import new_project
from engine.projectdir import ProjectDir
from engine.timebase import Rate
from engine.transcripts.document import SCHEMA_VERSION, Transcript, Word, write_transcript
from engine.transcripts.timeline import (
    TranscriptEditRefused,
    deleted,
    render,
    timeline_words,
)
from tests.fakes.speech import Spoken, speech_pcm

RATE = 16000
WORDS = [
    "so",
    "today",
    "we",
    "are",
    "um",
    "going",
    "to",
    "talk",
    "about",
    "editing",
    "video",
    "with",
    "text",
]


def truth() -> list[Spoken]:
    """One word every 0.6 s from 0.5 s, each 0.4 s long."""
    return [Spoken(w, 0.5 + 0.6 * i, 0.9 + 0.6 * i) for i, w in enumerate(WORDS)]


def make_talk(root: Path, *, video: bool = False) -> tuple[str, Any]:
    """A 30 fps project with the talk imported (as a WAV, or as a video with that sound: a
    linked V1/A1 pair) and its transcript written; the id of the asset that has the words."""
    ProjectDir.create(root, new_project("talk", rate=Rate(30, 1)))
    wav = root.parent / "talk.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(speech_pcm(truth(), 9.0))
    src = wav
    if video:
        src = root.parent / "talk.mp4"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=160x90:r=30:d=9",
             "-i", str(wav), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
             "-shortest", str(src)],
            check=True,
        )  # fmt: skip
    with door(root, "test") as d:
        d.call("import", {"files": [str(src)]})
    project = ProjectDir(root).load()
    audio = next(a for a in project.assets if a.kind == "audio")
    t = Transcript(
        schema_version=SCHEMA_VERSION,
        asset_id=audio.id,
        asset_hash=audio.hash,
        provider="local",
        method="aligned",
        model="truth",
        language="en-US",
        duration_ms=9000,
        words=tuple(Word(s.text, round(s.start * 1000), round(s.end * 1000)) for s in truth()),
    )
    write_transcript(root, t)
    return audio.id, project


def tool(root: Path, name: str, args: dict[str, Any], **more: Any) -> dict[str, Any]:
    with door(root, "test") as d:
        out: dict[str, Any] = d.call("tool", {"name": name, "arguments": args, **more})
    return out


def test_the_words_map_through_the_clip_to_timeline_frames(tmp_path: Path) -> None:
    root = tmp_path / "p"
    asset, project = make_talk(root)
    from engine.transcripts.document import read_transcript

    t = read_transcript(root, asset)
    assert t is not None
    (block,) = timeline_words(project, {asset: t})
    assert [w.text for w in block.words] == WORDS
    # 0.5 s at 30 fps is frame 15; 0.9 s is frame 27.
    assert (block.words[0].start, block.words[0].end) == (15, 27)
    view = render(project, [block])
    assert f"## {block.clip_id}  talk.wav  00:00:00:00-00:00:09:00" in view
    assert " ".join(WORDS) in view


def test_deleting_three_words_is_one_changeset_that_cuts_their_frames_and_reverts(
    tmp_path: Path,
) -> None:
    root = tmp_path / "p"
    make_talk(root, video=True)
    before = (root / "project.json").read_bytes()
    view = tool(root, "transcript_read", {})["result"]["view"]
    assert "## " in view
    edited = view.replace(" um going", " going").replace("editing video with", "with")
    proposed = tool(root, "transcript_cut", {"view": edited})
    assert proposed["ok"], proposed
    assert proposed["result"]["words"] == ["um", "editing", "video"]
    cs = proposed["changeset"]
    assert (root / "project.json").read_bytes() == before  # proposed, not applied
    with door(root, "test") as d:
        d.call("changes.apply", {"id": cs})
    project = ProjectDir(root).load()
    # Three words of 12 frames, "editing video" with the 6-frame gap between them: 12 + 30.
    assert project.duration == 270 - 42
    video = next(t for t in project.tracks if t.kind == "video")
    audio = next(t for t in project.tracks if t.kind == "audio")
    spans = [(c.source_in, c.source_in + c.duration) for c in audio.clips]
    assert spans == [(c.source_in, c.source_in + c.duration) for c in video.clips]
    assert all(c.linked_id for c in (*video.clips, *audio.clips))
    gone = [(15 + 18 * 4, 27 + 18 * 4), (15 + 18 * 9, 27 + 18 * 10)]  # um; editing video
    for lo, hi in gone:
        assert not any(a < hi and lo < b for a, b in spans), (lo, hi, spans)
    kept = tool(root, "transcript_read", {})["result"]["view"]
    said = " ".join(ln for ln in kept.splitlines() if ln and not ln.startswith("#"))
    assert said == "so today we are going to talk about with text"
    with door(root, "test") as d:
        d.call("changes.revert", {"id": cs})
    assert (root / "project.json").read_bytes() == before


def test_the_export_after_the_cut_no_longer_holds_the_words_sound(tmp_path: Path) -> None:
    """Each word is a tone of its own pitch: after cutting "um", the exported sound has
    every other word's pitch and not that one."""
    root = tmp_path / "p"
    make_talk(root)
    proposed = tool(root, "transcript_cut", {"words": [{"clip": "c_4", "index": 4}]}, apply=True)
    assert proposed["applied"], proposed
    out = tmp_path / "cut.wav"
    from tui.cli import main

    assert main(["export", str(root), str(out)]) == 0
    with wave.open(str(out)) as w:
        rate, channels = w.getframerate(), w.getnchannels()
        raw = w.readframes(w.getnframes())
    import array

    a = array.array("h")
    a.frombytes(raw)
    mono = a[::channels]

    def power(freq: float) -> float:
        """Goertzel: the strength of one pitch over the whole file."""
        k = 2 * math.cos(2 * math.pi * freq / rate)
        s1 = s2 = 0.0
        for x in mono:
            s1, s2 = x + k * s1 - s2, s1
        return s1 * s1 + s2 * s2 - k * s1 * s2

    pitches = [220.0 + 37.0 * i for i in range(len(WORDS))]
    strong = min(power(p) for i, p in enumerate(pitches) if i != 4)
    assert power(pitches[4]) < strong / 50


def test_a_changed_word_is_refused_with_line_and_column_and_nothing_proposed(
    tmp_path: Path,
) -> None:
    root = tmp_path / "p"
    asset, project = make_talk(root)
    from engine.transcripts.document import read_transcript

    t = read_transcript(root, asset)
    assert t is not None
    blocks = timeline_words(project, {asset: t})
    view = render(project, blocks)
    with pytest.raises(TranscriptEditRefused) as err:
        deleted(blocks, view.replace("today", "tomorrow"))
    line = next(n for n, s in enumerate(view.splitlines(), 1) if "today" in s)
    assert str(err.value).startswith(f"{line}:4: 'tomorrow' is not a word of clip c_4 here")
    out = tool(root, "transcript_cut", {"view": view.replace("today", "tomorrow")})
    assert not out["ok"] and "is not a word of clip" in out["error"]
    assert out.get("changeset") is None
    assert deleted(blocks, view) == []
    # A block deleted whole cuts its clip's every word.
    assert len(deleted(blocks, view.split("##")[0])) == len(WORDS)


def test_fillers_and_long_pauses_go_in_one_call(tmp_path: Path) -> None:
    root = tmp_path / "p"
    make_talk(root)
    out = tool(root, "transcript_cut", {"fillers": True, "pauses_over_ms": 100}, apply=True)
    assert out["applied"], out
    project = ProjectDir(root).load()
    # Each of the 10 6-frame gaps between kept words keeps 3 frames; "um" (12 frames) and the
    # gaps around it are one 24-frame pause, which keeps 3 too.
    assert project.duration == 270 - 10 * 3 - 21
    text = json.loads(json.dumps(tool(root, "transcript_read", {})["result"]))["view"]
    assert " um " not in text
