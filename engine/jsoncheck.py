"""Strict JSON for the files reelcut reads: parse, check against a schema, and say where.

`parse_json` accepts only strict JSON: besides json's own errors, NaN and Infinity and a key
repeated in one object are problems (json keeps the last repeat silently, so an earlier value
would vanish without a word). `schema_problem` turns the first way a document breaks a JSON
Schema (draft 2020-12) into a sentence that says what to write instead ("did you mean ...").
Each `Problem` carries the 1-based line and column of the offending value: `locate` maps a
JSON path to where its value starts in the text, `json_path` writes a path the house way
(``$.a[0]["odd key"]``), and `problem_at` puts the two together for a check of a format's own.

The formats themselves belong to the modules that read the files (`engine.workflows`,
`engine.scenario`, `engine.agent.pricing`); `engine.filechecks` says which file has which.
This module imports none of them.

Depth is bounded before anything is decoded: arrays and objects nested more than `MAX_DEPTH`
levels are a problem found by a scan of the text (`nesting_depth`), since json.loads, and every
walk over what it returns, recurses once per level and ends in RecursionError near 1,000 (a
tool's arguments 30,000 levels deep once ended `reelcut tool` with an internal error).
`value_depth` measures a value decoded elsewhere (arguments that came through a socket or a
model's reply) the same way, without recursing.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import jsonschema


MAX_DEPTH = 64
"""How deeply arrays and objects may nest in JSON that reelcut reads as text. Its own formats
need a handful of levels (a tool's arguments at most 3); 64 leaves room without nearing
Python's recursion limit."""


@dataclass(frozen=True)
class Problem:
    """The first thing wrong with a file's text: what (naming the JSON path where there is one)
    and where (1-based line and column, counted in characters)."""

    message: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.message}"


# json's messages that end in "at" (the position follows in its own str()), said in full.
_JSON_REASONS = {
    "Unterminated string starting at": "a string starts here and has no closing quote",
    "Invalid control character at": (
        "a line break or other control character inside a string; write it as \\n or \\t"
    ),
}


class _Repeated:
    """Stands in, while parsing, for an object that repeats ``key``."""

    def __init__(self, key: str) -> None:
        self.key = key


class _Constant(Exception):
    pass


def _no_constants(name: str) -> Any:
    raise _Constant(name)


def _no_repeats(pairs: list[tuple[str, Any]]) -> Any:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            return _Repeated(key)
        seen[key] = value
    return seen


