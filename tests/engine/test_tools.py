"""The tool API: arguments generated from each tool's own schema, invalid variants, audit-first
recording, composition inside one changeset, and timeline tools that always leave a valid
project."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import jsonschema
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import ops
from engine.changes.ledger import Ledger
from engine.model import Transform
from engine.projectfile import decode_project
from engine.timebase import MAX_FRAMES
from engine.tools import REGISTRY, run_tool
from engine.tools.timeline_tools import EDITS, FIELD_NOTES, TIMECODE_FIELDS, op_arguments
from engine.validate import problems

T = TypeVar("T")


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid under ``schema``, for the subset of JSON schema the tools use."""
    if "oneOf" in schema:
        return st.one_of([from_schema(s) for s in schema["oneOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum", -(10**6)), schema.get("maximum", 10**6))
    if kind == "number":
        open_low = "exclusiveMinimum" in schema
        low = schema["exclusiveMinimum"] if open_low else schema.get("minimum", -(10**6))
        high = schema.get("maximum", 10**6)
        return st.floats(low, high, exclude_min=open_low, allow_nan=False)
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        return st.text(
            min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 30), 30)
        )
    if kind == "array":
        return st.lists(
            from_schema(schema["items"]),
            min_size=schema.get("minItems", 0),
            max_size=min(schema.get("maxItems", 4), 4),
        )
    if kind == "object":
        required = set(schema.get("required", ()))
        props = schema["properties"]
        return st.fixed_dictionaries(
            {k: from_schema(v) for k, v in props.items() if k in required},
            optional={k: from_schema(v) for k, v in props.items() if k not in required},
        )
    raise AssertionError(f"schema not covered by this generator: {schema}")


EXPECTED_TOOLS = {
    "file_list",
    "file_read_slices",
    "text_search",
    "text_replace_lines",
    "text_insert_lines",
    "file_create",
    "timeline_read",
    "timeline_insert",
    "timeline_overwrite",
    "timeline_blade",
    "timeline_move",
    "timeline_trim",
    "timeline_ripple_delete",
    "timeline_lift",
    "timeline_add_text",
    "timeline_set_audio",
    "timeline_set_transform",
    "asset_list",
    "transcript_read",
    "transcript_cut",
    "captions_place",
    "tts_generate",
    "jobs_wait",
    "transcribe",
    "export",
    "tts_restore",
}


def run(root: Path, fn: Callable[[Ledger], Awaitable[T]]) -> T:
    async def main() -> T:
        ledger = await Ledger.open(root)
        try:
            return await fn(ledger)
        finally:
            await ledger.close()

    return asyncio.run(main())


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".reelcut" not in p.parts
    }


def test_the_registry_has_every_tool_with_a_schema_and_a_description() -> None:
    assert set(REGISTRY) == EXPECTED_TOOLS
    for t in REGISTRY.values():
        assert t.schema["type"] == "object" and t.schema["additionalProperties"] is False
        assert len(t.description) > 20
        json.dumps(t.to_json())


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory, demo_master: Path) -> Path:
    """The demo's project.json and scripts only (no media needed for these tools)."""
    root = tmp_path_factory.mktemp("tools") / "p"
    root.mkdir()
    shutil.copy(demo_master / "project.json", root / "project.json")
    shutil.copytree(demo_master / "scripts", root / "scripts")
    return root


