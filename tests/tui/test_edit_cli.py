"""`reelcut edit/undo/redo/history` as a user or an agent runs them: real processes, real files.

The demo project has V2 (title c_13), V1 (pattern c_10 0-240 linked to c_11 on A1, still c_12
at 240-330) and A2 (c_14, c_15); new ids start at 18.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from engine.lock import WriterLock
from engine.projectfile import decode_project, encode_project
from engine.session import Session
from tests.engine.timelines import clip, links, show
from tests.tui.test_cli import assert_one_line_error, reelcut


def project_bytes(root: Path) -> bytes:
    return (root / "project.json").read_bytes()


def test_blade_at_a_timecode_then_undo_and_redo(demo_dir: Path) -> None:
    initial = project_bytes(demo_dir)
    res = reelcut("edit", demo_dir, "blade", "--at", "00:00:01:00", "--clip-ids", "c_10")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "r1: cut 2 clip(s) at 00:00:01:00\n"
    bladed = project_bytes(demo_dir)
    p = decode_project(bladed)
    assert show(p)[1:3] == [
        "V1: c_10[0,30) c_18[30,240) c_12[240,330)",
        "A1: c_11[0,30) c_19[30,240)",
    ]
    assert ("c_18", "c_19") in links(p)

    res = reelcut("undo", demo_dir)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "r2: undid: cut 2 clip(s) at 00:00:01:00\n"
    assert project_bytes(demo_dir) == initial

    res = reelcut("redo", demo_dir)
    assert res.returncode == 0, res.stderr
    assert project_bytes(demo_dir) == bladed
    assert reelcut("undo", demo_dir).returncode == 0
    assert reelcut("undo", demo_dir).stdout == "nothing to undo\n"


def test_options_take_frames_timecode_and_signed_deltas(demo_dir: Path) -> None:
    res = reelcut("edit", demo_dir, "move", "--clip-ids", "c_12", "--by=+00:00:01:00")
    assert res.returncode == 0, res.stderr
    assert clip(decode_project(project_bytes(demo_dir)), "c_12").start == 270
    res = reelcut("edit", demo_dir, "trim", "--clip-id", "c_12", "--edge", "out", "--by", "-30")
    assert res.returncode == 0, res.stderr
    moved = clip(decode_project(project_bytes(demo_dir)), "c_12")
    assert (moved.start, moved.duration) == (270, 60)
    # A negative timecode works as a separate argument too (argparse alone would take it for
    # an option) and attached with "=".
    res = reelcut("edit", demo_dir, "nudge", "--clip-ids", "c_15", "--by", "-00:00:01:00")
    assert res.returncode == 0, res.stderr
    assert clip(decode_project(project_bytes(demo_dir)), "c_15").start == 210
    res = reelcut("edit", demo_dir, "nudge", "--clip-ids", "c_15", "--by=-00:00:00:15")
    assert res.returncode == 0, res.stderr
    assert clip(decode_project(project_bytes(demo_dir)), "c_15").start == 195
    res = reelcut("edit", demo_dir, "set-marks", "--mark-in", "15", "--mark-out", "00:00:02:00")
    assert res.returncode == 0, res.stderr
    with Session(demo_dir) as session:  # the marks are the view: in the state database
        ed = session.project.editor
    assert (ed.mark_in, ed.mark_out) == (15, 60)


def test_json_output_parses(demo_dir: Path) -> None:
    res = reelcut("edit", demo_dir, "--json", "add-marker", "--at", "15", "--name", "cue")
    assert res.returncode == 0, res.stderr
    change = json.loads(res.stdout)
    assert change == {
        "revision": 1,
        "kind": "edit",
        "summary": "added marker cue (m_18) at 00:00:00:15",
        "touched": ["m_18"],
    }
    res = reelcut("edit", demo_dir, "lift", "--clip-ids", "c_12", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["touched"] == ["c_12"]
    res = reelcut(
        "edit", demo_dir, "--json", "--op-json", '{"op": "nudge", "clip_ids": ["c_15"], "by": 5}'
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["summary"] == "nudged c_15 by +5 frames"
    undo = json.loads(reelcut("undo", demo_dir, "--json").stdout)
    assert (undo["kind"], undo["revision"]) == ("undo", 4)
    history = json.loads(reelcut("history", demo_dir, "--json").stdout)
    assert [(h["op"]["op"], h["author"], h["undone"]) for h in history] == [
        ("add_marker", "cli", False),
        ("lift", "cli", False),
        ("nudge", "cli", True),
    ]


def test_a_refused_op_prints_one_line_and_exits_7(demo_dir: Path) -> None:
    initial = project_bytes(demo_dir)
    res = reelcut("edit", demo_dir, "move", "--clip-ids", "c_10", "--by", "10", "--mode", "free")
    assert_one_line_error(
        res, 7, "clip c_10 would overlap c_12 on V1 at 00:00:08:00", "use insert or move"
    )
    res = reelcut("edit", demo_dir, "lift", "--clip-ids", "c_404")
    assert_one_line_error(res, 7, "clip 'c_404' does not exist", "`reelcut info DIR`")
    res = reelcut("edit", demo_dir, "--op-json", '{"op": "lift"}')
    assert_one_line_error(res, 7, "invalid operation", "clip_ids")
    res = reelcut("edit", demo_dir, "blade", "--at", "00:00:01:00", "--json")
    assert res.returncode == 0, res.stderr
    res = reelcut("edit", demo_dir, "blade", "--at", "00:00:01:00", "--json")
    assert res.returncode == 7
    assert json.loads(res.stdout) == {
        "error": "no clip to cut at 00:00:01:00 on an unlocked track",
        "exit_code": 7,
    }
    assert reelcut("undo", demo_dir).returncode == 0
    assert project_bytes(demo_dir) == initial


def test_bad_positions_and_missing_ops_are_one_line_errors(demo_dir: Path) -> None:
    res = reelcut("edit", demo_dir, "blade", "--at", "00:00:01:45")
    assert_one_line_error(res, 1, "timecode '00:00:01:45' is out of range at 30 fps")
    res = reelcut("edit", demo_dir)
    assert_one_line_error(res, 1, "name an operation", "reelcut edit DIR -h")


def test_an_outside_edit_blocks_undo_and_a_held_lock_blocks_edit(demo_dir: Path) -> None:
    assert reelcut("edit", demo_dir, "add-marker", "--at", "3").returncode == 0
    theirs = encode_project(
        msgspec.structs.replace(decode_project(project_bytes(demo_dir)), name="by hand")
    )
    (demo_dir / "project.json").write_bytes(theirs)
    res = reelcut("undo", demo_dir)
    assert_one_line_error(res, 8, "cannot undo", "changed outside this session")
    assert project_bytes(demo_dir) == theirs
    with WriterLock(demo_dir, purpose="reelcut open"):
        res = reelcut("edit", demo_dir, "blade", "--at", "30")
    assert_one_line_error(res, 4, "open for writing", "(reelcut open)")
    assert project_bytes(demo_dir) == theirs


def test_set_audio_takes_decibels_and_fade_lengths_in_frames_or_timecode(demo_dir: Path) -> None:
    """Gain on the linked video clip lands on its audio partner; a fade that does not fit and a
    gain beyond +24 dB are one line each and change nothing."""
    initial = project_bytes(demo_dir)
    res = reelcut(
        "edit", demo_dir, "set-audio", "--clip-id", "c_10", "--gain-db", "-6",
        "--fade-in", "00:00:00:15", "--fade-out", "45",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert res.stdout == "r1: set the sound of c_11: -6.0 dB, fade in 15, fade out 45 frames\n"
    audio = clip(decode_project(project_bytes(demo_dir)), "c_11").audio
    assert audio is not None and (audio.gain_db, audio.fade_in, audio.fade_out) == (-6.0, 15, 45)
    assert clip(decode_project(project_bytes(demo_dir)), "c_10").audio is None
    changed = project_bytes(demo_dir)

    res = reelcut("edit", demo_dir, "set-audio", "--clip-id", "c_11", "--fade-out", "230")
    assert_one_line_error(res, 7, "fades of 15 + 230 frames do not fit in clip c_11 (240 frames)")
    res = reelcut("edit", demo_dir, "set-audio", "--clip-id", "c_11", "--gain-db", "30")
    assert_one_line_error(res, 7, "invalid operation", "<= 24.0", "gain_db")
    res = reelcut("edit", demo_dir, "set-audio", "--clip-id", "c_11", "--gain-db", "loud")
    assert res.returncode == 2 and "invalid float value: 'loud'" in res.stderr
    assert project_bytes(demo_dir) == changed

    assert reelcut("undo", demo_dir).returncode == 0
    assert project_bytes(demo_dir) == initial


def test_edit_marker_sets_and_clears_a_note(demo_dir: Path) -> None:
    res = reelcut("edit", demo_dir, "edit-marker", "--marker-id", "Midpoint", "--note", "re-cut")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "r1: edited marker Midpoint\n"
    marks = decode_project(project_bytes(demo_dir)).markers
    assert [(m.name, m.note) for m in marks] == [("Midpoint", "re-cut"), ("Still", "")]
    info = json.loads(reelcut("info", demo_dir, "--json").stdout)
    assert [(m["name"], m["note"]) for m in info["markers"]] == [
        ("Midpoint", "re-cut"),
        ("Still", ""),
    ]
    res = reelcut("edit", demo_dir, "edit-marker", "--marker-id", "Midpoint", "--name", "Mid")
    assert res.returncode == 0, res.stderr
    marks = decode_project(project_bytes(demo_dir)).markers
    assert [(m.name, m.note) for m in marks] == [("Mid", "re-cut"), ("Still", "")]
    assert (
        reelcut("edit", demo_dir, "edit-marker", "--marker-id", "Mid", "--note", "").returncode == 0
    )
    assert [m.note for m in decode_project(project_bytes(demo_dir)).markers] == ["", ""]
