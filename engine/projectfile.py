"""Reading and writing project.json: deterministic bytes, atomic saves, errors with JSON paths.

Loading decodes straight into the typed model (msgspec: one pass, validation included) and then
checks the invariants in ``engine.validate``. A file that is not byte-for-byte what reelcut last
wrote (hand-edited, or written by another tool: its sha256 differs from the one recorded in
``.reelcut/project.sha256``) also gets a duplicate-key check, which JSON parsers otherwise
resolve silently by keeping the last value. Loading never writes.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import msgspec

from engine import schema
from engine.errors import ProjectInvalid
from engine.fsio.durable import atomic_write
from engine.model import SCHEMA_VERSION, EditorState, Project
from engine.validate import problems

PROJECT_FILE = "project.json"
LAST_WRITE_FILE = ".reelcut/project.sha256"
"""sha256 of the project.json bytes reelcut itself last wrote."""

_decoder = msgspec.json.Decoder(Project)
_encoder = msgspec.json.Encoder()
_NO_VIEW = EditorState()
_VIEW_TAIL = b',"editor":' + _encoder.encode(_NO_VIEW) + b"}"


def encode_project(project: Project) -> bytes:
    """The canonical bytes of ``project``: declared key order, 2-space indent, final newline.

    The view (``editor``: playhead, zoom, selection, marks) is left out: it is saved in the
    state database by the session, so moving around never changes the timeline's file or its
    hash. It is the model's last field, so its encoding ends the compact bytes exactly."""
    body = _encoder.encode(msgspec.structs.replace(project, editor=_NO_VIEW))
    if not body.endswith(_VIEW_TAIL):  # the model's field order changed: say so loudly
        raise AssertionError("Project.editor must stay the model's last field")
    return msgspec.json.format(body[: -len(_VIEW_TAIL)] + b"}", indent=2) + b"\n"


def decode_project(data: bytes, *, label: str = PROJECT_FILE, trusted: bool = False) -> Project:
    """Parse, upgrade and validate project.json bytes; raise ProjectInvalid naming the JSON path.

    ``trusted`` says these are exactly the bytes reelcut last wrote (their hash matches), so
    the duplicate-key scan, which only a hand-edited file can need, is skipped.
    """
    if not data or data.isspace():
        raise ProjectInvalid(f"{label}: the file is empty")
    if data.startswith(b"\xef\xbb\xbf"):
        raise ProjectInvalid(
            f"{label}: starts with a byte-order mark; save it as UTF-8 without BOM"
        )
    # An untrusted file is compacted first (msgspec's formatter is as strict as its decoder):
    # decoding the smaller text more than pays for that, and the duplicate-key check reuses it.
    compact = None if trusted else _compact(data)
    if compact is None:
        project = _decode(data, label)
    else:
        try:
            project = _decoder.decode(compact)
        except msgspec.ValidationError as exc:
            project = _decode_older(data, exc, label)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            project = _decode(data, label)  # to report positions in the file as written
    if project.schema_version != SCHEMA_VERSION:
        project = _decode_older(data, None, label)
    if not trusted:
        _check_duplicate_keys(data, compact, project, label)
    found = problems(project)
    if found:
        path, message = found[0]
        more = f" (and {len(found) - 1} more problems)" if len(found) > 1 else ""
        raise ProjectInvalid(f"{label}: {path}: {message}{more}")
    return project


def _decode(data: bytes, label: str) -> Project:
    try:
        return _decoder.decode(data)
    except msgspec.ValidationError as exc:
        return _decode_older(data, exc, label)
    except msgspec.DecodeError as exc:
        raise _not_json(data, exc, label) from None
    except UnicodeDecodeError:
        raise _not_utf8(data, label) from None
    except RecursionError:
        raise ProjectInvalid(f"{label}: JSON is nested too deeply") from None


def _compact(data: bytes) -> bytes | None:
    """``data`` without insignificant whitespace, or None if it is not well-formed JSON."""
    try:
        return msgspec.json.format(data, indent=-1)
    except (msgspec.DecodeError, ValueError, RecursionError):
        return None