@pytest.mark.parametrize("name", sorted(EXPECTED_TOOLS))
def test_generated_arguments_give_a_result_or_a_structured_error(
    name: str, small_demo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    t = REGISTRY[name]

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(args=from_schema(t.schema))
    def check(args: dict[str, Any]) -> None:
        root = tmp_path_factory.mktemp("case") / "p"
        shutil.copytree(small_demo, root)
        before = snapshot(root)
        out = run(root, lambda ledger: run_tool(ledger, name, args))
        assert set(out) >= {"ok", "changeset"}
        assert snapshot(root) == before  # nothing is applied without --apply
        if not out["ok"]:
            assert isinstance(out["error"], str) and "\n" not in out["error"]
            assert out["changeset"] is None

            async def nothing_recorded(ledger: Ledger) -> None:
                assert await ledger.store.recent() == []

            run(root, nothing_recorded)
        elif t.writes and out["changeset"] is not None:
            for path, text in out["audit"]["after"].items():
                if path == "project.json":
                    assert problems(decode_project(text.encode())) == []

    check()


@pytest.mark.parametrize(
    ("name", "args", "needle"),
    [
        ("timeline_trim", {"clip_id": "c_10", "edge": "sideways"}, "$.edge"),
        ("timeline_blade", {}, 'missing the key "at"'),
        ("timeline_blade", {"at": -4}, "$.at"),
        ("file_create", {"path": "x.md", "text": "a", "extra": 1}, "Additional properties"),
        ("file_read_slices", {"path": 7}, "$.path"),
        ("text_insert_lines", {"path": "scripts/script.md", "after": "one", "text": ""}, "$.after"),
        ("file_read_slices", {"path": "../outside.md"}, "'..'"),
        ("file_create", {"path": ".reelcut/state.sqlite", "text": "x"}, ".reelcut"),
        ("timeline_lift", {"clip_ids": ["c_404"]}, "c_404"),
        ("nope", {}, "no tool 'nope'"),
    ],
)
def test_invalid_calls_are_recorded_and_change_nothing(
    small_demo: Path, tmp_path: Path, name: str, args: dict[str, Any], needle: str
) -> None:
    root = tmp_path / "p"
    shutil.copytree(small_demo, root)
    before = snapshot(root)

    async def go(ledger: Ledger) -> dict[str, Any]:
        # An unknown tool too: every call is on record, whatever became of it.
        out = await run_tool(ledger, name, args)
        assert out["ok"] is False and needle in out["error"], out
        events = await ledger.store.conn.execute_fetchall("SELECT tool, ok, error FROM tool_events")
        assert [(e[0], e[1]) for e in events] == [(name, 0)]
        assert await ledger.store.recent() == []
        return out

    run(root, go)
    assert snapshot(root) == before


def test_edits_compose_in_one_changeset_and_the_audit_comes_first(
    small_demo: Path, tmp_path: Path
) -> None:
    root = tmp_path / "p"
    shutil.copytree(small_demo, root)
    script = (root / "scripts/script.md").read_text()

    async def go(ledger: Ledger) -> None:
        first = await run_tool(
            ledger,
            "text_replace_lines",
            {"path": "scripts/script.md", "first": 1, "last": 1, "text": "# Retitled"},
        )
        cs = first["changeset"]
        assert first["audit"]["before"]["scripts/script.md"] == script
        second = await run_tool(
            ledger,
            "text_insert_lines",
            {"path": "scripts/script.md", "after": 1, "text": "A new second line."},
            changeset_id=cs,
        )
        # The second call saw the first one's text through the overlay.
        assert second["audit"]["before"]["scripts/script.md"].startswith("# Retitled\n")
        cut = await run_tool(ledger, "timeline_blade", {"at": "00:00:04:00"}, changeset_id=cs)
        assert cut["ok"] and cut["audit"]["meta"]["op"] == {
            "op": "blade",
            "at": 120,
            "clip_ids": [],
        }
        moved = await run_tool(
            ledger, "timeline_move", {"clip_ids": ["c_12"], "by": 30}, changeset_id=cs
        )
        assert moved["result"]["summary"] == "moved Still (c_12) from 00:00:08:00 to 00:00:09:00"
        files = await ledger.store.files(cs)
        assert [f.path for f in files] == ["scripts/script.md", "project.json"]
        events = await ledger.store.tool_events(cs)
        assert [e["tool"] for e in events] == [
            "text_replace_lines",
            "text_insert_lines",
            "timeline_blade",
            "timeline_move",
        ]
        assert (root / "scripts/script.md").read_text() == script  # still only proposed
        await ledger.apply(cs)

    run(root, go)
    lines = (root / "scripts/script.md").read_text().splitlines()
    assert lines[:2] == ["# Retitled", "A new second line."]
    project = decode_project((root / "project.json").read_bytes())
    assert problems(project) == []
    assert {c.id: c.start for t in project.tracks for c in t.clips}["c_12"] == 270


def test_read_tools_see_the_changeset(small_demo: Path, tmp_path: Path) -> None:
    root = tmp_path / "p"
    shutil.copytree(small_demo, root)

    async def go(ledger: Ledger) -> None:
        made = await run_tool(ledger, "file_create", {"path": "scripts/notes.md", "text": "hi\n"})
        cs = made["changeset"]
        listed = await run_tool(ledger, "file_list", {"under": "scripts"}, changeset_id=cs)
        assert "scripts/notes.md" in listed["result"]["files"]
        found = await run_tool(ledger, "text_search", {"pattern": "^hi$"}, changeset_id=cs)
        assert found["result"]["matches"] == ["scripts/notes.md:1: hi"]
        outside = await run_tool(ledger, "file_list", {"under": "scripts"})
        assert "scripts/notes.md" not in outside["result"]["files"]
        read = await run_tool(
            ledger,
            "file_read_slices",
            {"path": "scripts/notes.md", "ranges": [[1, 1]]},
            changeset_id=cs,
        )
        assert read["result"]["slices"][0]["text"] == "     1| hi\n"

    run(root, go)


def test_apply_flag_applies_and_a_stale_base_is_refused(small_demo: Path, tmp_path: Path) -> None:
    root = tmp_path / "p"
    shutil.copytree(small_demo, root)

    async def go(ledger: Ledger) -> None:
        out = await run_tool(ledger, "timeline_lift", {"clip_ids": ["c_12"]}, apply=True)
        assert out["applied"] is True
        assert "c_12" not in (root / "project.json").read_text()

    run(root, go)


@given(st.data())
@settings(max_examples=5, deadline=None)
def test_schemas_accept_what_the_descriptions_promise(data: st.DataObject) -> None:
    from engine.tools.registry import check_arguments

    t = REGISTRY["timeline_move"]
    assert check_arguments(t, {"clip_ids": ["c_1"], "by": "-00:00:01:00"})
    assert check_arguments(t, {"clip_ids": ["c_1"], "to": 150, "mode": "insert"})
    data.draw(st.just(None))


# -- timeline tools take their op's fields -------------------------------------------------------


def _struct_schema(op: type[ops.Op]) -> dict[str, Any]:
    """The op struct's own object schema, as msgspec writes it."""
    generated = msgspec.json.schema(op)
    struct: dict[str, Any] = generated["$defs"][generated["$ref"].removeprefix("#/$defs/")]
    return struct


def _stated(field: dict[str, Any]) -> dict[str, Any]:
    """What a field's schema says about the values' kind: type, enum, item type; the null of an
    optional field (left out instead) aside."""
    branches = [b for b in field.get("anyOf", [field]) if b != {"type": "null"}]
    (field,) = branches
    out: dict[str, Any] = {k: field[k] for k in ("type", "enum") if k in field}
    if "items" in field:
        out["items"] = _stated(field["items"])
    return out


def test_every_timeline_edit_tool_names_its_op() -> None:
    writing = {name for name, t in REGISTRY.items() if name.startswith("timeline_") and t.writes}
    assert writing == set(EDITS)


@pytest.mark.parametrize("name", sorted(EDITS))
def test_an_edit_tool_takes_exactly_its_ops_fields(name: str) -> None:
    """Properties and required list are the op struct's (without its "op" tag); each field's
    type and enum are the op's, except where `TIMECODE_FIELDS` lets a frame count be timecode."""
    op, _description = EDITS[name]
    struct = _struct_schema(op)
    fields = {k: v for k, v in struct["properties"].items() if k != "op"}
    schema = REGISTRY[name].schema
    assert list(schema["properties"]) == list(fields)
    assert schema["required"] == [k for k in struct["required"] if k != "op"]
    for field, want in fields.items():
        got = schema["properties"][field]
        if field in TIMECODE_FIELDS:  # the documented override: frames, or timecode
            assert _stated(want) == {"type": "integer"}, field
            assert {"type": "integer"}.items() <= got["oneOf"][0].items(), field
            assert got["oneOf"][1]["type"] == "string", field
        else:
            assert _stated(got) == _stated(want), field
    jsonschema.Draft202012Validator.check_schema(schema)
    assert "$ref" not in json.dumps(schema) and "op" not in schema["properties"]


def test_field_notes_only_describe_and_narrow() -> None:
    """`FIELD_NOTES` may not change a field's kind: that stays the op struct's."""
    narrowing = {"description", "pattern", "minLength", "maxLength", "minimum", "maximum"}
    for field, notes in FIELD_NOTES.items():
        assert set(notes) <= narrowing | {"minItems", "maxItems", "items"}, field
        assert set(notes.get("items", {})) <= narrowing, field


class _Louder(ops.Blade, frozen=True, tag="louder"):
    """A made-up op: Blade with a bounded field and a nested struct added."""

    gain: Annotated[int, msgspec.Meta(ge=0, le=10)] = 5
    transform: Transform | None = None


def test_a_field_added_to_an_op_reaches_its_tool_with_its_bounds() -> None:
    schema = op_arguments(_Louder)
    assert list(schema["properties"]) == ["at", "clip_ids", "gain", "transform"]
    assert schema["properties"]["gain"] == {
        "type": "integer",
        "minimum": 0,
        "maximum": 10,
        "default": 5,
    }
    # The nested struct is written out in place ($ref resolved), without its null.
    transform = schema["properties"]["transform"]
    assert transform["type"] == "object" and transform["properties"]["opacity"]["maximum"] == 1
    assert "$ref" not in json.dumps(schema) and "$defs" not in schema
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"at": 3, "gain": 10, "transform": {"opacity": 0.5}})
    assert not validator.is_valid({"at": 3, "gain": 11})
    assert not validator.is_valid({"at": 3, "transform": None})
    assert not validator.is_valid({"at": 3, "op": "louder"})


