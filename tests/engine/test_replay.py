"""Replaying a changeset's timeline ops from the project as it was before it: every step that
fits, and where and why it stops when the recorded ops no longer fit that project (a forced
apply over a user's edit, a text edit that renamed a clip, a broken base, an unreadable op)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from engine.changes.ledger import Ledger
from engine.changes.replay import Replay, read_replay, replay_steps
from engine.changes.store import FileChange
from engine.ops import Lift
from engine.projectfile import decode_project
from engine.session import Session
from engine.tools import run_tool

T = TypeVar("T")


def run(root: Path, fn: Callable[[Ledger], Awaitable[T]]) -> T:
    async def main() -> T:
        ledger = await Ledger.open(root)
        try:
            return await fn(ledger)
        finally:
            await ledger.close()

    return asyncio.run(main())


Call = tuple[str, dict[str, Any]] | Callable[[str], tuple[str, dict[str, Any]]]


def tools(root: Path, *calls: Call) -> int:
    """Run the tool calls into one new changeset (proposed, not applied); its id. A call may be
    a function of project.json as the changeset has it so far."""

    async def go(ledger: Ledger) -> int:
        cs = None
        for call in calls:
            if callable(call):
                text = await ledger.read(cs, "project.json")
                assert text is not None
                call = call(text)
            name, args = call
            out = await run_tool(ledger, name, args, changeset_id=cs)
            assert out["ok"], out
            cs = out["changeset"]
        assert cs is not None
        return int(cs)

    return run(root, go)


def replay_of(root: Path, cs: int) -> Replay:
    return run(root, lambda ledger: read_replay(ledger, cs))


def rename_clip(old: str, new: str) -> Callable[[str], tuple[str, dict[str, Any]]]:
    """A `text_replace_lines` call that changes a clip's id in project.json."""

    def call(project_json: str) -> tuple[str, dict[str, Any]]:
        lines = project_json.splitlines()
        line = next(i for i, text in enumerate(lines, 1) if text.strip() == f'"id": "{old}",')
        text = lines[line - 1].replace(old, new)
        return "text_replace_lines", {
            "path": "project.json",
            "first": line,
            "last": line,
            "text": text,
        }

    return call


def test_a_timeline_changeset_replays_step_by_step(demo_dir: Path) -> None:
    cs = tools(
        demo_dir,
        ("timeline_blade", {"at": 65}),
        ("timeline_move", {"clip_ids": ["c_12"], "by": 30}),
    )
    replay = replay_of(demo_dir, cs)
    assert replay.fits and replay.failed is None
    assert [(s.index, s.frame, s.fits, s.error) for s in replay.steps] == [
        (1, 65, True, None),  # a cut: its own frame
        (2, 270, True, None),  # a move: where the moved clip starts now
    ]
    assert replay.steps[0].summary == "cut 4 clip(s) at 00:00:02:05"
    assert replay.steps[1].summary == "moved Still (c_12) from 00:00:08:00 to 00:00:09:00"
    assert replay.steps[1].op == {
        "op": "move",
        "clip_ids": ["c_12"],
        "by": 30,
        "to": None,
        "track": None,
        "mode": "overwrite",
    }
    # Each step's project is the timeline after it; the last one is what the changeset proposes.
    first, last = (s.project for s in replay.steps)
    assert first is not None and last is not None
    assert sum(len(t.clips) for t in first.tracks) == 6 + 4
    files = run(demo_dir, lambda ledger: ledger.store.files(cs))
    proposed = next(f.after_text for f in files if f.path == "project.json")
    assert proposed is not None and last == decode_project(proposed.encode())
    assert replay.rate == decode_project((demo_dir / "project.json").read_bytes()).rate
    assert replay.to_json() == {
        "id": cs,
        "steps": [
            {
                "index": s.index,
                "summary": s.summary,
                "op": s.op,
                "frame": s.frame,
                "fits": True,
                "error": None,
            }
            for s in replay.steps
        ],
        "fits": True,
    }


def test_a_clip_renamed_by_a_text_edit_stops_the_replay_at_the_move(demo_dir: Path) -> None:
    """Case (b): inside one changeset, a text edit renames c_12 to c_still and a timeline tool
    then moves c_still. The ops alone, replayed from before the changeset, find no c_still."""
    cs = tools(
        demo_dir,
        ("timeline_blade", {"at": 65}),
        rename_clip("c_12", "c_still"),
        ("timeline_move", {"clip_ids": ["c_still"], "by": 30}),
        ("timeline_lift", {"clip_ids": ["c_13"]}),
    )
    replay = replay_of(demo_dir, cs)
    assert not replay.fits
    assert replay.failed is replay.steps[1]
    assert [(s.index, s.fits) for s in replay.steps] == [(1, True), (2, False), (3, False)]
    assert replay.steps[0].project is not None
    error = replay.steps[1].error
    assert error is not None and "c_still" in error
    assert replay.steps[1].project is None
    assert replay.steps[2].error == "not replayed: step 2/3 does not fit"
    assert replay.steps[2].summary == "lifted 1 clip(s)" and replay.steps[2].project is None
    assert replay.to_json()["fits"] is False


