"""project.json on disk: golden bytes, bad input, hand edits and schema upgrades.

Every bad file must give one ``ProjectInvalid`` line naming the file (and the JSON path where
there is one), and loading must leave the project folder byte-for-byte as it was.
"""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from engine import model, schema
from engine import projectfile as store
from engine.errors import ProjectInvalid
from engine.model import SCHEMA_VERSION, Project
from engine.projectdir import ProjectDir
from engine.projectfile import (
    LAST_WRITE_FILE,
    PROJECT_FILE,
    decode_project,
    encode_project,
    load_project,
    save_project,
    written_by_us,
)
from engine.session import Session
from engine.timebase import Rate
from tests.engine.timelines import timeline

GOLDEN = Path(__file__).parent / "golden" / "project_v2.json"
"""The current schema's golden file; every field of every struct is set somewhere in it."""
GOLDEN_V1 = Path(__file__).parent / "golden" / "project_v1.json"
"""A version-1 file (before ``Clip.audio``), kept as it was written then."""
REELCUT = Path(sys.executable).with_name("reelcut")


# -- golden file -------------------------------------------------------------------------------


def test_golden_file_round_trips_byte_for_byte() -> None:
    data = GOLDEN.read_bytes()
    project = decode_project(data, label="project_v2.json")
    assert encode_project(project) == data


def test_a_version_1_file_opens_as_the_same_timeline_without_audio_settings(
    tmp_path: Path,
) -> None:
    """v1 had no ``Clip.audio`` nor ``Marker.note``: its clips read as unity gain without
    fades, its markers without notes, the file is not rewritten by opening it, and the next
    save writes version 2."""
    v1 = decode_project(GOLDEN_V1.read_bytes(), label="project_v1.json")
    v2 = decode_project(GOLDEN.read_bytes())
    assert v1.schema_version == SCHEMA_VERSION == 2
    assert all(c.audio is None for t in v1.tracks for c in t.clips)
    without_audio = tuple(
        msgspec.structs.replace(
            t, clips=tuple(msgspec.structs.replace(c, audio=None) for c in t.clips)
        )
        for t in v2.tracks
    )
    without_notes = tuple(msgspec.structs.replace(m, note="") for m in v2.markers)
    assert v1.markers and all(m.note == "" for m in v1.markers)
    assert (
        msgspec.structs.replace(v2, name="Golden — v1", tracks=without_audio, markers=without_notes)
        == v1
    )
    (tmp_path / PROJECT_FILE).write_bytes(GOLDEN_V1.read_bytes())
    assert load_project(tmp_path) == v1
    assert (tmp_path / PROJECT_FILE).read_bytes() == GOLDEN_V1.read_bytes()
    assert save_project(tmp_path, v1).startswith(b'{\n  "schema_version": 2,')


def test_a_version_2_file_is_refused_by_name_not_by_field_when_too_new() -> None:
    """What an older reelcut (schema 1) says about a v2 file: its version, not "unknown field
    audio" (the reason the version moved with a field that needs no upgrade)."""
    older = schema.Upgrades("project", current=1)
    with pytest.raises(ProjectInvalid, match="schema version 2 is newer than this reelcut"):
        older.upgrade(json.loads(GOLDEN.read_bytes()), label="project.json")


def test_a_file_that_carries_the_view_loads_it_and_a_save_leaves_it_out() -> None:
    """Files written before the view moved to the state database carry ``editor``: it is read
    (the session's first open takes it as the view) and the next save leaves it out, so the
    playhead is never part of the timeline's bytes or hash."""
    doc = json.loads(GOLDEN.read_bytes())
    doc["editor"] = {"playhead": 42, "frames_per_cell": 8, "selection": ["c_10"], "tool": "blade"}
    project = decode_project(json.dumps(doc, ensure_ascii=False).encode())
    assert (project.editor.playhead, project.editor.selection) == (42, ("c_10",))
    assert encode_project(project) == GOLDEN.read_bytes()
    assert b'"editor"' not in GOLDEN.read_bytes()