@pytest.mark.parametrize(("with_audio", "audio_clips"), [(True, 2), (False, 1)])
def test_insert_takes_with_audio_from_its_op(
    small_demo: Path, tmp_path: Path, with_audio: bool, audio_clips: int
) -> None:
    """Regression: the hand-written schema had no with_audio, so a tool call always brought a
    video's audio. a_3 is the demo's video with sound (a_4), already once on the timeline."""
    root = tmp_path / "p"
    shutil.copytree(small_demo, root)
    args = {"asset_id": "a_3", "at": 400, "duration": 30, "with_audio": with_audio}

    async def go(ledger: Ledger) -> None:
        out = await run_tool(ledger, "timeline_overwrite", args)
        assert out["ok"], out
        assert out["audit"]["meta"]["op"]["with_audio"] is with_audio
        project = decode_project(out["audit"]["after"]["project.json"].encode())
        placed = [c for t in project.tracks for c in t.clips if c.asset_id == "a_4"]
        assert len(placed) == audio_clips

    run(root, go)


@pytest.mark.parametrize("duration", [30, "00:00:01:00"])
def test_a_duration_is_frames_or_timecode(
    small_demo: Path, tmp_path: Path, duration: int | str
) -> None:
    """Regression: the hand-written duration was oneOf(integer >= 1, position), and a whole
    number of frames matched both, so every integer duration was refused."""
    root = tmp_path / "p"
    shutil.copytree(small_demo, root)

    async def go(ledger: Ledger) -> None:
        out = await run_tool(
            ledger, "timeline_add_text", {"text": "Hi", "at": 400, "duration": duration}
        )
        assert out["ok"], out
        assert out["audit"]["meta"]["op"]["duration"] == 30

    run(root, go)