def parse_json(text: str, *, max_depth: int = MAX_DEPTH) -> tuple[Any, Problem | None]:
    """(the document, None), or (None, the first problem) for text that is not strict JSON.

    Strict: NaN, Infinity, a key repeated in one object and nesting deeper than ``max_depth``
    are problems too; the depth is checked on the text, before it is decoded.
    """
    deep = _too_deep(text, max_depth)
    if deep is not None:
        return None, _at(
            text,
            deep,
            f"arrays and objects nested more than {max_depth} levels deep; reelcut reads JSON "
            f"nested at most {max_depth} levels",
        )
    try:
        doc = json.loads(text, object_pairs_hook=_no_repeats, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        reason = _JSON_REASONS.get(exc.msg) or exc.msg[:1].lower() + exc.msg[1:]
        if exc.pos == 0 and text.startswith("\ufeff"):
            reason = "the file starts with a byte order mark; save it as UTF-8 without one"
        elif not text.strip():
            reason = "the file is empty; a JSON file holds at least {} or []"
        return None, Problem(f"not valid JSON: {reason}", exc.lineno, exc.colno)
    except _Constant as exc:
        at = _constant_offset(text)
        return None, _at(
            text, at, f"not valid JSON: {exc.args[0]} is not a JSON number; use a number or null"
        )
    except RecursionError:
        return None, Problem("not valid JSON: nested too deeply to read", 1, 1)
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        return None, Problem(f"not valid JSON: {exc}", 1, 1)
    repeat = _find_repeat(doc)
    if repeat is not None:
        path, key = repeat
        at = _member_offset(text, path, key, occurrence=2)
        shown = json_path((*path, key))
        return None, _at(
            text,
            at,
            f"{shown}: the key {json.dumps(key)} appears more than once in one object "
            "(only the last would count); remove or rename the repeat",
        )
    return doc, None


def nesting_depth(text: str, *, stop: int | None = None) -> int:
    """How deeply arrays and objects nest in the JSON ``text`` (brackets inside strings do not
    count), found by a scan that never recurses; with ``stop``, the scan ends as soon as the
    depth passes it (the result is then ``stop + 1``). Text that is not JSON gives a number
    too: parse it to find out what is wrong."""
    depth = deepest = 0
    at = 0
    while (m := _NEXT.search(text, at)) is not None:
        at = m.start()
        if text[at] == '"':
            string = _STRING.match(text, at)
            if string is None:  # unterminated: json.loads names it
                break
            at = string.end()
            continue
        depth += 1 if text[at] in "[{" else -1
        if depth > deepest:
            deepest = depth
            if stop is not None and deepest > stop:
                break
        at += 1
    return deepest


def _too_deep(text: str, limit: int) -> int | None:
    """The offset of the first bracket that opens level ``limit + 1``, or None."""
    if nesting_depth(text, stop=limit) <= limit:
        return None
    depth = 0
    for m in _BRACKET_OR_STRING.finditer(text):
        token = m.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return m.start()
        elif token in "]}":
            depth -= 1
    return None


def value_depth(value: Any, *, stop: int | None = None) -> int:
    """How deeply lists and dicts nest in an already decoded ``value`` (a scalar is 0), without
    recursing; with ``stop``, counting ends once the depth passes it."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if stop is not None and deepest > stop:
                return deepest
        stack.extend((child, depth) for child in children)
    return deepest


def _find_repeat(doc: Any) -> tuple[tuple[str | int, ...], str] | None:
    """The path of the first object (in document order) that repeats a key, and the key."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(doc, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _Repeated):
            return path, node.key
        if isinstance(node, dict):
            stack.extend((v, (*path, k)) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((v, (*path, i)) for i, v in reversed(list(enumerate(node))))
    return None


def _constant_offset(text: str) -> int | None:
    for m in _CONSTANT.finditer(text):
        if m.group(1):
            return m.start(1)
    return None


def schema_problem(
    validator: jsonschema.Draft202012Validator, doc: Any, text: str
) -> Problem | None:
    """The first way ``doc`` (parsed from ``text``) breaks ``validator``'s schema, or None.

    Unknown keys and wrong values come before missing keys (a misspelt key explains the missing
    one, and says "did you mean"); among those the earliest in the text wins.
    """
    found: list[tuple[int, int, str]] = []
    for error in validator.iter_errors(doc):
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = list(_subschema(error).get("properties", {}))
            missing = [k for k in allowed if k not in error.instance]
            for key in error.instance:
                if key not in allowed:
                    at = _member_offset(text, path, key)
                    found.append((0, at or 0, _unknown_key(path, key, allowed, missing)))
            continue
        rank = 1 if error.validator == "required" else 0
        at = _value_offset(text, path)
        found.append((rank, at or 0, f"{json_path(path)}: {explain(error)}"))
    if not found:
        return None
    _rank, at, message = min(found)
    return _at(text, at, message)


def _unknown_key(
    path: tuple[str | int, ...], key: str, allowed: list[str], missing: list[str]
) -> str:
    """Name the unknown key and the allowed one it is most like among those not yet given."""
    where = json_path((*path, key))
    close = difflib.get_close_matches(key, missing, n=1, cutoff=0.6)
    if close:
        return f"{where}: unknown key {json.dumps(key)}; did you mean {json.dumps(close[0])}?"
    return f"{where}: unknown key {json.dumps(key)}; the keys allowed here are {', '.join(allowed)}"


def explain(error: jsonschema.ValidationError) -> str:
    """What is wrong with one value, in words that say what to write instead."""
    got = _show_value(error.instance)
    kind, want = str(error.validator), cast(Any, error.validator_value)
    schema = _subschema(error)
    if kind == "required":
        missing = [k for k in want if isinstance(error.instance, dict) and k not in error.instance]
        key = missing[0] if missing else "?"
        about = schema.get("properties", {}).get(key, {}).get("description")
        return f"missing the key {json.dumps(key)}" + (f" ({about})" if about else "")
    if kind == "type":
        names: list[str] = want if isinstance(want, list) else [want]
        return f"expected {' or '.join(_TYPE_WORDS.get(n, n) for n in names)}, got {got}"
    if kind == "const":
        return f"must be {json.dumps(want)}, got {got}"
    if kind == "enum":
        return f"must be one of {', '.join(json.dumps(v) for v in want)}, got {got}"
    if kind in ("minimum", "maximum") and "minimum" in schema and "maximum" in schema:
        return f"must be a number from {schema['minimum']} to {schema['maximum']}, got {got}"
    if kind == "minimum":
        return f"must be at least {want}, got {got}"
    if kind == "maximum":
        return f"must be at most {want}, got {got}"
    if kind == "minLength" and want == 1:
        return "must not be empty"
    if kind == "pattern" and want == r"\S":
        return "must not be only spaces"
    return error.message


def _subschema(error: jsonschema.ValidationError) -> Mapping[str, Any]:
    """The part of the schema that ``error`` broke (the stubs allow a bare boolean schema)."""
    return error.schema if isinstance(error.schema, Mapping) else {}


_TYPE_WORDS = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "true or false",
    "null": "null",
}


def _show_value(value: Any) -> str:
    shown = json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        shown = "an object"
    elif isinstance(value, list):
        shown = "an array"
    return shown if len(shown) <= 60 else shown[:57] + "..."


def json_path(path: Sequence[str | int]) -> str:
    """``$.a[0]["odd key"]``: the house notation for a place in a JSON document."""
    out = ["$"]
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENT.fullmatch(part):
            out.append(f".{part}")
        else:
            out.append(f"[{json.dumps(part)}]")
    return "".join(out)


def problem_at(text: str, path: Sequence[str | int], message: str) -> Problem:
    """``message`` about the value at ``path`` in the JSON ``text``, led by the path and placed
    where that value starts (at 1:1 if nothing is there)."""
    return _at(text, _value_offset(text, path), f"{json_path(path)}: {message}")


# -- positions in JSON text -----------------------------------------------------------------------
#
# These scanners run only over text that json.loads has accepted, so they can skip values
# without re-checking them: a string is a quote, then anything but a quote or backslash or a
# backslash and any one character, then a quote; a number or literal runs to the next delimiter.

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SCALAR = re.compile(r"[^,\]}\s]+")
_NEXT = re.compile(r'["\[\]{}]')
_BRACKET_OR_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_CONSTANT = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)', re.DOTALL)


