"""Text files a person edits in the script panes: read with their hash, saved only over the
version they were read from, created, renamed, deleted and checked.

A pane keeps the sha256 of what it loaded; `save_text` writes atomically (through the sandbox:
no path leaves the project) only when the file still has that hash, and otherwise raises
`FileConflict` carrying both hashes, so a pane never silently overwrites a newer file (an
applied agent changeset, another editor). `rename_text` and `delete_text` take the same hash;
`create_text` never replaces anything. Binary and huge files are refused with the reason.

The script area is every project file outside ``assets/``, ``proxies/``, ``previews/`` and
``.reelcut/``, except ``project.json`` (the timeline, changed only through the editor).

`check_text` finds the first problem in a file's text for the pane to mark: JSON syntax (with
the line and column json reports), a key repeated in one object, and the shape of workflow
prompt files (`engine.workflows`) and Remotion manifests, each at the line and column of the
offending value (`locate` maps a JSON path to a position in the text); the project's
``pricing.json`` and ``scripts/Scenario_TTS.json`` are checked against their formats too.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from engine import sandbox
from engine.errors import ReelcutError
from engine.store import PROJECT_FILE

if TYPE_CHECKING:
    import jsonschema

MAX_TEXT_BYTES = 2 << 20
TEXT_SUFFIXES = frozenset(
    {
        ".md",
        ".markdown",
        ".txt",
        ".json",
        ".tsx",
        ".ts",
        ".jsx",
        ".js",
        ".css",
        ".yaml",
        ".yml",
        ".toml",
        ".srt",
        ".vtt",
    }
)
NOT_SCRIPTS = frozenset({"assets", "proxies", "previews"})


class NotText(ReelcutError):
    """A file the script panes will not open (binary, not UTF-8, too large)."""


class NotAScript(ReelcutError):
    """A path the script panes do not create, rename or delete: project.json, a media or
    derivative folder, or a name without a text suffix."""


class FileExists(ReelcutError):
    """A new script's name is already taken."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"{path} already exists; choose another name (or open the file)")


class FileConflict(ReelcutError):
    """The file changed on disk since the pane loaded it."""

    def __init__(self, path: str, expected: str | None, actual: str | None) -> None:
        self.path, self.expected, self.actual = path, expected, actual
        super().__init__(
            f"{path} changed on disk since it was opened (expected sha256 "
            f"{(expected or 'none')[:12]}, found {(actual or 'no file')[:12]}); "
            "reload it or save explicitly over it"
        )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def script_files(root: Path) -> list[str]:
    """The project's text files a person edits (not media, derivatives or .reelcut/), sorted.

    The media folders are not walked at all (the editor lists the files every few seconds,
    and a project can hold thousands of assets)."""
    found: list[str] = []
    with os.scandir(root) as entries:
        names = sorted(
            (e.name, e.is_dir(follow_symlinks=False), e.is_file(follow_symlinks=False))
            for e in entries
        )
    for name, is_dir, is_file in names:
        if name.startswith(".") or name.lower() in NOT_SCRIPTS:
            continue
        if is_file:
            found.append(name)
        elif is_dir:
            try:
                found.extend(sandbox.list_files(root, name))
            except sandbox.PathRefused:
                continue  # replaced by a link meanwhile: not listed
    return sorted(rel for rel in found if Path(rel).suffix.lower() in TEXT_SUFFIXES)


def read_text(root: Path, rel: str) -> tuple[str, str]:
    """(text, sha256 of its bytes); `NotText` for what a pane cannot show."""
    data = sandbox.read_bytes(root, rel)
    if len(data) > MAX_TEXT_BYTES:
        raise NotText(
            f"{rel} is {len(data) >> 20} MB; the script panes open files up to "
            f"{MAX_TEXT_BYTES >> 20} MB"
        )
    if b"\0" in data:
        raise NotText(f"{rel} is binary (it holds NUL bytes); it is not a script")
    try:
        return data.decode("utf-8"), sha256(data)
    except UnicodeDecodeError as exc:
        raise NotText(f"{rel} is not UTF-8 text (byte {exc.start}); it is not a script") from None


def current_hash(root: Path, rel: str) -> str | None:
    try:
        return sha256(sandbox.read_bytes(root, rel))
    except sandbox.PathNotFound:
        return None


def save_text(
    root: Path, rel: str, text: str, base_hash: str | None, *, force: bool = False
) -> str:
    """Write ``text`` if the file still hashes to ``base_hash`` (None: must not exist yet), or
    whatever is there with ``force``; return the new hash."""
    actual = current_hash(root, rel)
    if actual != base_hash and not force:
        raise FileConflict(rel, base_hash, actual)
    data = text.encode("utf-8")
    sandbox.write_atomic(root, rel, data, create_parents=True)
    return sha256(data)


def create_text(root: Path, rel: str, text: str = "") -> str:
    """Create the script ``rel`` holding ``text`` (folders on the way too) and return its hash.

    Never replaces anything: `FileExists` if the name is taken, even by a file that appears while
    the bytes are written. `NotAScript` outside the script area or without a text suffix;
    `sandbox.PathRefused` for a path that leaves the project or goes through a link.
    """
    path = _script_path(root, rel, _CREATE)
    _require_text_suffix(path)
    data = text.encode("utf-8")
    try:
        sandbox.write_atomic(root, path, data, create_parents=True, exclusive=True)
    except sandbox.PathExists:
        raise FileExists(path) from None
    return sha256(data)