def load_project(root: Path) -> Project:
    """Read ``root/project.json``; raise ProjectInvalid if it is missing or invalid."""
    path = root / PROJECT_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ProjectInvalid(
            f"{root}: no {PROJECT_FILE} here; create a project with `reelcut new {root}`"
        ) from None
    except IsADirectoryError:
        raise ProjectInvalid(f"{path}: is a directory, not a file") from None
    return decode_project(data, trusted=written_by_us(root, data))


def written_by_us(root: Path, data: bytes) -> bool:
    """True when ``data`` hashes to what reelcut recorded at its last save of this project."""
    try:
        # Bytes, not text: a damaged record must cost trust, never raise a decoding error.
        recorded = (root / LAST_WRITE_FILE).read_bytes().strip()
    except OSError:
        return False
    return recorded == hashlib.sha256(data).hexdigest().encode()


def save_project(root: Path, project: Project) -> bytes:
    """Write ``project`` to ``root/project.json`` atomically; return the bytes written."""
    data = project_bytes(project)
    write_project(root, data)
    return data


def project_bytes(project: Project) -> bytes:
    """What project.json will hold for ``project`` (refused if it is not a valid project)."""
    found = problems(project)
    if found:
        path, message = found[0]
        # A bug upstream, not user input: refuse to persist a broken model.
        raise ProjectInvalid(f"refusing to save an invalid project: {path}: {message}")
    return encode_project(project)


def write_project(root: Path, data: bytes) -> None:
    """Write ``data`` (from `project_bytes`) to project.json atomically."""
    atomic_write(root / PROJECT_FILE, data)
    # Recorded after the file: a crash in between only costs the next load a slower check.
    (root / LAST_WRITE_FILE).parent.mkdir(exist_ok=True)
    atomic_write(root / LAST_WRITE_FILE, hashlib.sha256(data).hexdigest().encode() + b"\n")


def _decode_older(data: bytes, error: msgspec.ValidationError | None, label: str) -> Project:
    """Decode a file whose version is not current, or explain ``error`` with its JSON path."""
    # The typed pass stopped at the first type error, so the rest of the bytes are unchecked.
    try:
        doc = msgspec.json.decode(data)
    except msgspec.ValidationError as exc:  # a number too large for any type; name its path
        raise ProjectInvalid(f"{label}: {_explain(error or exc, None)}") from None
    except msgspec.DecodeError as exc:
        raise _not_json(data, exc, label) from None
    except UnicodeDecodeError:
        raise _not_utf8(data, label) from None
    except RecursionError:
        raise ProjectInvalid(f"{label}: JSON is nested too deeply") from None
    if not isinstance(doc, dict):
        raise ProjectInvalid(f"{label}: $: expected an object, got {_json_type(doc)}")
    version = doc.get("schema_version")
    if error is not None and version == SCHEMA_VERSION:
        raise ProjectInvalid(f"{label}: {_explain(error, doc)}") from None
    upgraded = schema.PROJECT.upgrade(doc, label=label)
    try:
        return msgspec.convert(upgraded, Project)
    except msgspec.ValidationError as exc:
        raise ProjectInvalid(
            f"{label} (upgraded from v{version}): {_explain(exc, upgraded)}"
        ) from None


_AT = re.compile(r"^(?P<msg>.*?)(?: - at `(?P<path>\$[^`]*)`)?$", re.S)
_TYPES = {
    "`int`": "an integer",
    "`str`": "a string",
    "`bool`": "a boolean",
    "`float`": "a number",
    "`object`": "an object",
    "`array`": "an array",
    "`null`": "null",
}


def _explain(error: msgspec.ValidationError, doc: Any) -> str:
    """Turn msgspec's message into ``$.path: expected ..., got VALUE``."""
    m = _AT.match(str(error))
    assert m is not None
    msg, path = m.group("msg"), m.group("path") or "$"
    for name, words in _TYPES.items():
        msg = msg.replace(name, words)
    if msg.startswith("Expected"):
        msg = "e" + msg[1:]
    elif msg.startswith("Object contains unknown field"):
        msg = "unknown field " + msg.rsplit(" ", 1)[-1].replace("`", '"')
    elif msg.startswith("Object missing required field"):
        msg = "missing required field " + msg.rsplit(" ", 1)[-1].replace("`", '"')
    else:
        msg = msg[:1].lower() + msg[1:]
    if "got" not in msg and not msg.startswith(("unknown", "missing")):
        found, value = _lookup(doc, path)
        if found:
            shown = json.dumps(value)
            msg += f", got {shown if len(shown) <= 60 else shown[:57] + '...'}"
    return f"{path}: {msg}"