def test_golden_file_loads_from_a_project_folder(tmp_path: Path) -> None:
    (tmp_path / PROJECT_FILE).write_bytes(GOLDEN.read_bytes())
    project = load_project(tmp_path)
    assert project.name == "Golden — v2"
    assert project.rate == Rate(30000, 1001)
    assert [t.name for t in project.tracks] == ["V2", "V1", "A1", "A2"]


def _structs(value: Any) -> Iterator[msgspec.Struct]:
    if isinstance(value, msgspec.Struct):
        yield value
        for name in value.__struct_fields__:
            yield from _structs(getattr(value, name))
    elif isinstance(value, tuple):
        for item in value:
            yield from _structs(item)


def _model_structs() -> set[type[msgspec.Struct]]:
    found = {
        obj
        for obj in vars(model).values()
        if isinstance(obj, type)
        and issubclass(obj, msgspec.Struct)
        and obj.__module__ == model.__name__
        and obj.__struct_fields__
    }
    return found | {Rate}


def test_golden_file_exercises_every_field_of_every_struct() -> None:
    """Each field of each model struct holds a non-default value somewhere in the golden file,
    so a new field (or a changed default) cannot slip past the byte-for-byte round trip. The
    view (``Project.editor``) is not written to the file; the session saves it, so it is
    exempt (`test_a_file_that_carries_the_view_loads_it_and_a_save_leaves_it_out`), and so are
    the bin items' source marks (``SourceMarks``), which live beside the view in the state
    database (`engine.source_marks`, tests/tui/test_source_marks.py)."""
    project = decode_project(GOLDEN.read_bytes())
    missing = []
    exempt = {"EditorState", "Project.editor", "SourceMarks"}
    for cls in sorted(_model_structs(), key=lambda c: c.__name__):
        if cls.__name__ in exempt:
            continue
        instances = [s for s in _structs(project) if type(s) is cls]
        if not instances:
            missing.append(cls.__name__)
            continue
        for field in msgspec.structs.fields(cls):
            if field.default is msgspec.NODEFAULT and field.default_factory is msgspec.NODEFAULT:
                continue
            default = (
                field.default if field.default is not msgspec.NODEFAULT else field.default_factory()  # type: ignore[misc]
            )
            if f"{cls.__name__}.{field.name}" in exempt:
                continue
            if all(getattr(s, field.name) == default for s in instances):
                missing.append(f"{cls.__name__}.{field.name}")
    assert missing == [], f"extend tests/engine/golden/project_v2.json to cover {missing}"


def _reorder_keys(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _reorder_keys(node[k]) for k in reversed(list(node))}
    if isinstance(node, list):
        return [_reorder_keys(v) for v in node]
    return node


def test_encoding_is_deterministic_whatever_the_input_key_order() -> None:
    data = GOLDEN.read_bytes()
    project = decode_project(data)
    assert encode_project(project) == encode_project(project)
    shuffled = json.dumps(_reorder_keys(json.loads(data)), ensure_ascii=True).encode()
    assert shuffled != data
    assert encode_project(decode_project(shuffled)) == data


def test_encoding_is_canonical_text() -> None:
    """Declared key order, 2-space indent, UTF-8 text (not \\u escapes), one final newline."""
    data = encode_project(decode_project(GOLDEN.read_bytes()))
    assert data.endswith(b"}\n") and not data.endswith(b"\n\n")
    assert data.startswith(b'{\n  "schema_version": 2,\n  "id": "p_1",\n  "name": ')
    assert "Golden — v2".encode() in data
    assert b"\r" not in data


# -- bad input ---------------------------------------------------------------------------------

BASE = timeline({"V1": [(0, 10), (20, 10)], "A1": [(0, 10)]})
"""V1: c_10 [0,10) linked to A1's c_12, c_11 [20,30); assets a_1..a_4; next_id 113."""
BASE_TEXT = encode_project(BASE).decode()


