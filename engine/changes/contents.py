"""What a file change keeps of the file: whole texts, or, past a size, only what changed.

A change keeps the text before and after (None where the file does not exist), except a change
to a file over `delta.LARGE` bytes that exists on both sides (and is not project.json, whose
text before the changeset a review replays the timeline from): that one keeps its splices
(`engine.changes.delta`) and no copy of the file. Its two versions are then the file on disk,
named by ``base_hash`` and ``after_hash``, and the splices between them: `side` rebuilds the
version a move writes from the one the file holds, checking both hashes. What such a change
costs to keep is the lines it changes; what it cannot do is rebuild a version from a file
that is at neither hash (a forced apply over someone's newer edit: the ledger refuses it).

The ledger (`engine.changes.ledger`) asks this module how to store a proposal
(`file_change`) and what to write (`side`); the checks and the writing stay the ledger's.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from engine.changes import delta
from engine.changes.store import FileChange
from engine.projectfile import PROJECT_FILE
from engine.textdiff import unified_diff

Side = Literal["before", "after"]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else delta.digest(text)[1]


def file_change(
    changeset_id: int,
    seq: int,
    rel: str,
    base_hash: str | None,
    before: str | None,
    after: str | None,
    *,
    after_digest: tuple[str, int] | None = None,
) -> FileChange:
    """The record of ``rel`` going from ``before`` (whose sha256 is ``base_hash``) to
    ``after``: whole texts, or splices for a large file that exists on both sides.
    ``after_digest`` is `delta.digest` of ``after`` when the caller has it."""
    before_bytes = 0 if before is None else _utf8_size(before)
    if after is None:
        after_hash, after_bytes = None, 0
    else:
        after_hash, after_bytes = after_digest or delta.digest(after)
    large = max(before_bytes, after_bytes) > delta.LARGE
    if before is not None and after is not None and large and rel.casefold() != PROJECT_FILE:
        found = delta.splices(before, after)
        return FileChange(
            changeset_id=changeset_id,
            seq=seq,
            path=rel,
            base_hash=base_hash,
            after_hash=after_hash,
            before_text=None,
            after_text=None,
            diff=delta.unified(before, found, rel),
            before_bytes=before_bytes,
            after_bytes=after_bytes,
            delta=delta.encode(found),
        )
    return FileChange(
        changeset_id=changeset_id,
        seq=seq,
        path=rel,
        base_hash=base_hash,
        after_hash=after_hash,
        before_text=before,
        after_text=after,
        diff=unified_diff(before, after, rel),
        before_bytes=before_bytes,
        after_bytes=after_bytes,
    )


def recomposed(
    old: FileChange, after: str, found: list[delta.Splice], after_digest: tuple[str, int]
) -> FileChange | None:
    """``old``, a change kept as splices, made to end at ``after`` instead, with ``found``
    (`delta.compose` of its splices and the step to ``after``), without the version before:
    its hash is checked by undoing ``found`` on ``after``, and the diff's context comes from
    ``after``. None if ``found`` does not lead back to ``old``'s base (the caller then
    compares the texts); two edits far apart stay two splices, not the file between."""
    try:
        back = delta.apply(after.encode("utf-8"), found, reverse=True)
    except delta.DeltaMismatch:
        return None
    if _sha256(back) != old.base_hash:
        return None
    del back
    return FileChange(
        changeset_id=old.changeset_id,
        seq=old.seq,
        path=old.path,
        base_hash=old.base_hash,
        after_hash=after_digest[0],
        before_text=None,
        after_text=None,
        diff=delta.unified(after, found, old.path, text_is="after"),
        before_bytes=old.before_bytes,
        after_bytes=after_digest[1],
        delta=delta.encode(found),
    )


def side(
    fc: FileChange, wanted: Side, current: bytes | None, *, current_hash: str | None = None
) -> bytes | None:
    """The bytes of the ``wanted`` version of ``fc`` (None: no file there).

    A change kept whole has them; a change kept as splices takes them from ``current``, the
    file as it is: as it is if it is at the wanted version's hash, else rebuilt from it at the
    other version's hash (`delta.DeltaMismatch` if it is at neither, or if the rebuilt bytes
    are not at the wanted hash). ``current_hash``, when the caller has it, spares hashing
    ``current`` again."""
    if fc.delta is None:
        text = fc.after_text if wanted == "after" else fc.before_text
        return None if text is None else text.encode("utf-8")
    source, target = (
        (fc.base_hash, fc.after_hash) if wanted == "after" else (fc.after_hash, fc.base_hash)
    )
    actual = current_hash
    if actual is None and current is not None:
        actual = _sha256(current)
    if actual == target:
        return current
    if current is None or actual != source:
        raise delta.DeltaMismatch(
            f"{fc.path} is not the version this change was made on (over "
            f"{delta.LARGE >> 20} MiB, a change keeps only the lines it changes)"
        )
    rebuilt = delta.apply(current, delta.decode(fc.delta), reverse=wanted == "before")
    if _sha256(rebuilt) != target:
        raise delta.DeltaMismatch(f"{fc.path}: the change does not rebuild the recorded version")
    return rebuilt


def watched(rel: str) -> bool:
    """Whether `engine.changes.checks.problem` may object to a text at ``rel`` (a JSON file):
    only then does an apply rebuild a large file's new version to check it first."""
    return rel.casefold() == PROJECT_FILE or rel.rsplit("/", 1)[-1].lower().endswith(".json")