def rename_text(root: Path, old: str, new: str, base_hash: str) -> None:
    """Move the script ``old`` to ``new`` if it still hashes to ``base_hash``.

    One atomic rename (folders on the way to ``new`` are made), durable when this returns.
    `FileConflict` if ``old`` changed or is gone, `FileExists` if ``new`` is taken, `NotAScript`
    if either path is outside the script area or ``new`` has no text suffix. ``old`` may have any
    suffix, so a misnamed file can be given a text one.
    """
    src = _script_path(root, old, _RENAME)
    dst = _script_path(root, new, _RENAME)
    _require_text_suffix(dst)
    actual = current_hash(root, src)
    if actual != base_hash:
        raise FileConflict(src, base_hash, actual)
    if src == dst:
        raise FileExists(dst)
    try:
        sandbox.rename(root, src, dst, create_parents=True)
    except sandbox.PathExists:
        raise FileExists(dst) from None


def delete_text(root: Path, rel: str, base_hash: str) -> None:
    """Remove the script ``rel`` if it still hashes to ``base_hash``, durably.

    `FileConflict` (the file untouched) if it changed or is already gone; `NotAScript` for
    project.json and files under assets/, proxies/ and previews/. Emptied folders stay.
    """
    path = _script_path(root, rel, _DELETE)
    actual = current_hash(root, path)
    if actual != base_hash:
        raise FileConflict(path, base_hash, actual)
    sandbox.remove(root, path)
    sandbox.sync_parent(root, path)


# What a refused call would have done: (to the file itself, to files in a folder).
_CREATE = ("create it", "create files there")
_RENAME = ("rename a file to or from it", "move files into or out of it")
_DELETE = ("delete it", "delete files there")


def _script_path(root: Path, rel: str, verb: tuple[str, str]) -> str:
    """``rel`` as a canonical path inside the script area; raise if it is not."""
    path = sandbox.normalize(root, rel)
    top = path.split("/", 1)[0]
    # Compared without case: on a case-folding file system "Assets/x" is assets/x.
    if path.casefold() == PROJECT_FILE:
        raise NotAScript(
            f"{path} is the timeline, which only the editor changes; the script panes cannot "
            f"{verb[0]}"
        )
    if top.casefold() in NOT_SCRIPTS and "/" in path:
        raise NotAScript(
            f"{path} is inside {top}/, which holds media reelcut manages; the script panes "
            f"cannot {verb[1]} (keep scripts under scripts/)"
        )
    return path


def _require_text_suffix(path: str) -> None:
    suffix = Path(path).suffix.lower()
    if suffix not in TEXT_SUFFIXES:
        kind = f"the suffix {suffix!r}" if suffix else "no suffix"
        raise NotAScript(
            f"{path} has {kind}; a script's name ends in one of {', '.join(sorted(TEXT_SUFFIXES))}"
        )


# -- checking -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """The first thing wrong with a file's text: what (naming the JSON path where there is one)
    and where (1-based line and column, counted in characters)."""

    message: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.message}"


MANIFEST_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Remotion clip manifest (remotion/<asset-id>/manifest.json)",
    "type": "object",
    "required": ["source"],
    "properties": {
        "source": {"type": "string", "description": "the clip's TSX source"},
        "props": {"type": "object", "description": "the props the clip's component receives"},
    },
}


@functools.cache
def _manifest_validator() -> jsonschema.Draft202012Validator:
    # Imported on first use: jsonschema costs ~40 ms, and the editor imports this module at start.
    import jsonschema

    return jsonschema.Draft202012Validator(MANIFEST_SCHEMA)


def check_text(rel: str, text: str) -> Problem | None:
    """The first problem in ``text``, the contents of the project file ``rel``, or None.

    Every ``.json`` file must parse, without NaN or Infinity and without a key repeated in one
    object (json keeps the last silently, so an earlier value would vanish without a word).
    ``scripts/workflows/*.json`` must also match the workflow schema,
    ``remotion/*/manifest.json`` the manifest's, ``pricing.json`` the price table's
    (`engine.agent.pricing`) and ``scripts/Scenario_TTS.json`` the scenario's (`engine.scenario`).
    Other files have no checks.
    """
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts or not parts[-1].lower().endswith(".json"):
        return None
    doc, problem = parse_json(text)
    if problem is not None:
        return problem
    if len(parts) == 3 and parts[0] == "remotion" and parts[2] == "manifest.json":
        return schema_problem(_manifest_validator(), doc, text)
    # These modules read their files through this one, so they are imported here, not above.
    from engine import scenario, workflows
    from engine.agent import pricing

    if workflows.is_workflow_path(rel):
        return workflows.check_workflow(text, doc)
    if parts == [pricing.PRICING_FILE]:
        return pricing.check_pricing(text, doc)
    if scenario.is_scenario_path(rel):
        return scenario.check_scenario(text, doc)
    return None


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


def parse_json(text: str) -> tuple[Any, Problem | None]:
    """(the document, None), or (None, the first problem) for text that is not strict JSON.

    Strict: NaN, Infinity and a key repeated in one object are problems too.
    """
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
        found.append((rank, at or 0, f"{json_path(path)}: {_explain(error)}"))
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


def _explain(error: jsonschema.ValidationError) -> str:
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
