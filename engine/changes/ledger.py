"""Proposing, applying and reverting changesets under sha256 checks; reconciling after a crash.

A changeset holds one change per path: the text before (with its hash, ``base_hash``) and the
text it should become (``after_hash``). Proposals read through an overlay of what the changeset
already proposes, so a second edit to the same file builds on the first.

**Apply** first refuses, with ``BreaksFile``, a changeset that would leave a file reelcut reads
itself (project.json, the JSON formats in `engine.changes.checks`) unreadable, even with
``force``: nothing is written and the changeset stays as it was. Revert is never refused for
this, since it brings back what was. Apply then checks every file's current sha256 against
``base_hash`` before touching anything; a mismatch raises ``HashMismatch`` naming the path, the
expected and the actual hash. Then it marks the changeset ``in_flight = 'apply'`` and writes
the files as one `sandbox.Batch`: every new version goes to a temp file beside its target, one
durability barrier covers them all, then each is renamed into place (atomic per file) and a
second barrier covers the renames; then the changeset is marked ``applied``. If a write fails,
the files already renamed are put back and the changeset becomes ``failed``. If the process dies
part-way, ``reconcile()`` at the next start finds the in-flight changeset, clears the temp files
it left and compares hashes: all files at ``after`` -> applied; otherwise the written ones are
put back -> ready. **Revert** is the same against ``after_hash``; it is refused while a changeset
applied later changes one of the same files. Hashes only: modification times are never
consulted.

Inside the process that holds the project, the check and the writes of an apply or revert hold
`exclusive.file_writes`, as the session's saves do, so neither lands between the other's check
and write. Reconciling is a writer's job (`exclusive.as_writer`), done when a ledger opens and,
through `finish_interrupted`, when a session opens, before it reads project.json.

A change to a file over 1 MiB keeps only the lines it changes (`engine.changes.contents`): its
versions are rebuilt from the file on disk, hash-checked, so it cannot be forced over a newer
version of the file, and a changeset cannot propose more on top of it once the file changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from engine import sandbox
from engine.changes import checks, contents, delta
from engine.changes.exclusive import as_writer, file_writes, writing_files
from engine.changes.store import Changeset, ChangeStore, FileChange, Status, interrupted
from engine.errors import ReelcutError
from engine.textdiff import unified_diff

Direction = Literal["apply", "revert"]


class ChangesetError(ReelcutError):
    """A changeset that cannot be applied or reverted as asked."""

    exit_code = 10


class HashMismatch(ChangesetError):
    """A file is not what the changeset expects; nothing was written."""

    exit_code = 11

    def __init__(self, path: str, expected: str | None, actual: str | None, direction: Direction):
        self.path, self.expected, self.actual, self.direction = path, expected, actual, direction
        what = "apply" if direction == "apply" else "revert"
        super().__init__(
            f"{path} changed since the changeset was made, so it cannot {what}: expected "
            f"{_short(expected)}, found {_short(actual)}; review with `reelcut changes diff`, "
            f"or {what} with --force to overwrite it"
        )

    def to_json(self) -> dict[str, str | None]:
        return {
            "path": self.path,
            "expected": self.expected,
            "actual": self.actual,
            "direction": self.direction,
        }


class BreaksFile(ChangesetError):
    """Applying would leave a file reelcut reads itself invalid; nothing was written."""

    def __init__(self, changeset_id: int, path: str, problem: str) -> None:
        self.changeset_id, self.path, self.problem = changeset_id, path, problem
        super().__init__(
            f"changeset {changeset_id} would leave {path} invalid ({problem}); nothing was "
            f"written; `reelcut changes DIR diff {changeset_id}` shows it, and the agent (or "
            "you) can fix it in a new changeset"
        )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _short(h: str | None) -> str:
    return "no file" if h is None else f"sha256 {h}"


def _decode(rel: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ChangesetError(f"{rel} is not UTF-8 text; changesets hold text files only") from None


def _refuse_breakage(changeset_id: int, files: list[FileChange], root: Path) -> None:
    """Raise `BreaksFile` for the first file the changeset would leave unreadable to reelcut.
    A large file's new version is rebuilt from the disk to be checked, when it is a file the
    checks read and the disk still holds the version the change was made on (if not, the
    hash check refuses the apply anyway)."""
    for fc in files:
        text = fc.after_text
        if fc.stored_as_delta:
            if not contents.watched(fc.path):
                continue
            try:
                data = contents.side(fc, "after", Files(root).read(fc.path))
            except delta.DeltaMismatch:
                continue
            text = None if data is None else _decode(fc.path, data)
        problem = checks.problem(fc.path, text)
        if problem is not None:
            raise BreaksFile(changeset_id, fc.path, problem)


def _recomposed(
    old: FileChange, shown: str, after: str, after_digest: tuple[str, int] | None
) -> FileChange | None:
    """``old`` (kept as splices) followed by ``shown`` becoming ``after``, as one change
    (`contents.recomposed`); None if they do not compose (the ledger then compares texts)."""
    try:
        found = delta.compose(delta.decode(old.delta or "[]"), delta.splices(shown, after))
    except delta.DeltaMismatch:
        return None
    return contents.recomposed(old, after, found, after_digest or delta.digest(after))


def _text_hash(text: str | None) -> str | None:
    return None if text is None else sha256(text.encode("utf-8"))


@dataclass
class Files:
    """The project's files as the ledger reads and writes them: relative POSIX paths, opened
    through ``engine.sandbox`` so nothing outside the project (or under ``.reelcut/``) is ever
    touched, whatever links lie on the way."""

    root: Path
    _batch: sandbox.Batch | None = None

    @contextlib.contextmanager
    def batch(self, items: list[tuple[str, bytes | None]]) -> Iterator[None]:
        """Stage every new version first (temp files beside the targets, made durable with one
        barrier); inside, ``write(rel, ...)`` renames the staged version into place; on leaving,
        the renames are made durable together and anything not committed is removed.

        A failure while staging changes no file. ``write`` inside commits what was staged for
        ``rel`` (its ``data`` argument must be the staged bytes; it is not written again)."""
        with sandbox.Batch(self.root) as staged:
            for rel, data in items:
                staged.stage(rel, data)
            staged.sync()
            self._batch = staged
            try:
                yield
            finally:
                self._batch = None

    def read(self, rel: str) -> bytes | None:
        try:
            return sandbox.read_bytes(self.root, rel)
        except sandbox.PathNotFound:
            return None

    def read_many(self, rels: list[str]) -> list[bytes | None]:
        return sandbox.read_many(self.root, rels)

    def write(self, rel: str, data: bytes | None) -> None:
        if self._batch is not None:
            self._batch.commit(rel)
        elif data is None:
            if sandbox.exists(self.root, rel):
                sandbox.remove(self.root, rel)
                sandbox.sync_parent(self.root, rel)
        else:
            sandbox.write_atomic(self.root, rel, data, create_parents=True)

    def remove_temp_files(self, paths: list[str]) -> list[str]:
        """Clear what a killed batch left beside ``paths``."""
        return sandbox.remove_temp_files(self.root, [p.rpartition("/")[0] for p in paths])


class Ledger:
    """Changesets of one project."""

    def __init__(self, root: Path, store: ChangeStore) -> None:
        self.files = Files(root)
        self.store = store

    @classmethod
    async def open(cls, root: Path, *, reconcile: bool = True) -> Ledger:
        """The project's ledger. ``reconcile=False`` is for readers: finishing a crashed apply
        is a writer's job, and a reader in another process could meet an apply in flight."""
        ledger = cls(root, await ChangeStore.open(root / ".reelcut"))
        if reconcile:
            await ledger.reconcile()
        return ledger

    async def close(self) -> None:
        await self.store.close()

    # -- proposing -------------------------------------------------------------------------

    async def read(self, changeset_id: int | None, rel: str) -> str | None:
        """The file as the changeset sees it: its proposed text, else the file on disk."""
        rel = sandbox.normalize(self.files.root, rel)
        if changeset_id is not None:
            for fc in await self.store.files(changeset_id):
                if fc.path == rel:
                    if fc.stored_as_delta:
                        return await asyncio.to_thread(self._version, fc, "after")
                    return fc.after_text
        data = await asyncio.to_thread(self.files.read, rel)
        return None if data is None else _decode(rel, data)

    def _version(self, fc: FileChange, wanted: contents.Side) -> str | None:
        """A version of a change kept as splices, rebuilt from the file on disk."""
        try:
            data = contents.side(fc, wanted, self.files.read(fc.path))
        except delta.DeltaMismatch as exc:
            raise ChangesetError(
                f"{exc}, and it changed since changeset {fc.changeset_id} proposed its change; "
                "leave out --changeset to start a new changeset on the file as it is"
            ) from None
        return None if data is None else _decode(fc.path, data)

    async def propose(
        self,
        changeset_id: int,
        rel: str,
        after: str | None,
        *,
        seen: tuple[str | None, str | None] | None = None,
        after_digest: tuple[str, int] | None = None,
    ) -> FileChange:
        """Record that ``rel`` should become ``after`` (None: deleted) in the changeset.

        ``seen`` is the file as the caller read it through this changeset and its sha256 if
        known (``(None, None)``: no file); where the changeset does not change ``rel`` yet,
        that is its base, which spares reading (and holding) a large file twice.
        ``after_digest`` is `delta.digest` of ``after`` if the caller has it."""
        rel = sandbox.normalize(self.files.root, rel)
        cs = await self._get(changeset_id)
        if cs.status not in ("pending", "ready"):
            raise ChangesetError(f"changeset {changeset_id} is {cs.status}; start a new one")
        existing = {fc.path: fc for fc in await self.store.files(changeset_id)}
        if rel in existing:
            old = existing[rel]
            seq, before, base = old.seq, old.before_text, old.base_hash
            if old.stored_as_delta and seen is not None and seen[0] is not None and after:
                # What the changeset made, then this change to it (``seen`` is the file as the
                # changeset showed it): two places stay two splices, and the version before
                # is not read.
                fc = await asyncio.to_thread(_recomposed, old, seen[0], after, after_digest)
                if fc is not None:
                    await self.store.put_file(fc)
                    return fc
            if old.stored_as_delta:
                before = await asyncio.to_thread(self._version, old, "before")
        elif seen is not None:
            before, base = seen
            if before is not None and base is None:
                base = delta.digest(before)[0]
            seq = await self.store.next_seq(changeset_id)
        else:
            data = await asyncio.to_thread(self.files.read, rel)
            before = None if data is None else _decode(rel, data)
            base = None if data is None else sha256(data)
            del data
            seq = await self.store.next_seq(changeset_id)
        if before is None and after is None:
            raise ChangesetError(f"{rel} does not exist, so there is nothing to delete")
        fc = await asyncio.to_thread(
            functools.partial(contents.file_change, after_digest=after_digest),
            changeset_id,
            seq,
            rel,
            base,
            before,
            after,
        )
        await self.store.put_file(fc)
        return fc

    async def mark_ready(self, changeset_id: int) -> None:
        cs = await self._get(changeset_id)
        if cs.status not in ("pending", "ready"):
            raise ChangesetError(f"changeset {changeset_id} is {cs.status}, not a proposal")
        await self.store.set_state(changeset_id, status="ready")

    # -- applying and reverting --------------------------------------------------------------

    async def apply(self, changeset_id: int, *, force: bool = False) -> Changeset:
        cs = await self._get(changeset_id)
        if cs.status not in ("pending", "ready", "failed", "reverted"):
            raise ChangesetError(f"changeset {changeset_id} is {cs.status}; nothing to apply")
        files = await self.store.files(changeset_id)
        # Before the hashes and before any forced rebase: a refusal leaves the record untouched.
        await asyncio.to_thread(_refuse_breakage, changeset_id, files, self.files.root)
        async with writing_files(self.files.root):  # the check and the writes, one step
            await self._move(cs, files, "apply", force)
        return await self._get(changeset_id)

    async def revert(self, changeset_id: int, *, force: bool = False) -> Changeset:
        cs = await self._get(changeset_id)
        if cs.status != "applied":
            raise ChangesetError(
                f"changeset {changeset_id} is {cs.status}; only applied ones revert"
            )
        files = await self.store.files(changeset_id)
        later = await self.store.later_applied_touching(cs, [fc.path for fc in files])
        if later:
            raise ChangesetError(
                f"changeset {', '.join(map(str, later))} was applied later and changes the same "
                f"files; revert {'it' if len(later) == 1 else 'them'} first"
            )
        async with writing_files(self.files.root):  # the check and the writes, one step
            await self._move(cs, files, "revert", force)
        return await self._get(changeset_id)

    async def _move(
        self, cs: Changeset, files: list[FileChange], direction: Direction, force: bool
    ) -> None:
        def source(fc: FileChange) -> str | None:
            return fc.base_hash if direction == "apply" else fc.after_hash

        wanted: contents.Side = "after" if direction == "apply" else "before"

        # 1. Verify every file before touching any (one trip to the file thread).
        paths = [fc.path for fc in files]
        current = dict(zip(paths, await asyncio.to_thread(self._read_all, paths), strict=True))
        hashes: dict[str, str | None] = {}
        forced: list[tuple[FileChange, str | None]] = []
        for fc in files:
            data = current[fc.path]
            actual = hashes[fc.path] = None if data is None else sha256(data)
            if actual != source(fc):
                if not force:
                    raise HashMismatch(fc.path, source(fc), actual, direction)
                if fc.stored_as_delta:
                    raise ChangesetError(
                        f"{fc.path} changed since changeset {cs.id} was made, and the change to "
                        f"it cannot be forced: over {delta.LARGE >> 20} MiB a change keeps only "
                        f"the lines it changes, which do not fit the file now; nothing was "
                        "written. Make the change again on the file as it is"
                    )
                forced.append((fc, None if data is None else _decode(fc.path, data)))
        # A forced write replaces someone's newer version: record that version as this
        # changeset's other side first, so a crash (or a later revert) can bring it back.
        for fc, text in forced:
            await self._rebase(fc, direction, text)
        if forced:
            files = await self.store.files(cs.id)
        # 2. What each file becomes (a large file's version rebuilt and hash-checked), then say
        # what is about to happen, durably, then write.
        try:
            todo = await asyncio.to_thread(
                lambda: [
                    (fc, contents.side(fc, wanted, current[fc.path], current_hash=hashes[fc.path]))
                    for fc in files
                ]
            )
        except delta.DeltaMismatch as exc:
            raise ChangesetError(f"could not {direction} changeset {cs.id}: {exc}") from None
        await self.store.set_state(cs.id, in_flight=direction)
        written: list[FileChange] = []
        try:
            await asyncio.to_thread(self._write_all, todo, written)
        except BaseException as exc:
            # 3a. Put back what was written; the changeset did not happen.
            restore = [(fc, current[fc.path]) for fc in reversed(written)]
            await asyncio.to_thread(self._restore, restore)
            # Every file is where it was: a failed apply leaves the changeset unapplied, a
            # failed revert leaves it applied.
            await self.store.set_state(
                cs.id,
                status="failed" if direction == "apply" else "applied",
                in_flight=None,
                error=f"{direction} failed: {exc}",
            )
            if isinstance(exc, OSError):
                raise ChangesetError(
                    f"could not {direction} changeset {cs.id}: {exc.strerror or exc} "
                    f"({exc.filename or 'a file'}); every file was put back"
                ) from None
            raise
        # 3b. Done.
        if direction == "apply":
            await self.store.set_state(
                cs.id, status="applied", in_flight=None, error=None, applied=True
            )
        else:
            await self.store.set_state(
                cs.id, status="reverted", in_flight=None, error=None, reverted=True
            )

    def _restore(self, items: list[tuple[FileChange, bytes | None]]) -> None:
        with self.files.batch([(fc.path, data) for fc, data in items]):
            for fc, data in items:
                self.files.write(fc.path, data)

    def _read_all(self, paths: list[str]) -> list[bytes | None]:
        return self.files.read_many(paths)

    def _write_all(
        self, todo: list[tuple[FileChange, bytes | None]], written: list[FileChange]
    ) -> None:
        items = [(fc.path, data) for fc, data in todo]
        with self.files.batch(items):
            for fc, data in zip((fc for fc, _ in todo), (d for _, d in items), strict=True):
                self.files.write(fc.path, data)
                written.append(fc)

    async def _rebase(self, fc: FileChange, direction: Direction, text: str | None) -> None:
        """Make ``text`` (what the file holds now) the side this forced move leaves behind."""
        if direction == "apply":
            before, after = text, fc.after_text
        else:
            before, after = fc.before_text, text
        await self.store.rebase_file(
            fc.changeset_id,
            fc.path,
            before_text=before,
            base_hash=_text_hash(before),
            after_text=after,
            after_hash=_text_hash(after),
            diff=unified_diff(before, after, fc.path) if (before, after) != (None, None) else "",
        )

    # -- after a crash ---------------------------------------------------------------------

    async def reconcile(self) -> list[tuple[int, str]]:
        """Finish or undo changesets a crash left half-written; return ``(id, outcome)``.

        Only as the project's writer (`exclusive.as_writer`): while another process holds the
        writer lock, a changeset in flight may be its apply under way, and rolling that back
        would lose it (``reelcut tool`` without --apply did, before). Waits for an apply or
        revert of this process that is under way."""
        if not await self.store.in_flight():
            return []
        async with writing_files(self.files.root):
            with as_writer(self.files.root) as writer:
                return await self._finish_interrupted() if writer else []

    async def _finish_interrupted(self) -> list[tuple[int, str]]:
        outcomes = []
        for cs in await self.store.in_flight():
            files = await self.store.files(cs.id)
            direction = cs.in_flight
            await asyncio.to_thread(self.files.remove_temp_files, [fc.path for fc in files])
            now = await asyncio.to_thread(self.files.read_many, [fc.path for fc in files])
            hashes = {
                fc.path: None if data is None else sha256(data)
                for fc, data in zip(files, now, strict=True)
            }
            if direction == "apply":
                done = [fc for fc in files if hashes[fc.path] == fc.after_hash]
                at_start = [fc for fc in files if hashes[fc.path] == fc.base_hash]
            else:
                done = [fc for fc in files if hashes[fc.path] == fc.base_hash]
                at_start = [fc for fc in files if hashes[fc.path] == fc.after_hash]
            if len(done) == len(files):
                status: Status = "applied" if direction == "apply" else "reverted"
                await self.store.set_state(
                    cs.id,
                    status=status,
                    in_flight=None,
                    applied=direction == "apply",
                    reverted=direction == "revert",
                )
                outcomes.append((cs.id, f"finished the interrupted {direction}"))
                continue
            strays = [fc.path for fc in files if fc not in done and fc not in at_start]
            # Roll the written files back so the changeset is all-or-nothing again.
            start: contents.Side = "before" if direction == "apply" else "after"
            back_out = [
                (fc, contents.side(fc, start, data))
                for fc, data in zip(files, now, strict=True)
                if fc in done and fc not in at_start  # else unchanged (before == after)
            ]
            if back_out:
                await asyncio.to_thread(self._restore, back_out)
            if strays:
                await self.store.set_state(
                    cs.id,
                    status="failed",
                    in_flight=None,
                    error=f"interrupted {direction}; changed by someone else: {', '.join(strays)}",
                )
                outcomes.append((cs.id, f"rolled back; {', '.join(strays)} changed elsewhere"))
            else:
                back: Status = "ready" if direction == "apply" else "applied"
                await self.store.set_state(cs.id, status=back, in_flight=None)
                outcomes.append((cs.id, f"rolled back the interrupted {direction}"))
        return outcomes

    async def get(self, changeset_id: int) -> Changeset:
        """The changeset, or ChangesetError naming the command that lists them."""
        return await self._get(changeset_id)

    async def _get(self, changeset_id: int) -> Changeset:
        cs = await self.store.get(changeset_id)
        if cs is None:
            raise ChangesetError(
                f"no changeset {changeset_id}; `reelcut changes DIR list` shows them"
            )
        return cs


def finish_interrupted(root: Path, conn: sqlite3.Connection) -> list[tuple[int, str]]:
    """`Ledger.reconcile` for a writer that opens the project without a ledger: the session,
    under the writer lock, before it reads project.json, so no edit lands on half a changeset a
    killed apply left. One query on ``conn`` (the state database) when nothing is in flight."""
    if not interrupted(conn):
        return []
    lock = file_writes(root)
    if not lock.acquire(blocking=False):
        # An apply or revert of this process is under way: the changeset in flight is its own,
        # and what a killed one left was finished when that ledger opened.
        return []

    async def finish() -> list[tuple[int, str]]:
        ledger = await Ledger.open(root, reconcile=False)
        try:
            return await ledger._finish_interrupted()
        finally:
            await ledger.close()

    try:
        # On an event loop of its own: the caller may be running one (a command's door).
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, finish()).result()
    finally:
        lock.release()
