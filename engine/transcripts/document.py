"""A transcript on disk: ``transcripts/<asset-id>.json``, the words one asset's audio says.

Each word carries its source time in the asset (integer milliseconds from the asset's first
sample, half-open ``[start_ms, end_ms)``; never float seconds), the recognizer's confidence
(0..1, or None when it gives none) and a speaker label when one is known. The file is written
deterministically (two-space indent, one word per line) so a diff of two transcripts reads as
the words that changed, and it carries the hash of the asset's bytes it was made from: a
transcript of other bytes is stale, not wrong-but-trusted.

A person and the agent read it (it is a script-pane file, and `check_transcript` gives a
hand-edited one's first problem with its line and column); reelcut writes it only through
`write_transcript` (atomic, inside the project).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from engine.errors import ReelcutError
from engine.jsoncheck import Problem, problem_at

SCHEMA_VERSION = 1
FOLDER = "transcripts"

Ms = Annotated[int, msgspec.Meta(ge=0, le=2**40)]
Confidence = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]


class Word(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True, gc=False):
    """One recognized (or aligned) word: ``[start_ms, end_ms)`` in the asset's own time
    (confidence and speaker left out of the file when unknown)."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    start_ms: Ms
    end_ms: Ms
    confidence: Confidence | None = None
    speaker: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class Transcript(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The words of one asset, as one provider heard (or aligned) them."""

    schema_version: int
    asset_id: str
    asset_hash: str | None
    provider: Literal["google", "local"]
    method: Literal["recognized", "aligned"]
    model: str
    language: str
    duration_ms: Ms
    words: tuple[Word, ...] = ()

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


class TranscriptInvalid(ReelcutError):
    """A transcript file that cannot be read as one; the line names where."""

    exit_code = 3


def transcript_path(asset_id: str) -> str:
    """The project-relative path of an asset's transcript."""
    return f"{FOLDER}/{asset_id}.json"


def is_transcript_path(rel: str) -> bool:
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    return len(parts) == 2 and parts[0] == FOLDER and parts[1].endswith(".json")


def encode_transcript(t: Transcript) -> str:
    """The file's text: stable key order, two-space indent, one word object per line."""
    head = {k: v for k, v in msgspec.to_builtins(t).items() if k != "words"}
    lines = ["{"]
    for key, value in head.items():
        lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},")
    words = [
        "    " + json.dumps(msgspec.to_builtins(w), ensure_ascii=False, separators=(", ", ": "))
        for w in t.words
    ]
    if words:
        lines.append('  "words": [')
        lines.append(",\n".join(words))
        lines.append("  ]")
    else:
        lines.append('  "words": []')
    lines.append("}")
    return "\n".join(lines) + "\n"


def check_transcript(text: str, doc: Any) -> Problem | None:
    """The first problem of ``doc`` (parsed from ``text``) as a transcript, or None: the
    struct's types, then every word's end after its start and the words in time order."""
    try:
        t = msgspec.convert(doc, Transcript)
    except msgspec.ValidationError as exc:
        return problem_at(text, _error_path(str(exc)), str(exc).split(" - at ")[0])
    last = 0
    for i, w in enumerate(t.words):
        if w.end_ms <= w.start_ms:
            return problem_at(
                text,
                ("words", i, "end_ms"),
                f"word {w.text!r} ends at {w.end_ms} ms, not after its start ({w.start_ms} ms)",
            )
        if w.start_ms < last:
            return problem_at(
                text,
                ("words", i, "start_ms"),
                f"word {w.text!r} starts at {w.start_ms} ms, before the word before it "
                f"({last} ms); words are in time order",
            )
        last = w.start_ms
    return None


def _error_path(message: str) -> tuple[str | int, ...]:
    """``$.words[3].start_ms`` (msgspec's "- at" suffix) as a path."""
    _, _, where = message.partition(" - at `")
    where = where.rstrip("`")
    out: list[str | int] = []
    for part in where.removeprefix("$").replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("[") and part.endswith("]") and part[1:-1].isdigit():
            out.append(int(part[1:-1]))
        else:
            out.append(part)
    return tuple(out)


def decode_transcript(data: bytes | str, rel: str = "") -> Transcript:
    """A transcript from its file's bytes; `TranscriptInvalid` names the first problem."""
    from engine.jsoncheck import parse_json

    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    doc, problem = parse_json(text)
    if problem is None:
        problem = check_transcript(text, doc)
    if problem is not None:
        raise TranscriptInvalid(f"{rel or 'transcript'}:{problem}")
    return msgspec.convert(doc, Transcript)


def read_transcript(root: Path, asset_id: str) -> Transcript | None:
    """The asset's transcript, or None when it has none."""
    from engine import sandbox

    rel = transcript_path(asset_id)
    try:
        data = sandbox.read_bytes(root, rel)
    except sandbox.PathNotFound:
        return None
    return decode_transcript(data, rel)


def write_transcript(root: Path, t: Transcript) -> tuple[str, str]:
    """Write ``t`` to its file (atomically, inside the project); (path, sha256)."""
    import hashlib

    from engine import sandbox

    rel = transcript_path(t.asset_id)
    data = encode_transcript(t).encode("utf-8")
    sandbox.write_atomic(root, rel, data, create_parents=True)
    return rel, hashlib.sha256(data).hexdigest()


def read_transcripts(root: Path, asset_ids: list[str]) -> dict[str, Transcript]:
    """The transcripts of those assets that have one, by asset id (an unreadable one is a
    `TranscriptInvalid` naming its line)."""
    out = {}
    for a in asset_ids:
        t = read_transcript(root, a)
        if t is not None:
            out[a] = t
    return out
