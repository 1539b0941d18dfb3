"""The script panes' checks of JSON text: a broken JSON or Remotion manifest file is reported
at its line and column, and `locate` maps a JSON path to where its value is written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.filechecks import check_text
from engine.jsoncheck import MAX_DEPTH, Problem, json_path, locate

# -- JSON problems --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ('{\n  "a": 1\n  "b": 2\n}', 3, 3, "expecting ',' delimiter"),
        ('{\n  "a": 1,\n}\n', 3, 1, "expecting property name"),
        ("[\n  1,\n  2,\n]", 4, 1, "expecting value"),
        ('{\n  "a": "no closing quote', 2, 8, "a string starts here and has no closing quote"),
        ('{\n  "a": "line one\nline two"\n}', 2, 17, "write it as \\n or \\t"),
        ('{\n  "a": "\\x"\n}', 2, 9, "invalid \\escape"),
        ('{"a": 1}\n{"b": 2}', 2, 1, "extra data"),
        ("", 1, 1, "the file is empty"),
        ("  \n", 2, 1, "the file is empty"),
        ("\ufeff{}", 1, 1, "byte order mark"),
        ('{\n  "note": "NaN and Infinity in a string are fine",\n  "x": NaN\n}', 3, 8, "NaN"),
        ("[1,\n -Infinity]", 2, 2, "-Infinity is not a JSON number"),
        ('{"a": [\n  {"k": 1},\n  {"k": 1, "k": 2}\n]}', 3, 12, '$.a[1].k: the key "k"'),
        ('{"\\u006b": 1,\n "k": 2}', 2, 2, "appears more than once"),
        ('{"x y": {"a\\"b": 0, "a\\"b": 1}}', 1, 21, '$["x y"]["a\\"b"]'),
    ],
)
def test_json_problems_are_reported_where_they_are(
    text: str, line: int, column: int, words: str
) -> None:
    problem = check_text("scripts/data.json", text)
    assert problem is not None
    assert (problem.line, problem.column) == (line, column), problem
    assert words in problem.message
    assert "\n" not in problem.message


def test_json_nested_too_deeply_is_a_problem_not_a_crash() -> None:
    """Found by a scan before decoding, at the bracket that opens one level too many."""
    problem = check_text("scripts/deep.json", "[" * 100_000 + "]" * 100_000)
    assert problem == Problem(
        f"arrays and objects nested more than {MAX_DEPTH} levels deep; reelcut reads JSON "
        f"nested at most {MAX_DEPTH} levels",
        1,
        MAX_DEPTH + 1,
    )
    at_the_limit = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert check_text("scripts/deep.json", at_the_limit) is None
    brackets_in_strings = '["' + "[" * 1000 + '"]'
    assert check_text("scripts/deep.json", brackets_in_strings) is None


def test_valid_json_and_other_files_have_no_problem() -> None:
    assert check_text("scripts/data.json", '{"a": [1, 2.5e3, "x", null, true]}\n') is None
    assert check_text("scripts/data.JSON", "[]") is None
    assert check_text("scripts/data.JSON", "[") is not None
    assert check_text("scripts/notes.md", "{ not json") is None
    assert check_text("scripts/data.json.md", "{") is None


# -- locating values ------------------------------------------------------------------------------

NESTED = """{
  "a\\"b": [1, {"x": "}]\\\\"}, [[], {}]],
  "c": {
    "d": [true, null, -1.5e3],
    "e\\u0041": "\\"{"
  },
  "dup": 1, "dup": {"y": 2}
}"""


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ((), (1, 1)),
        (('a"b',), (2, 11)),
        (('a"b', 0), (2, 12)),
        (('a"b', 1), (2, 15)),
        (('a"b', 1, "x"), (2, 21)),
        (('a"b', 2), (2, 30)),
        (('a"b', 2, 1), (2, 35)),
        (("c",), (3, 8)),
        (("c", "d", 2), (4, 23)),
        (("c", "eA"), (5, 16)),
        (("dup",), (7, 20)),
        (("dup", "y"), (7, 26)),
        (("missing",), None),
        (("c", "d", 3), None),
        (('a"b', -1), None),
        (("c", "d", "not an index"), None),
        (("c", "d", 0, "deeper"), None),
    ],
)
def test_locate_maps_a_json_path_to_its_value(
    path: tuple[str | int, ...], where: tuple[int, int] | None
) -> None:
    assert locate(NESTED, path) == where


def test_locate_counts_crlf_lines_and_characters_not_bytes() -> None:
    text = '{\r\n  "é": "ü",\r\n  "k": 1\r\n}'
    assert locate(text, ["k"]) == (3, 8)
    assert locate(text, ["é"]) == (2, 8)


def _offset(text: str, line: int, column: int) -> int:
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    return starts[line - 1] + column - 1


def _paths(
    doc: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    yield path, doc
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, (*path, i))


_KEYS = st.text(st.sampled_from('ab"\\/{}[],: \n\tü\u2028'), max_size=4)
_DOCS = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _KEYS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(doc=_DOCS, indent=st.sampled_from([None, 0, 2, "\t"]), ascii_only=st.booleans())
def test_locate_finds_every_value_of_any_document(
    doc: Any, indent: int | str | None, ascii_only: bool
) -> None:
    """For every value of a random document, in every layout, the text at the located position
    decodes to exactly that value."""
    text = json.dumps(doc, indent=indent, ensure_ascii=ascii_only)
    decoder = json.JSONDecoder()
    for path, value in _paths(doc):
        where = locate(text, path)
        assert where is not None, path
        found, _end = decoder.raw_decode(text, _offset(text, *where))
        assert found == value, path


# -- Remotion manifests ---------------------------------------------------------------------------

MANIFEST = "remotion/a_90/manifest.json"


@pytest.mark.parametrize(
    "text",
    [
        '{"source": "export default () => null;"}',
        '{"source": "x", "props": {"greeting": "hi"}}',
        '{"source": "x", "props": {}, "note": "other keys are allowed"}',
    ],
)
def test_good_manifests(text: str) -> None:
    assert check_text(MANIFEST, text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{\n  "props": {}\n}',
            Problem('$: missing the key "source" (the clip\'s TSX source)', 1, 1),
        ),
        ('{\n  "source": 3\n}', Problem("$.source: expected a string, got 3", 2, 13)),
        (
            '{\n  "source": "x",\n  "props": [1]\n}',
            Problem("$.props: expected an object, got an array", 3, 12),
        ),
        ('{"source": "x", "props": null}', Problem("$.props: expected an object, got null", 1, 26)),
        ('"source"', Problem('$: expected an object, got "source"', 1, 1)),
    ],
)
def test_bad_manifests(text: str, expected: Problem) -> None:
    assert check_text(MANIFEST, text) == expected
    assert check_text("remotion/a_90/other.json", text) is None
    assert check_text("remotion/a_90/deeper/manifest.json", text) is None


def test_problem_reads_as_line_column_message() -> None:
    assert str(Problem("$.x: wrong", 3, 7)) == "3:7: $.x: wrong"
    assert json_path(["a", 0, "odd key", "_k2"]) == '$.a[0]["odd key"]._k2'