def _text(old: str, new: str) -> Callable[[], bytes]:
    """Replace the first occurrence of ``old`` in the base file's text."""

    def make() -> bytes:
        assert old in BASE_TEXT, old
        return BASE_TEXT.replace(old, new, 1).encode()

    return make


def _doc(change: Callable[[dict[str, Any]], None]) -> Callable[[], bytes]:
    """Apply ``change`` to the base file as JSON data and write it out pretty-printed."""

    def make() -> bytes:
        doc = json.loads(BASE_TEXT)
        change(doc)
        return json.dumps(doc, indent=2, ensure_ascii=False).encode()

    return make


def _bytes(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def _clip(track: int, index: int, **fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda doc: doc["tracks"][track]["clips"][index].update(fields)


def _drop(*path: str | int) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        node: Any = doc
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return change


_BAD_UTF8 = BASE_TEXT.replace('"name": "V1.1"', '"name": "V1\udcff1"', 1).encode(
    "utf-8", "surrogateescape"
)
_DEEP = BASE_TEXT.replace('"name": "V1.0"', '"name": ' + "[" * 100_000 + "]" * 100_000, 1)
_DEEP_OBJECTS = BASE_TEXT.replace(
    '"name": "V1.0"', '"name": ' + '{"a":' * 50_000 + "1" + "}" * 50_000
)


def _line_of(data: bytes, needle: bytes) -> int:
    return data[: data.index(needle)].count(b"\n") + 1


_BAD_BYTE = _BAD_UTF8.index(b"\xff")
_BAD_LINE = _line_of(_BAD_UTF8, b"\xff")
_DURATION_LINE = _line_of(BASE_TEXT.encode(), b'"duration": 10')


BAD_INPUT: dict[str, tuple[Callable[[], bytes], list[str]]] = {
    "invalid UTF-8": (
        _bytes(_BAD_UTF8),
        [f"not valid UTF-8 at byte {_BAD_BYTE} (line {_BAD_LINE},"],
    ),
    "invalid UTF-8 after a type error": (
        _bytes(_BAD_UTF8.replace(b'"width": 1920', b'"width": "wide"')),
        ["not valid UTF-8 at byte"],
    ),
    "UTF-8 byte-order mark": (
        _bytes(b"\xef\xbb\xbf" + BASE_TEXT.encode()),
        ["byte-order mark"],
    ),
    "NaN": (
        _text('"duration": 10', '"duration": NaN'),
        ["not valid JSON", f"line {_DURATION_LINE}, column 23"],
    ),
    "Infinity": (_text('"start": 20', '"start": Infinity'), ["not valid JSON"]),
    "-Infinity": (_text('"start": 20', '"start": -Infinity'), ["not valid JSON"]),
    "number too large for a float": (
        _text('"start": 20', '"start": 1e999'),
        ["$.tracks[0].clips[1].start: number out of range"],
    ),
    "duplicate keys": (
        _text('"start": 20', '"start": 20, "start": 21'),
        ["$.tracks[0].clips[1]: the key 'start' appears more than once"],
    ),
    "duplicate top-level key": (
        _text('"name": "t"', '"name": "t", "name": "u"'),
        ["$: the key 'name' appears more than once"],
    ),
    "very deep nesting (arrays)": (_bytes(_DEEP.encode()), ["nested too deeply"]),
    "very deep nesting (objects)": (_bytes(_DEEP_OBJECTS.encode()), ["nested too deeply"]),
    "very deep nesting at the top": (
        _bytes(b"[" * 100_000 + b"]" * 100_000),
        ["nested too deeply"],
    ),
    "negative duration": (
        _doc(_clip(0, 0, duration=-5)),
        ["$.tracks[0].clips[0].duration: expected an integer >= 1, got -5"],
    ),
    "zero duration": (
        _doc(_clip(0, 0, duration=0)),
        ["$.tracks[0].clips[0].duration: expected an integer >= 1, got 0"],
    ),
    "negative start": (
        _doc(_clip(0, 1, start=-1)),
        ["$.tracks[0].clips[1].start: expected an integer >= 0, got -1"],
    ),
    "fades longer than the clip": (
        _doc(_clip(1, 0, audio={"gain_db": 0.0, "fade_in": 6, "fade_out": 5})),
        [
            "$.tracks[1].clips[0].audio: fades of clip c_12 (6 in + 5 out) are longer than "
            "the clip (10 frames)"
        ],
    ),
    "audio settings on a video track": (
        _doc(_clip(0, 1, audio={"gain_db": -3.0})),
        ["$.tracks[0].clips[1].audio: clip c_11 on video track V1 has audio settings"],
    ),
    "gain beyond +24 dB": (
        _doc(_clip(1, 0, audio={"gain_db": 30.0})),
        ["$.tracks[1].clips[0].audio.gain_db: expected a number <= 24.0, got 30.0"],
    ),
    "negative fade": (
        _doc(_clip(1, 0, audio={"fade_out": -1})),
        ["$.tracks[1].clips[0].audio.fade_out: expected an integer >= 0, got -1"],
    ),
    "overlapping clips": (
        _doc(_clip(0, 1, start=5)),
        ["$.tracks[0].clips[1].start: clip c_11 overlaps c_10 on V1 at 00:00:00:05"],
    ),
    "clips out of order": (
        _doc(lambda d: d["tracks"][0]["clips"].reverse()),
        ["$.tracks[0].clips[1].start: clip c_10 starts before c_11"],
    ),
    "clip referencing an unknown asset": (
        _doc(_clip(0, 1, asset_id="a_77")),
        ["$.tracks[0].clips[1].asset_id: asset 'a_77' does not exist"],
    ),
    "clip playing past the end of its media": (
        _doc(_clip(0, 1, source_in=9_995)),
        ["$.tracks[0].clips[1].duration: clip c_11 plays source frames 9995-10005"],
    ),
    "link that is not mutual": (
        _doc(_clip(1, 0, linked_id=None)),
        ["$.tracks[0].clips[0].linked_id: link to c_12 is not mutual"],
    ),
    "next_id not above the ids": (
        _doc(lambda d: d.update(next_id=12)),
        ["$.next_id: must be greater than every numeric id suffix; set it to 13"],
    ),
    "duplicate clip ids": (
        _doc(_clip(0, 1, id="c_10")),
        ["$.tracks[0].clips[1].id: id 'c_10' is already used at $.tracks[0].clips[0]"],
    ),
    "duplicate asset ids": (
        _doc(lambda d: d["assets"].append(dict(d["assets"][0]))),
        ["$.assets[4].id: id 'a_1' is already used at $.assets[0]"],
    ),
    "duplicate folder ids": (
        _doc(lambda d: d.update(folders=[{"id": "f_7", "name": "A"}, {"id": "f_7", "name": "B"}])),
        ["$.folders[1].id: id 'f_7' is already used at $.folders[0]"],
    ),
    "asset reusing a track id": (
        _doc(lambda d: d["assets"].append({"id": "t_2", "kind": "remotion", "name": "R"})),
        ["$.tracks[1].id: id 't_2' is already used at $.assets[4]"],
    ),
    "marker reusing a clip id": (
        _doc(lambda d: d["markers"].append({"id": "c_11", "frame": 3})),
        ["$.markers[0].id: id 'c_11' is already used by a clip"],
    ),
    "schema_version newer than the code": (
        _doc(lambda d: d.update(schema_version=SCHEMA_VERSION + 1)),
        [f"schema version {SCHEMA_VERSION + 1} is newer than this reelcut understands"],
    ),
    "schema_version not a number": (
        _doc(lambda d: d.update(schema_version="1")),
        ["$.schema_version: expected a positive integer, got '1'"],
    ),
    "schema_version missing": (
        _doc(_drop("schema_version")),
        ["$.schema_version: expected a positive integer"],
    ),
    "wrong type: string for an integer": (
        _doc(_clip(0, 1, start="20")),
        ["$.tracks[0].clips[1].start: expected an integer, got a string"],
    ),
    "wrong type: float for an integer": (
        _doc(_clip(0, 1, start=20.5)),
        ["$.tracks[0].clips[1].start: expected an integer, got a number"],
    ),
    "wrong type: integer for a boolean": (
        _doc(lambda d: d["tracks"][1].update(muted=0)),
        ["$.tracks[1].muted: expected a boolean, got an integer"],
    ),
    "wrong type: object for an array": (
        _doc(lambda d: d.update(tracks={})),
        ["$.tracks: expected an array, got an object"],
    ),
    "wrong type: top level is an array": (_bytes(b"[]"), ["$: expected an object, got an array"]),
    "enum value out of its set": (
        _doc(_clip(0, 0, kind="video")),
        ["$.tracks[0].clips[0].kind: invalid enum value 'video'"],
    ),
    "id with a path in it": (
        _doc(_clip(0, 1, id="../../etc")),
        ["$.tracks[0].clips[1].id: expected a string matching regex"],
    ),
    "unknown field": (
        _doc(_clip(0, 0, speed=2)),
        ['$.tracks[0].clips[0]: unknown field "speed"'],
    ),
    "missing required field": (
        _doc(_drop("tracks", 0, "clips", 0, "kind")),
        ['$.tracks[0].clips[0]: missing required field "kind"'],
    ),
    "frame rate with a zero denominator": (
        _doc(lambda d: d.update(rate={"num": 30, "den": 0})),
        ["$.rate.den: expected an integer >= 1, got 0"],
    ),
    "frame rate below one frame per second": (
        _doc(lambda d: d.update(rate={"num": 1, "den": 3})),
        ["$.rate: frame rate 1/3 is out of range"],
    ),
    "empty file": (_bytes(b""), ["the file is empty"]),
    "whitespace only": (_bytes(b" \n\t\n"), ["the file is empty"]),
    "truncated JSON": (_bytes(BASE_TEXT.encode()[: len(BASE_TEXT) // 2]), ["not valid JSON"]),
    "trailing garbage": (
        _bytes(BASE_TEXT.encode() + b"}"),
        ["not valid JSON", "trailing characters"],
    ),
}


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", list(BAD_INPUT), ids=list(BAD_INPUT))
def test_bad_project_json_is_one_clear_error_and_the_file_is_untouched(
    case: str, tmp_path: Path
) -> None:
    make, expected = BAD_INPUT[case]
    data = make()
    root = tmp_path / "proj"
    root.mkdir()
    (root / PROJECT_FILE).write_bytes(data)
    before = _snapshot(root)

    with pytest.raises(ProjectInvalid) as info:
        load_project(root)

    message = str(info.value)
    assert "\n" not in message, message
    assert message.startswith(f"{PROJECT_FILE}: "), message
    for fragment in expected:
        assert fragment in message, message
    assert _snapshot(root) == before


def test_the_matrix_base_itself_is_valid(tmp_path: Path) -> None:
    """Each bad-input case breaks exactly one thing in a file that otherwise loads."""
    (tmp_path / PROJECT_FILE).write_text(BASE_TEXT)
    assert load_project(tmp_path) == BASE


@pytest.mark.parametrize("case", ["negative duration", "duplicate keys", "invalid UTF-8"])
def test_opening_a_bad_project_for_writing_fails_without_writing(case: str, tmp_path: Path) -> None:
    root = tmp_path / "proj"
    ProjectDir.create(root, BASE)
    data = BAD_INPUT[case][0]()
    (root / PROJECT_FILE).write_bytes(data)

    with pytest.raises(ProjectInvalid):
        Session(root)

    assert (root / PROJECT_FILE).read_bytes() == data
    # The failed open released the writer lock.
    ProjectDir(root).writer("after").release()


def test_cli_reports_a_bad_project_in_one_line_with_exit_code_3(tmp_path: Path) -> None:
    (tmp_path / PROJECT_FILE).write_bytes(BAD_INPUT["negative duration"][0]())
    done = subprocess.run(
        [str(REELCUT), "info", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == ProjectInvalid.exit_code == 3
    assert done.stderr.splitlines() == [
        "reelcut: project.json: $.tracks[0].clips[0].duration: expected an integer >= 1, got -5"
    ]


def test_a_missing_project_json_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ProjectInvalid, match=r"no project\.json here"):
        load_project(tmp_path)
    assert list(tmp_path.iterdir()) == []


LAYOUTS: dict[str, Callable[[Any], bytes]] = {
    "compact": lambda doc: json.dumps(doc, separators=(",", ":")).encode(),
    "indent 4, ASCII escapes": lambda doc: json.dumps(doc, indent=4, ensure_ascii=True).encode(),
    "sorted keys": lambda doc: json.dumps(doc, indent=2, sort_keys=True).encode(),
    "CRLF line ends": lambda doc: json.dumps(doc, indent=2).replace("\n", "\r\n").encode(),
    "defaults left out": lambda doc: json.dumps(_without_defaults(doc)).encode(),
}


def _without_defaults(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for track in doc["tracks"]:
        for clip in track["clips"]:
            del clip["transform"], clip["text"]
        del track["locked"], track["muted"], track["solo"]
    doc.pop("editor", None)  # the view is not written to the file (engine.session saves it)
    return doc


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_a_valid_file_in_another_layout_loads(layout: str, tmp_path: Path) -> None:
    data = LAYOUTS[layout](json.loads(BASE_TEXT))
    assert data != BASE_TEXT.encode()
    (tmp_path / PROJECT_FILE).write_bytes(data)
    assert load_project(tmp_path) == BASE


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_a_repeated_key_is_found_in_any_layout(layout: str, tmp_path: Path) -> None:
    doc = json.loads(BASE_TEXT)
    data = LAYOUTS[layout](doc).replace(b'"V1.1"', b'"V1.1", "name": "V1.1"', 1)
    assert data.count(b'"name"') == LAYOUTS[layout](doc).count(b'"name"') + 1
    (tmp_path / PROJECT_FILE).write_bytes(data)

    with pytest.raises(ProjectInvalid) as info:
        load_project(tmp_path)

    assert str(info.value) == (
        "project.json: $.tracks[0].clips[1]: the key 'name' appears more than once"
    )


# -- hand edits and the hash of reelcut's own writes --------------------------------------------


def test_a_file_reelcut_wrote_then_edited_by_hand_is_validated_again(tmp_path: Path) -> None:
    save_project(tmp_path, BASE)
    written = (tmp_path / PROJECT_FILE).read_bytes()
    assert written_by_us(tmp_path, written)

    # A duplicate key only the full check sees: msgspec keeps the last value, which is valid.
    edited = written.replace(b'"name": "V1.0"', b'"name": "evil", "name": "V1.0"', 1)
    assert edited != written
    (tmp_path / PROJECT_FILE).write_bytes(edited)
    assert not written_by_us(tmp_path, edited)
    with pytest.raises(ProjectInvalid, match=r"\$\.tracks\[0\]\.clips\[0\]: the key 'name'"):
        load_project(tmp_path)
    # ...whereas the same bytes, if they had been reelcut's own, skip only that scan.
    assert decode_project(edited, trusted=True) == BASE
    assert (tmp_path / PROJECT_FILE).read_bytes() == edited


def test_a_valid_hand_edit_loads_untrusted(tmp_path: Path) -> None:
    save_project(tmp_path, BASE)
    edited = (tmp_path / PROJECT_FILE).read_bytes().replace(b'"V1.0"', b'"Opening shot"', 1)
    (tmp_path / PROJECT_FILE).write_bytes(edited)

    project = load_project(tmp_path)

    assert project.tracks[0].clips[0].name == "Opening shot"
    assert not written_by_us(tmp_path, edited)


@pytest.mark.parametrize(
    "case", ["overlapping clips", "negative duration", "next_id not above the ids"]
)
def test_trust_never_skips_the_invariants(case: str, tmp_path: Path) -> None:
    """Even a hash that matches the edited bytes (forged) cannot make a broken file load."""
    data = BAD_INPUT[case][0]()
    (tmp_path / PROJECT_FILE).write_bytes(data)
    (tmp_path / LAST_WRITE_FILE).parent.mkdir()
    (tmp_path / LAST_WRITE_FILE).write_text(hashlib.sha256(data).hexdigest() + "\n")
    assert written_by_us(tmp_path, data)

    with pytest.raises(ProjectInvalid):
        load_project(tmp_path)


def test_save_refuses_an_invalid_model(tmp_path: Path) -> None:
    save_project(tmp_path, BASE)
    before = _snapshot(tmp_path)
    broken = msgspec.structs.replace(BASE, next_id=2)

    with pytest.raises(ProjectInvalid, match=r"refusing to save an invalid project: \$\.next_id"):
        save_project(tmp_path, broken)

    assert _snapshot(tmp_path) == before


# -- schema upgrades ---------------------------------------------------------------------------


def _registry(current: int = 3) -> tuple[schema.Upgrades, list[int]]:
    """A private registry v1 -> v2 -> v3: v2 renames ``title`` to ``name``, v3 adds ``tags``."""
    upgrades = schema.Upgrades("test", current=current)
    calls: list[int] = []

    @upgrades.step(1)
    def _v1_to_v2(doc: schema.Document) -> schema.Document:
        calls.append(1)
        assert doc["schema_version"] == 1
        doc["name"] = doc.pop("title")
        return doc

    @upgrades.step(2)
    def _v2_to_v3(doc: schema.Document) -> schema.Document:
        calls.append(2)
        assert doc["schema_version"] == 2 and "name" in doc
        doc["tags"] = [doc["name"].lower()]
        return doc

    return upgrades, calls


def test_upgrade_steps_run_in_order_from_the_files_version() -> None:
    upgrades, calls = _registry()
    original = {"schema_version": 1, "title": "Trip"}

    doc = upgrades.upgrade(original, label="x.json")

    assert calls == [1, 2]
    assert doc == {"schema_version": 3, "name": "Trip", "tags": ["trip"]}
    assert original == {"schema_version": 1, "title": "Trip"}, "the input must not be mutated"


def test_upgrade_starts_at_the_files_version() -> None:
    upgrades, calls = _registry()
    assert upgrades.upgrade({"schema_version": 2, "name": "A"}, label="x.json") == {
        "schema_version": 3,
        "name": "A",
        "tags": ["a"],
    }
    assert calls == [2]
    assert upgrades.upgrade({"schema_version": 3, "name": "A"}, label="x.json") == {
        "schema_version": 3,
        "name": "A",
    }
    assert calls == [2]


def test_a_missing_upgrade_step_is_a_clear_error() -> None:
    upgrades, _ = _registry(current=4)
    with pytest.raises(ProjectInvalid) as info:
        upgrades.upgrade({"schema_version": 1, "title": "A"}, label="x.json")
    assert str(info.value) == "x.json: no upgrade from schema version 3; upgrade reelcut"


def test_a_file_newer_than_the_code_is_a_clear_error() -> None:
    upgrades, calls = _registry()
    with pytest.raises(ProjectInvalid) as info:
        upgrades.upgrade({"schema_version": 7}, label="x.json")
    assert str(info.value) == (
        "x.json: schema version 7 is newer than this reelcut understands (3); upgrade reelcut"
    )
    assert calls == []


@pytest.mark.parametrize("version", [None, 0, -1, "2", 1.0, True])
def test_a_nonsense_schema_version_is_a_clear_error(version: object) -> None:
    upgrades, calls = _registry()
    with pytest.raises(ProjectInvalid, match=r"^x\.json: \$\.schema_version: expected a positive"):
        upgrades.upgrade({"schema_version": version}, label="x.json")
    assert calls == []


def test_a_step_cannot_be_registered_twice() -> None:
    upgrades, _ = _registry()
    with pytest.raises(ValueError, match="already exists"):
        upgrades.step(1)(lambda doc: doc)


def test_the_project_registry_matches_the_model() -> None:
    assert schema.PROJECT.current == SCHEMA_VERSION
    assert schema.PROJECT.upgrade(json.loads(BASE_TEXT), label="p") == json.loads(BASE_TEXT)


def _pretend_next(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the store believe the code is one schema version ahead, where clips call ``label``
    ``name``: a step of its own after the real ones."""
    upgrades = schema.Upgrades("project", current=SCHEMA_VERSION + 1)
    for version in range(1, SCHEMA_VERSION):
        upgrades.step(version)(schema.PROJECT._steps[version])

    @upgrades.step(SCHEMA_VERSION)
    def _rename(doc: schema.Document) -> schema.Document:
        for track in doc["tracks"]:
            for clip in track["clips"]:
                clip["name"] = clip.pop("label")
        return doc

    monkeypatch.setattr(schema, "PROJECT", upgrades)
    monkeypatch.setattr(store, "SCHEMA_VERSION", SCHEMA_VERSION + 1)


def _as_older_with_labels(project: Project) -> bytes:
    doc = json.loads(encode_project(project))
    for track in doc["tracks"]:
        for clip in track["clips"]:
            clip["label"] = clip.pop("name")
    return json.dumps(doc, indent=2).encode()


def test_loading_an_older_file_upgrades_it_in_memory_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _pretend_next(monkeypatch)
    data = _as_older_with_labels(BASE)
    (tmp_path / PROJECT_FILE).write_bytes(data)

    project = load_project(tmp_path)

    assert project.schema_version == SCHEMA_VERSION + 1
    assert msgspec.structs.replace(project, schema_version=SCHEMA_VERSION) == BASE
    assert (tmp_path / PROJECT_FILE).read_bytes() == data


def test_an_upgraded_file_that_is_still_wrong_names_the_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _pretend_next(monkeypatch)
    doc = json.loads(_as_older_with_labels(BASE))
    doc["tracks"][0]["clips"][1]["start"] = "soon"
    (tmp_path / PROJECT_FILE).write_text(json.dumps(doc))

    with pytest.raises(ProjectInvalid) as info:
        load_project(tmp_path)

    assert str(info.value) == (
        f"project.json (upgraded from v{SCHEMA_VERSION}): $.tracks[0].clips[1].start: "
        "expected an integer, got a string"
    )


def test_the_demo_project_is_canonical_and_trusted(demo_dir: Path) -> None:
    """A project reelcut built from real media: its file is the encoder's bytes and its hash
    is on record, and a load leaves the folder as it was."""
    data = (demo_dir / PROJECT_FILE).read_bytes()
    before = _snapshot(demo_dir)

    project = load_project(demo_dir)

    assert written_by_us(demo_dir, data)
    assert encode_project(project) == data
    assert _snapshot(demo_dir) == before


def test_a_decoded_project_leaves_nothing_for_the_cycle_collector_to_walk() -> None:
    """Every model struct is untracked (``gc=False``): a decoded project adds almost no objects
    to what each full collection walks, whatever its size. Safe because the model holds only
    scalars, strings, tuples and model structs, so it cannot form a cycle."""
    import gc

    from bench.bench_store import build_project

    for cls in vars(model).values():
        if isinstance(cls, type) and issubclass(cls, msgspec.Struct):
            assert cls.__struct_config__.gc is False, cls.__name__
    data = store.encode_project(build_project(2_000))
    gc.collect()
    before = len(gc.get_objects())
    project = store.decode_project(data)
    clips = [c for t in project.tracks for c in t.clips]
    assert len(clips) == 2_000
    assert not any(gc.is_tracked(c) for c in clips)
    assert len(gc.get_objects()) - before < 200  # tracked: one list here, a few containers