def test_a_forced_apply_over_a_users_edit_stops_the_replay(demo_dir: Path) -> None:
    """Case (a): the user lifts c_12 after the agent proposed moving it; forcing the changeset
    rebases its project.json onto the user's version, where c_12 is gone."""
    cs = tools(demo_dir, ("timeline_move", {"clip_ids": ["c_12"], "by": 30}))
    assert replay_of(demo_dir, cs).fits
    with Session(demo_dir, purpose="reelcut edit") as session:
        session.apply(Lift(clip_ids=("c_12",)))
    users = (demo_dir / "project.json").read_text()

    async def force(ledger: Ledger) -> Replay:
        await ledger.apply(cs, force=True)
        return await read_replay(ledger, cs)

    replay = run(demo_dir, force)
    files = run(demo_dir, lambda ledger: ledger.store.files(cs))
    assert next(f.before_text for f in files if f.path == "project.json") == users
    (step,) = replay.steps
    assert not step.fits and step.project is None
    assert step.error is not None and "c_12" in step.error
    assert step.summary == "moved Still (c_12) from 00:00:08:00 to 00:00:09:00"


def test_a_broken_project_before_the_changeset_is_the_reason(demo_dir: Path) -> None:
    """Forced over a project.json someone broke: the base itself is not a project."""
    cs = tools(
        demo_dir,
        ("timeline_blade", {"at": 65}),
        ("timeline_move", {"clip_ids": ["c_12"], "by": 30}),
    )
    (demo_dir / "project.json").write_text('{"name": "half a project"\n')
    run(demo_dir, lambda ledger: ledger.apply(cs, force=True))
    replay = replay_of(demo_dir, cs)
    first, second = replay.steps
    assert first.error is not None
    assert first.error.startswith("project.json before the changeset is not a valid project: ")
    assert "project.json: " not in first.error  # the file is named once
    assert first.frame == 65 and not first.fits  # a cut still says where it was
    assert second.error == "not replayed: step 1/2 does not fit" and second.frame is None
    assert replay.rate is None


def recorded(op: Any, summary: str) -> dict[str, Any]:
    """A tool event as `ChangeStore.tool_events` returns it, with a timeline op in its meta."""
    return {
        "tool": "timeline_blade",
        "args": {},
        "audit": {"before": {}, "after": {}, "meta": {"op": op, "summary": summary}},
        "ok": True,
        "error": None,
    }


def project_change(before: str | None) -> FileChange:
    return FileChange(1, 1, "project.json", None, None, before, before, "", 0, 0)


def test_a_malformed_op_is_the_reason(demo_dir: Path) -> None:
    before = (demo_dir / "project.json").read_text()
    events = [
        recorded({"op": "blade", "at": 30, "clip_ids": []}, "cut at 1 s"),
        recorded({"op": "warp", "speed": 2}, "warped"),
        recorded({"op": "blade", "at": 60, "clip_ids": []}, "cut at 2 s"),
    ]
    replay = replay_steps(1, [project_change(before)], events)
    assert [s.fits for s in replay.steps] == [True, False, False]
    error = replay.steps[1].error
    assert error is not None and error.startswith("the recorded op cannot be read: ")
    assert replay.steps[2].error == "not replayed: step 2/3 does not fit"
    assert replay.steps[2].frame == 60  # readable, so it still says where it would be


def test_nothing_to_replay(demo_dir: Path) -> None:
    """A text-only changeset, and failed timeline calls, leave no steps."""
    failed = {**recorded({"op": "blade", "at": 30, "clip_ids": []}, "cut"), "ok": False}
    text_only = {**recorded(None, ""), "audit": {"before": {}, "after": {}, "meta": {}}}
    replay = replay_steps(3, [project_change(None)], [failed, text_only])
    assert replay.steps == () and replay.fits and replay.failed is None
    assert replay.to_json() == {"id": 3, "steps": [], "fits": True}
    cs = tools(
        demo_dir, ("text_insert_lines", {"path": "scripts/script.md", "after": 0, "text": "x"})
    )
    assert replay_of(demo_dir, cs).steps == ()


def test_no_project_before_the_changeset_is_the_reason() -> None:
    events = [recorded({"op": "blade", "at": 30, "clip_ids": []}, "cut")]
    (step,) = replay_steps(1, [], events).steps
    assert (
        step.error
        == "project.json before the changeset is not a valid project: there was no project.json"
    )
