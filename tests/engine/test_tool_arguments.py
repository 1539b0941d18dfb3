"""Schema-true tool arguments (issue 25): what passes a tool's schema is what its handler and
its op can take. Integers are integers, frames stay within the longest timeline, nesting is
bounded before anything walks it, a changeset named by id exists, and an edit that changes
nothing records nothing. Each case here ended, before, in an internal error (exit 70) or in a
stored value the project could not hold."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from engine import ops
from engine.changes.ledger import Ledger
from engine.jsoncheck import MAX_DEPTH
from engine.model import Project
from engine.projectfile import decode_project
from engine.timebase import MAX_FRAMES
from engine.tools import REGISTRY, run_tool
from tests.engine.test_tools import run, snapshot


@pytest.fixture
def project(demo_master: Path, tmp_path: Path) -> Path:
    """The demo's project.json and scripts (no media: these tools do not read it)."""
    root = tmp_path / "p"
    root.mkdir()
    shutil.copy(demo_master / "project.json", root / "project.json")
    shutil.copytree(demo_master / "scripts", root / "scripts")
    return root


SCRIPT = "scripts/script.md"

# Each integer argument of the file tools, given as a whole number written with a fraction.
# JSON Schema takes 1.0 as an integer; the handlers then sliced lists with it (TypeError).
FLOAT_INTEGERS = [
    ("file_read_slices", {"path": SCRIPT, "ranges": [[1.0, 2]]}, "$.ranges[0][0]"),
    ("file_read_slices", {"path": SCRIPT, "ranges": [[1, 2.0]]}, "$.ranges[0][1]"),
    ("text_insert_lines", {"path": SCRIPT, "after": 1.0, "text": "x"}, "$.after"),
    ("text_replace_lines", {"path": SCRIPT, "first": 1.0, "last": 1, "text": "x"}, "$.first"),
    ("text_replace_lines", {"path": SCRIPT, "first": 1, "last": 1.0, "text": "x"}, "$.last"),
    ("text_search", {"pattern": "a", "max_results": 2.0}, "$.max_results"),
    ("timeline_blade", {"at": 120.0}, "$.at"),
    ("timeline_move", {"clip_ids": ["c_12"], "by": 15.0}, "$.by"),
    ("timeline_add_text", {"text": "Hi", "at": 400, "duration": 30, "size": 40.0}, "$.size"),
]


@pytest.mark.parametrize(("name", "args", "where"), FLOAT_INTEGERS)
def test_a_whole_number_written_as_a_float_is_not_an_integer(
    project: Path, name: str, args: dict[str, Any], where: str
) -> None:
    before = snapshot(project)

    async def go(ledger: Ledger) -> None:
        out = await run_tool(ledger, name, args)
        assert out["ok"] is False, out
        assert f"{where}: expected" in out["error"], out["error"]
        assert await ledger.store.recent() == []

    run(project, go)
    assert snapshot(project) == before


def test_the_same_calls_with_integers_run(project: Path) -> None:
    """The refusals above are about the type alone: the same values as integers are fine."""

    def integral(value: Any) -> Any:
        if isinstance(value, float):
            return int(value)
        if isinstance(value, list):
            return [integral(v) for v in value]
        return value

    async def go(ledger: Ledger) -> None:
        for name, args, _where in FLOAT_INTEGERS:
            fixed = {k: integral(v) for k, v in args.items()}
            out = await run_tool(ledger, name, fixed)
            assert out["ok"] is True, (name, out)

    run(project, go)


@pytest.mark.parametrize("value", [1e29, 10**30, MAX_FRAMES + 1, -(MAX_FRAMES + 1)])
def test_a_frame_beyond_the_longest_timeline_is_refused_by_the_schema(
    project: Path, value: int | float
) -> None:
    """Bounds live in the op structs' types, so every tool's schema carries them."""
    before = snapshot(project)

    async def go(ledger: Ledger) -> None:
        for name, args in (
            ("timeline_blade", {"at": value}),
            ("timeline_move", {"clip_ids": ["c_12"], "by": value}),
            ("timeline_move", {"clip_ids": ["c_12"], "to": value}),
            ("timeline_trim", {"clip_id": "c_12", "edge": "out", "to": value}),
            ("timeline_add_text", {"text": "Hi", "at": 400, "duration": value}),
        ):
            out = await run_tool(ledger, name, args)
            assert out["ok"] is False and "invalid arguments" in out["error"], (name, out)
        assert await ledger.store.recent() == []

    run(project, go)
    assert snapshot(project) == before


def test_the_schemas_show_the_frame_bounds() -> None:
    for name in ("timeline_blade", "timeline_move", "timeline_trim", "timeline_insert"):
        schema = REGISTRY[name].schema
        for field, prop in schema["properties"].items():
            if "oneOf" in prop:  # frames or timecode
                frames = prop["oneOf"][0]
                assert frames["type"] == "integer", (name, field)
                assert frames["maximum"] == MAX_FRAMES, (name, field)
                assert frames["minimum"] in (0, 1, -MAX_FRAMES), (name, field)