def test_a_position_beyond_the_longest_timeline_is_refused(
    small_demo: Path, tmp_path: Path
) -> None:
    """The frame bounds are the op struct's type (`engine.ops.base.Frame`), so the tool's schema
    refuses the call before the op is built; a whole number written as a float is no integer."""
    root = tmp_path / "p"
    shutil.copytree(small_demo, root)

    async def go(ledger: Ledger) -> None:
        out = await run_tool(ledger, "timeline_blade", {"at": 10**30})
        assert not out["ok"] and f"from 0 to {MAX_FRAMES}" in out["error"], out
        for at in (1e29, 120.0):
            out = await run_tool(ledger, "timeline_blade", {"at": at})
            assert not out["ok"] and "expected a frame number" in out["error"], out
        assert await ledger.store.recent() == []

    run(root, go)


def test_replaying_the_audit_log_reproduces_the_files(small_demo: Path, tmp_path: Path) -> None:
    """RELIABILITY's ledger invariant: the recorded tool calls, replayed in order from the
    first call's `before`, give the files byte for byte, and every applied changeset's after
    hashes are the files' current hashes."""
    root = tmp_path / "p"
    shutil.copytree(small_demo, root)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("timeline_blade", {"at": "00:00:04:00"}),
        ("text_replace_lines", {"path": "scripts/script.md", "first": 1, "last": 1, "text": "# A"}),
        ("timeline_move", {"clip_ids": ["c_12"], "by": 15}),
        ("file_create", {"path": "scripts/notes.md", "text": "n\n"}),
        ("text_insert_lines", {"path": "scripts/notes.md", "after": 1, "text": "more"}),
    ]

    async def go(ledger: Ledger) -> None:
        cs = None
        for i, (name, args) in enumerate(calls):
            out = await run_tool(ledger, name, args, changeset_id=cs)
            assert out["ok"], out
            cs = out["changeset"]
            if i == 2:  # two changesets: the first three calls, then the rest
                await ledger.apply(cs)
                cs = None
        assert cs is not None
        await ledger.apply(cs)
        replay: dict[str, str | None] = {}
        for c in await ledger.store.recent():
            for event in await ledger.store.tool_events(c.id):
                for path, text in event["audit"]["before"].items():
                    replay.setdefault(path, text)
        for c in sorted(await ledger.store.recent(), key=lambda c: c.applied_order or 0):
            assert c.status == "applied"
            for event in await ledger.store.tool_events(c.id):
                for path, text in event["audit"]["after"].items():
                    assert replay[path] == event["audit"]["before"][path]  # a chain, no gaps
                    replay[path] = text
        for path, text in replay.items():
            on_disk = root / path
            assert on_disk.read_text() == text
        from engine.changes.ledger import sha256

        last_after: dict[str, str | None] = {}
        for c in sorted(await ledger.store.recent(), key=lambda c: c.applied_order or 0):
            for fc in await ledger.store.files(c.id):
                last_after[fc.path] = fc.after_hash
        for path, digest in last_after.items():
            assert sha256((root / path).read_bytes()) == digest

    run(root, go)


