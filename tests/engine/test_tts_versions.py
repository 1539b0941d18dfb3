"""Scenario versions and takes (engine.tts.pool): every line's takes listed with the current one,
another take selected per line (one undo step), and an earlier version restored as ONE
changeset of the scenario text and the timeline's takes, reviewed, applied and reverted as one.
Real espeak-ng passes through the queue (tests.engine.test_tts.tts_pass)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

from engine.changes.ledger import Ledger
from engine.door import door
from engine.projectdir import ProjectDir
from engine.scenario import SCENARIO_PATH
from engine.session import Session
from engine.tts.plan import line_clips
from tests.engine.test_tts import SCENARIO, make_project, tts_pass, write_scenario


def shown(root: Path) -> dict[str, str]:
    """The take key each line's clip shows."""
    project = ProjectDir(root).load()
    return {
        line: asset.generation.take or ""
        for line, (_, asset) in line_clips(project).items()
        if asset.generation is not None
    }


def two_versions(root: Path) -> tuple[str, dict[str, str], str, dict[str, str]]:
    """A pass over the scenario, then one over it with l_2 edited: the two texts and takes."""
    asyncio.run(tts_pass(root))
    first_text, first = (root / SCENARIO_PATH).read_text(), shown(root)
    edited = json.loads(json.dumps(SCENARIO))
    edited["lines"][1]["text"] = "So the whole timeline is really just a file?"
    write_scenario(root, edited)
    asyncio.run(tts_pass(root))
    return first_text, first, (root / SCENARIO_PATH).read_text(), shown(root)


def test_restoring_a_version_is_one_changeset_of_the_text_and_its_takes(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    first_text, first, second_text, second = two_versions(root)
    assert first["l_2"] != second["l_2"] and first["l_1"] == second["l_1"]
    sha = hashlib.sha256(first_text.encode()).hexdigest()
    with door(root, "test") as d:
        listed = d.call("tts.takes", {})
        out = d.call(
            "tool", {"name": "tts_restore", "arguments": {"version": sha[:10]}, "author": "cli"}
        )
    l2 = next(ln for ln in listed["lines"] if ln["line"] == "l_2")
    assert [t["current"] for t in l2["takes"]] == [False, True]
    assert out["ok"], out
    assert out["result"]["without_take"] == []  # every line of that version has its take
    cs = out["changeset"]
    # Proposed, not applied: both files as they were.
    assert (root / SCENARIO_PATH).read_text() == second_text and shown(root) == second
    project_before = (root / "project.json").read_bytes()

    async def review(action: str) -> Any:
        ledger = await Ledger.open(root)
        try:
            got = await ledger._get(cs)
            assert sorted(f.path for f in await ledger.store.files(cs)) == [
                "project.json",
                SCENARIO_PATH,
            ]
            return await getattr(ledger, action)(got.id)
        finally:
            await ledger.close()

    asyncio.run(review("apply"))
    assert (root / SCENARIO_PATH).read_text() == first_text
    assert shown(root) == first  # l_2's first take is back on its clip, not made again
    again = asyncio.run(tts_pass(root, dry_run=True))
    assert again["generate"] == [] and again["land"] == []
    asyncio.run(review("revert"))  # both files back, at once
    assert (root / SCENARIO_PATH).read_text() == second_text
    assert (root / "project.json").read_bytes() == project_before


def test_a_take_is_selected_per_line_and_undone(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    _, first, _, second = two_versions(root)
    with door(root, "test") as d:
        out = d.call("tts.select", {"line": "l_2", "take": first["l_2"][:8]})
    assert out["change"]["summary"]
    assert shown(root)["l_2"] == first["l_2"]
    l2 = next(ln for ln in out["takes"] if ln["line"] == "l_2")
    assert [t["take"] == first["l_2"] for t in l2["takes"] if t["current"]] == [True]
    # The clip took the first take's length, and l_3 followed its end.
    project = ProjectDir(root).load()
    clips = line_clips(project)
    c2, a2 = clips["l_2"]
    assert a2.media is not None and c2.duration == a2.media.duration_frames
    assert clips["l_3"][0].start == c2.start + c2.duration
    with Session(root) as s:
        s.undo()
    assert shown(root)["l_2"] == second["l_2"]


def test_a_take_that_is_not_the_lines_is_refused_in_one_line(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    asyncio.run(tts_pass(root))
    before = (root / "project.json").read_bytes()
    other = shown(root)["l_1"]
    with door(root, "test") as d:
        for line, take, said in [
            ("l_2", other[:8], "names no take of line l_2"),
            ("l_9", other[:8], "line 'l_9' has no clip"),
        ]:
            try:
                d.call("tts.select", {"line": line, "take": take})
            except Exception as exc:
                assert said in str(exc) and "\n" not in str(exc)
            else:
                raise AssertionError("selected")
        out = d.call("tool", {"name": "tts_restore", "arguments": {"version": "abcd"}})
    assert not out["ok"] and "no scenario version abcd" in out["error"]
    assert (root / "project.json").read_bytes() == before
