"""`reelcut transcribe`, `reelcut transcript` and `reelcut captions` as a person runs them:
real ffmpeg, real pocketsphinx, the real door; output lines, exit codes, files."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pysubs2
import pytest

from engine.projectdir import ProjectDir
from engine.transcripts.captions import cues
from engine.transcripts.document import read_transcript, read_transcripts
from engine.transcripts.timeline import timeline_words
from tests.engine.test_transcript_edit import WORDS, make_talk
from tui.cli import main


def test_transcript_cut_proposes_then_applies_and_captions_parse_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "p"
    make_talk(root)
    assert main(["transcript", str(root)]) == 0
    view = capsys.readouterr().out
    assert " ".join(WORDS[:4]) in view
    edited = tmp_path / "edited.txt"
    edited.write_text(view.replace(" um ", " "))
    before = (root / "project.json").read_bytes()
    assert main(["transcript", str(root), "--cut", str(edited)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "cut 1 stretch(es) of words, 12 frame(s), from the timeline: um",
        f"changeset 1 proposed; review with `reelcut changes {root} show 1`, "
        "apply with `... apply 1`",
    ]
    assert (root / "project.json").read_bytes() == before
    assert main(["changes", str(root), "apply", "1"]) == 0
    assert ProjectDir(root).load().duration == 270 - 12
    capsys.readouterr()

    for suffix in ("srt", "vtt"):
        out_file = tmp_path / f"talk.{suffix}"
        assert main(["captions", str(root), str(out_file), "--json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        subs = pysubs2.load(str(out_file))
        project = ProjectDir(root).load()
        found = read_transcripts(root, [a.id for a in project.assets])
        expected = cues(project, timeline_words(project, found))
        assert doc["cues"] == len(subs) == len(expected) > 1
        assert [(e.start, e.end, e.plaintext) for e in subs] == [
            (c.start_ms, c.end_ms, c.text) for c in expected
        ]
        assert "um" not in " ".join(e.plaintext for e in subs).split()
        assert all(a.end <= b.start for a, b in itertools.pairwise(subs))


def test_bad_input_is_one_line_with_its_exit_code_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "p"
    make_talk(root)
    before = (root / "project.json").read_bytes()
    assert main(["captions", str(root), str(tmp_path / "talk.txt")]) == 2
    assert capsys.readouterr().err.strip() == (
        "reelcut: talk.txt: captions are written as .srt or .vtt; name one of those"
    )
    assert main(["transcript", str(root)]) == 0
    view = capsys.readouterr().out
    edited = tmp_path / "edited.txt"
    edited.write_text(view.replace("today", "tomorrow"))
    assert main(["transcript", str(root), "--cut", str(edited)]) == 12
    err = capsys.readouterr().err
    assert err.startswith("reelcut: view:") and "'tomorrow' is not a word of clip" in err
    assert main(["transcribe", str(root), "nope"]) == 2
    assert "no asset 'nope' in the project" in capsys.readouterr().err
    assert (root / "project.json").read_bytes() == before
    assert not (tmp_path / "talk.txt").exists()


def test_transcribe_local_with_known_text_writes_the_aligned_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "p"
    asset, _ = make_talk(root)
    shutil.rmtree(root / "transcripts")
    text = tmp_path / "said.txt"
    text.write_text(" ".join(WORDS) + "\n")
    assert main(["transcribe", str(root), asset, "--text", str(text)]) == 0
    out = capsys.readouterr().out
    assert f"{asset}: {len(WORDS)} words (aligned) in transcripts/{asset}.json" in out
    t = read_transcript(root, asset)
    assert t is not None and [w.text for w in t.words] == WORDS
    # The tone words start every 0.6 s from 0.5 s.
    assert all(abs(w.start_ms - (500 + 600 * i)) <= 20 for i, w in enumerate(t.words))