_TOKEN = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[\"((?:[^\"\\]|\\.)*)\"\]")


def _lookup(doc: Any, path: str) -> tuple[bool, Any]:
    node = doc
    for key, index, quoted in _TOKEN.findall(path[1:]):
        try:
            node = node[int(index)] if index else node[key or quoted]
        except (KeyError, IndexError, TypeError):
            return False, None
    return True, node


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    return {int: "an integer", float: "a number", str: "a string"}.get(type(value), "an object")


def _not_json(data: bytes, exc: msgspec.DecodeError, label: str) -> ProjectInvalid:
    """The error for a DecodeError: bad UTF-8 is named as such, with its file offset.

    msgspec before 0.23 raised UnicodeDecodeError for invalid UTF-8 in a string; 0.23 raises
    its own ``DecodeError("Invalid UTF-8 encoded string")`` with no position. Either way the
    user is told which byte, line and column to fix.
    """
    found = re.search(r"byte (\d+)", str(exc))
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as bad:
        if "UTF-8" in str(exc) or found is None or int(found.group(1)) >= bad.start:
            return ProjectInvalid(f"{label}: not valid UTF-8 at {_position(data, bad.start)}")
    return ProjectInvalid(f"{label}: not valid JSON: {_decode_reason(data, exc)}")


def _not_utf8(data: bytes, label: str) -> ProjectInvalid:
    """Name the file offset of the first bad byte (msgspec reports it within one string)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ProjectInvalid(f"{label}: not valid UTF-8 at {_position(data, exc.start)}")
    return ProjectInvalid(f"{label}: not valid UTF-8")


def _position(data: bytes, offset: int) -> str:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return f"byte {offset} (line {line}, column {column})"


def _decode_reason(data: bytes, exc: msgspec.DecodeError) -> str:
    m = re.search(r"byte (\d+)", str(exc))
    if not m:
        return str(exc)
    offset = int(m.group(1))
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return f"{str(exc).split(' (byte')[0]} at line {line}, column {column}"


class _Duplicate:
    def __init__(self, key: str) -> None:
        self.key = key


def _check_duplicate_keys(data: bytes, compact: bytes | None, project: Project, label: str) -> None:
    """Raise ProjectInvalid naming the first object (by JSON path) that repeats a key.

    ``project`` is what ``data`` decoded to and ``compact`` is ``data`` without whitespace.
    When that is the encoder's own output for ``project`` (a file reelcut wrote, or a hand edit
    that kept its layout) no object can repeat a key, and the proof costs a fraction of a
    parse. Otherwise one parse looks for a repeat, and only a file that has one pays for the
    pass that finds its path.
    """
    if compact is not None and compact == _encoder.encode(project):
        return
    repeated = []

    def any_repeat(pairs: list[tuple[str, Any]]) -> None:
        if len(pairs) != len(dict(pairs)):
            repeated.append(True)

    try:
        json.loads(data, object_pairs_hook=any_repeat)
    except (ValueError, RecursionError):
        return  # already decoded successfully by msgspec; nothing more to learn here
    if repeated:
        _locate_duplicate_key(data, label)


def _locate_duplicate_key(data: bytes, label: str) -> None:
    def hook(pairs: list[tuple[str, Any]]) -> Any:
        keys = set()
        for k, _ in pairs:
            if k in keys:
                return _Duplicate(k)
            keys.add(k)
        return dict(pairs)

    try:
        doc = json.loads(data, object_pairs_hook=hook)
    except (ValueError, RecursionError):
        return  # already decoded successfully by msgspec; nothing more to learn here
    path = _find_duplicate(doc, "$")
    if path is not None:
        raise ProjectInvalid(f"{label}: {path[0]}: the key {path[1]!r} appears more than once")


def _find_duplicate(node: Any, path: str) -> tuple[str, str] | None:
    stack = [(node, path)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _Duplicate):
            return path, node.key
        if isinstance(node, dict):
            stack.extend((v, f"{path}.{k}") for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{i}]") for i, v in reversed(list(enumerate(node))))
    return None
