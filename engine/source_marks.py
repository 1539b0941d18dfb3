"""The source marks: each bin item's own playhead and in/out marks (`engine.model.SourceMarks`),
the sources of three-point edits, remembered across restarts.

Like the timeline's view (`engine.session` ``view``) they live in the state database's
``meta`` table (key ``source_marks``), not in project.json: moving a source playhead or
marking a source range is not an edit of the timeline, never an undo step, and never
changes the file's hash. `Session.set_source_marks` saves them; `decode_source_marks` reads
them back, dropping what no longer fits (an asset gone, an out mark not after its in).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from engine.model import Project, SourceMarks

SOURCE_MARKS = "source_marks"
"""The meta key of the source marks in ``.reelcut/state.sqlite``."""


_decoder = msgspec.json.Decoder(tuple[SourceMarks, ...])


def encode_source_marks(marks: Iterable[SourceMarks]) -> str:
    """The stored form: a JSON list ordered by asset id (the same marks, the same text)."""
    return msgspec.json.encode(sorted(marks, key=lambda m: m.asset_id)).decode()


def decode_source_marks(raw: str | None, project: Project) -> dict[str, SourceMarks]:
    """The saved marks by asset id, fitted to ``project``: marks of assets no longer in it are
    dropped, an out mark not after its in is dropped; unreadable text reads as none."""
    if raw is None:
        return {}
    try:
        stored = _decoder.decode(raw.encode())
    except msgspec.MsgspecError:
        return {}
    known = {a.id for a in project.assets}
    out: dict[str, SourceMarks] = {}
    for m in stored:
        if m.asset_id not in known:
            continue
        if m.mark_in is not None and m.mark_out is not None and m.mark_out <= m.mark_in:
            m = msgspec.structs.replace(m, mark_out=None)
        out[m.asset_id] = m
    return out