def locate(text: str, path: Sequence[str | int]) -> tuple[int, int] | None:
    """The 1-based (line, column) where the value at ``path`` starts in the JSON ``text``.

    None if nothing is at ``path`` or the text is not valid JSON. Of a key repeated in one
    object, the last counts, as it does for json.loads.
    """
    at = _value_offset(text, path)
    return None if at is None else _line_column(text, at)


def _value_offset(text: str, path: Sequence[str | int]) -> int | None:
    try:
        at = _skip_ws(text, 0)
        for part in path:
            if isinstance(part, int):
                found = _element(text, at, part)
            else:
                values = [value_at for key, _key_at, value_at in _members(text, at) if key == part]
                found = values[-1] if values else None
            if found is None:
                return None
            at = found
        return at
    except (IndexError, AttributeError, ValueError):
        return None


def _member_offset(
    text: str, path: Sequence[str | int], key: str, *, occurrence: int = 0
) -> int | None:
    """Where the name ``key`` starts in the object at ``path``: its ``occurrence``-th (1-based)
    appearance there, or with 0 its last."""
    at = _value_offset(text, path)
    if at is None:
        return None
    try:
        found = [key_at for k, key_at, _v in _members(text, at) if k == key]
    except (IndexError, AttributeError, ValueError):
        return None
    if occurrence:
        return found[occurrence - 1] if len(found) >= occurrence else None
    return found[-1] if found else None


def _members(text: str, at: int) -> Iterator[tuple[str, int, int]]:
    """(key, offset of the key, offset of the value) of each member of the object at ``at``;
    nothing if ``at`` is not an object."""
    if text[at] != "{":
        return
    at = _skip_ws(text, at + 1)
    if text[at] == "}":
        return
    while True:
        key_end = _end(_STRING, text, at)
        key = json.loads(text[at:key_end])
        value_at = _skip_ws(text, _skip_ws(text, key_end) + 1)  # past the colon
        yield key, at, value_at
        at = _skip_ws(text, _value_end(text, value_at))
        if text[at] == "}":
            return
        at = _skip_ws(text, at + 1)  # past the comma


def _element(text: str, at: int, index: int) -> int | None:
    """Offset of element ``index`` of the array at ``at``, or None."""
    if text[at] != "[" or index < 0:
        return None
    at = _skip_ws(text, at + 1)
    if text[at] == "]":
        return None
    for _ in range(index):
        at = _skip_ws(text, _value_end(text, at))
        if text[at] == "]":
            return None
        at = _skip_ws(text, at + 1)
    return at


def _value_end(text: str, at: int) -> int:
    """Offset just past the value that starts at ``at``."""
    first = text[at]
    if first == '"':
        return _end(_STRING, text, at)
    if first not in "[{":
        return _end(_SCALAR, text, at)
    depth = 0
    while True:
        m = _NEXT.search(text, at)
        if m is None:
            raise ValueError("unbalanced brackets")
        at = m.start()
        if text[at] == '"':
            at = _end(_STRING, text, at)
            continue
        depth += 1 if text[at] in "[{" else -1
        at += 1
        if depth == 0:
            return at


def _end(pattern: re.Pattern[str], text: str, at: int) -> int:
    """Offset just past ``pattern`` matched at ``at``; ValueError if it does not match there."""
    m = pattern.match(text, at)
    if m is None:
        raise ValueError(f"expected {pattern.pattern} at offset {at}")
    return m.end()


def _skip_ws(text: str, at: int) -> int:
    return _end(_WS, text, at)


def _line_column(text: str, at: int) -> tuple[int, int]:
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


def _at(text: str, at: int | None, message: str) -> Problem:
    line, column = _line_column(text, at) if at is not None else (1, 1)
    return Problem(message, line, column)