def test_a_recorded_batch_with_an_unbounded_frame_is_refused() -> None:
    """`reelcut edit --op-json` and the door take a batch of primitives, whose model structs
    have no upper bound: a marker at frame 10**30 went into project.json."""
    batch = (
        b'{"op": "batch", "steps": [{"p": "set_marker", "before": null, "after": '
        b'{"id": "mx", "frame": 1000000000000000000000000000000, "name": "x"}}]}'
    )
    with pytest.raises(ops.OpError, match=r"\$\.steps\[0\]\.after\.frame .* beyond the longest"):
        ops.decode_op(batch)
    fine = batch.replace(b"1000000000000000000000000000000", b"120")
    assert isinstance(ops.decode_op(fine), ops.Batch)


def test_arguments_nested_too_deeply_are_refused_and_recorded(project: Path) -> None:
    """Arguments from the door's socket or a model are decoded already; 30,000 levels of them
    ended in RecursionError when the call was checked and recorded."""
    deep: Any = []
    for _ in range(30_000):
        deep = [deep]

    async def go(ledger: Ledger) -> None:
        for args in ({"under": deep}, deep):
            out = await run_tool(ledger, "file_list", args)
            assert out["ok"] is False, out
            assert f"nested more than {MAX_DEPTH} levels" in out["error"], out["error"]
        events = await ledger.store.conn.execute_fetchall("SELECT ok, args_json FROM tool_events")
        assert [e[0] for e in events] == [0, 0]
        assert all(len(e[1]) < 200 for e in events)  # a placeholder, not the arguments

    run(project, go)


@pytest.mark.parametrize("changeset", [999, "7", True])
def test_a_changeset_that_does_not_exist_is_one_clear_refusal(
    project: Path, changeset: Any
) -> None:
    """`--changeset 999` ended in the database's IntegrityError: recording the refusal named
    the missing changeset."""
    before = snapshot(project)

    async def go(ledger: Ledger) -> None:
        for name, args in (
            ("file_list", {}),
            ("text_insert_lines", {"path": SCRIPT, "after": 0, "text": "x"}),
        ):
            out = await run_tool(ledger, name, args, changeset_id=changeset)
            assert out == {
                "ok": False,
                "error": f"no changeset {changeset}; `reelcut changes DIR list` shows them, or "
                "leave out --changeset to start a new one",
                "changeset": None,
            }
        events = await ledger.store.conn.execute_fetchall(
            "SELECT ok, changeset_id FROM tool_events"
        )
        assert events == [(0, None), (0, None)]
        assert await ledger.store.recent() == []

    run(project, go)
    assert snapshot(project) == before


# -- an edit that changes nothing records nothing ----------------------------------------------


def _demo(project: Path) -> Project:
    return decode_project((project / "project.json").read_bytes())


@pytest.mark.parametrize(
    "op",
    [
        ops.Nudge(("c_12",), by=0),
        ops.Move(("c_12",), by=0),
        ops.Move(("c_12",), to=240),
        ops.Move(("c_10",), by=0),  # a linked pair
        ops.SetMarks(),
        ops.SetMarks(clear=True),
        ops.SetTrackFlags("V1", locked=False),
        ops.ReorderTrack("V1", index=1),
        ops.EditMarker("Midpoint", at=120),
    ],
    ids=repr,
)
def test_an_op_that_changes_nothing_has_no_steps(project: Path, op: ops.Op) -> None:
    """The session records an undo step for an op with steps; `nudge --by 0` had two (a remove
    and an add of the same clip), and clearing marks that were not set had one."""
    p = _demo(project)
    assert [m.name for m in p.markers if m.frame == 120] == ["Midpoint"]
    result = op.apply(p)
    assert result.forward.steps == ()
    assert result.project == p


def test_an_op_that_changes_something_still_does(project: Path) -> None:
    p = _demo(project)
    for op in (
        ops.Nudge(("c_12",), by=1),
        ops.SetMarks(mark_in=5),
        ops.ReorderTrack("V1", index=0),
        ops.Move(("c_12",), by=0, mode="insert"),  # an insert-move pushes what follows
    ):
        result = op.apply(p)
        assert result.forward.steps, op
        assert result.project != p or isinstance(op, ops.Move), op


def test_a_timeline_tool_that_changes_nothing_proposes_nothing(project: Path) -> None:
    before = snapshot(project)

    async def go(ledger: Ledger) -> None:
        out = await run_tool(ledger, "timeline_move", {"clip_ids": ["c_12"], "by": 0})
        assert out["ok"] is True and out["changeset"] is None, out
        assert out["result"]["summary"].endswith("(no change)")
        assert await ledger.store.recent() == []

    run(project, go)
    assert snapshot(project) == before


def test_a_string_that_is_not_unicode_is_refused_before_anything_is_proposed(
    project: Path,
) -> None:
    """JSON lets an unpaired surrogate escape through as a string; proposing it raised
    UnicodeEncodeError (exit 70). A proper pair is a character like any other."""
    before = snapshot(project)

    async def go(ledger: Ledger) -> None:
        out = await run_tool(
            ledger, "text_insert_lines", {"path": SCRIPT, "after": 0, "text": "a\ud800"}
        )
        assert out["ok"] is False and "$.text: holds an unpaired surrogate" in out["error"]
        assert await ledger.store.recent() == []
        out = await run_tool(
            ledger, "text_insert_lines", {"path": SCRIPT, "after": 0, "text": "a\U0001f600"}
        )
        assert out["ok"] is True, out

    run(project, go)
    assert snapshot(project) == before  # proposed, not applied