# -- bounds on the file tools: a model supplies the arguments and reads every result -----------


def test_text_search_without_under_skips_media_and_finds_the_script(demo_dir: Path) -> None:
    """Regression: the search read every listed file, media too, and the first mp4 (not UTF-8)
    failed the whole call."""
    from engine.tools.file_tools import MAX_SEARCH_BYTES

    media = [p for p in (demo_dir / "assets").iterdir() if p.is_file()]
    large = sum(p.stat().st_size > MAX_SEARCH_BYTES for p in media)
    assert media and large  # the demo has media, and at least one file over the size limit

    async def go(ledger: Ledger) -> None:
        out = await run_tool(ledger, "text_search", {"pattern": "Cut with the keyboard"})
        assert out["ok"], out
        (match,) = out["result"]["matches"]
        assert match.startswith("scripts/script.md:") and "Cut with the keyboard" in match
        assert out["result"]["skipped"] == {"binary": len(media) - large, "too_large": large}

    run(demo_dir, go)


@pytest.mark.timeout(60)  # today's `re` would run for hours; fail visibly instead
def test_a_catastrophic_pattern_is_stopped_with_an_error_and_the_loop_stays_free(
    small_demo: Path, tmp_path: Path
) -> None:
    root = tmp_path / "p"
    shutil.copytree(small_demo, root)
    (root / "scripts" / "long.md").write_text("a" * 5000 + "b\n")

    async def go(ledger: Ledger) -> None:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        beat = asyncio.create_task(ticker())
        start = time.monotonic()
        try:
            out = await run_tool(ledger, "text_search", {"pattern": "(a+)+$"})
        finally:
            beat.cancel()
        assert time.monotonic() - start < 15
        assert not out["ok"]
        assert "the pattern took longer than 2 s (catastrophic backtracking?)" in out["error"]
        assert "simplify it" in out["error"]
        assert ticks >= 5  # the event loop ran while the pattern did

    run(root, go)


def _wide_file(root: Path, lines: int, width: int) -> str:
    """scripts/wide.md: numbered lines of ``width`` characters."""
    (root / "scripts" / "wide.md").write_text(
        "".join(f"{n:05d} " + "x" * (width - 6) + "\n" for n in range(1, lines + 1))
    )
    return "scripts/wide.md"


def test_a_wide_read_is_paged_at_the_cap_and_reads_on_from_next_line(
    small_demo: Path, tmp_path: Path
) -> None:
    from engine.tools.file_tools import MAX_READ_CHARS

    root = tmp_path / "p"
    shutil.copytree(small_demo, root)
    path = _wide_file(root, 5000, 1000)  # 5 MB
    ranges = [[1 + 250 * i, 250 * (i + 1)] for i in range(20)]

    async def go(ledger: Ledger) -> None:
        out = await run_tool(ledger, "file_read_slices", {"path": path, "ranges": ranges})
        assert out["ok"], out
        page = out["result"]
        assert sum(len(s["text"]) for s in page["slices"]) <= MAX_READ_CHARS
        assert page["truncated"] is True
        n = page["next_line"]
        assert page["slices"] == [page["slices"][0]] and page["slices"][0]["last"] == n - 1
        assert page["slices"][0]["text"].splitlines()[-1].startswith(f"{n - 1:>6}| {n - 1:05d} ")
        assert page["unread_ranges"] == [[n, 250], *ranges[1:]]

        more = await run_tool(
            ledger, "file_read_slices", {"path": path, "ranges": page["unread_ranges"]}
        )
        assert more["ok"], more
        first = more["result"]["slices"][0]
        assert first["first"] == n
        assert first["text"].startswith(f"{n:>6}| {n:05d} ")

    run(root, go)


