"""The demo's captions from the command line (issue 22's done-when): its spoken line
(espeak-ng) aligned offline with pocketsphinx, placed as caption clips, written as .srt and
.vtt; what pysubs2 reads back is exactly the caption clips. Real ffmpeg, pocketsphinx, door."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pysubs2
import pytest

from engine.ops.captions import caption_clips
from engine.projectdir import ProjectDir
from engine.transcripts.captions import frame_ms
from tui.cli import main

LINE = "Welcome to reelcut. Cut with the keyboard, watch in the browser."
"""What the demo's espeak-ng line says (engine/demo.py)."""


def words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def test_the_demo_srt_parses_and_matches_the_caption_clips(
    demo_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = ProjectDir(demo_dir).load()
    line = next(a for a in project.assets if a.source_name == "line.wav")
    said = tmp_path / "said.txt"
    said.write_text(LINE + "\n")
    assert main(["transcribe", str(demo_dir), line.id, "--text", str(said)]) == 0
    assert "(aligned)" in capsys.readouterr().out
    srt = tmp_path / "demo.srt"
    assert main(["captions", str(demo_dir), str(srt), "--place", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    project = ProjectDir(demo_dir).load()
    clips = caption_clips(project.tracks)
    assert doc["placed"]["cues"] == doc["cues"] == len(clips) >= 2  # two sentences
    assert doc["from"] == "captions"
    subs = pysubs2.load(str(srt))
    expected = [(frame_ms(c.start, project), frame_ms(c.end, project), c.text.text) for c in clips]
    assert [(e.start, e.end, e.plaintext) for e in subs] == expected
    assert words(" ".join(e.plaintext for e in subs)) == words(LINE)
    # The line's clip starts on A2 at its own position: the captions start inside it.
    a2 = next(c for t in project.tracks for c in t.clips if c.asset_id == line.id)
    assert a2.start <= clips[0].start < clips[-1].end <= a2.end
    assert main(["info", str(demo_dir)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert f"Captions {clips[0].id:<8}text" in table[3]  # the long track name keeps its column
    vtt = tmp_path / "demo.vtt"
    assert main(["captions", str(demo_dir), str(vtt)]) == 0
    assert [(e.start, e.end, e.plaintext) for e in pysubs2.load(str(vtt))] == expected


def test_captions_without_out_or_place_is_one_line(
    demo_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (demo_dir / "project.json").read_bytes()
    assert main(["captions", str(demo_dir)]) == 2
    assert capsys.readouterr().err.strip() == (
        "reelcut: give OUT.srt or OUT.vtt to write captions, or --place to place them"
    )
    assert main(["captions", str(demo_dir), "--place"]) == 2  # the demo has no transcript yet
    assert "no clip on the timeline has a transcript" in capsys.readouterr().err
    assert (demo_dir / "project.json").read_bytes() == before