def test_a_read_without_ranges_pages_by_lines(small_demo: Path, tmp_path: Path) -> None:
    from engine.tools.file_tools import MAX_READ_LINES

    root = tmp_path / "p"
    shutil.copytree(small_demo, root)
    path = _wide_file(root, MAX_READ_LINES + 100, 20)

    async def go(ledger: Ledger) -> None:
        out = await run_tool(ledger, "file_read_slices", {"path": path})
        page = out["result"]
        assert page["slices"][0]["last"] == MAX_READ_LINES
        assert page["truncated"] is True and page["next_line"] == MAX_READ_LINES + 1
        assert page["unread_ranges"] == [[MAX_READ_LINES + 1, MAX_READ_LINES + 100]]

    run(root, go)


def test_a_line_longer_than_the_cap_is_cut_and_marked(small_demo: Path, tmp_path: Path) -> None:
    from engine.tools.file_tools import MAX_READ_CHARS

    root = tmp_path / "p"
    shutil.copytree(small_demo, root)
    (root / "scripts" / "one.md").write_text("y" * 200_000 + "\nsecond\n")

    async def go(ledger: Ledger) -> None:
        out = await run_tool(ledger, "file_read_slices", {"path": "scripts/one.md"})
        page = out["result"]
        (cut,) = page["slices"]
        assert (cut["first"], cut["last"]) == (1, 1)
        assert len(cut["text"]) <= MAX_READ_CHARS
        assert cut["text"].endswith("[line 1 cut: 200000 characters, the rest is not shown]\n")
        assert page["truncated"] is True and page["next_line"] == 2
        on = await run_tool(
            ledger, "file_read_slices", {"path": "scripts/one.md", "ranges": page["unread_ranges"]}
        )
        assert on["result"]["slices"][0]["text"] == "     2| second\n"
        assert on["result"]["truncated"] is False

    run(root, go)


def test_search_results_are_capped_in_size(small_demo: Path, tmp_path: Path) -> None:
    from engine.tools.file_tools import MAX_READ_CHARS

    root = tmp_path / "p"
    shutil.copytree(small_demo, root)
    _wide_file(root, 500, 1000)

    async def go(ledger: Ledger) -> None:
        out = await run_tool(
            ledger, "text_search", {"pattern": "x+$", "under": "scripts", "max_results": 500}
        )
        found = out["result"]
        assert 0 < sum(len(m) for m in found["matches"]) <= MAX_READ_CHARS
        assert found["truncated"] is True
        assert all(len(m) <= len("scripts/wide.md:500: ") + 200 for m in found["matches"])

    run(root, go)


def test_file_list_is_capped(small_demo: Path, tmp_path: Path) -> None:
    from engine.tools.file_tools import MAX_LIST_PATHS

    root = tmp_path / "p"
    shutil.copytree(small_demo, root)
    (root / "many").mkdir()
    for i in range(MAX_LIST_PATHS + 10):
        (root / "many" / f"{i}.txt").touch()

    async def go(ledger: Ledger) -> None:
        listed = (await run_tool(ledger, "file_list", {}))["result"]
        assert len(listed["files"]) == MAX_LIST_PATHS
        assert listed["truncated"] is True and listed["total"] > MAX_LIST_PATHS
        few = (await run_tool(ledger, "file_list", {"under": "scripts"}))["result"]
        assert few["truncated"] is False and len(few["files"]) == few["total"]

    run(root, go)


@pytest.mark.parametrize("kind", [".png", ".mp4"])
def test_reading_a_media_file_is_a_clear_error(demo_dir: Path, kind: str) -> None:
    (asset,) = [p for p in (demo_dir / "assets").iterdir() if p.suffix == kind]
    rel = asset.relative_to(demo_dir).as_posix()

    async def go(ledger: Ledger) -> None:
        out = await run_tool(ledger, "file_read_slices", {"path": rel})
        assert not out["ok"]
        assert f"{rel} is not a UTF-8 text file" in out["error"]
        assert "asset_list" in out["error"]  # what to use instead

    run(demo_dir, go)
