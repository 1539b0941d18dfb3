"""The session: the one object through which an open project changes.

It holds the project's writer lock, applies operations, writes project.json after each committed
edit, records every edit in the undo history of ``.reelcut/state.sqlite`` and tells listeners
about each new revision. The TUI, the preview server, the CLI and the agent are all clients of
this API.

Undo and redo survive restarts: each step stores the primitives it applied, their exact inverse,
and the sha256 of project.json before and after. Undo only runs when the file on disk is the
one the step produced (saves that are not steps, like a moved playhead or an undo, move those
hashes along), so an edit made outside reelcut is never silently overwritten. When the file on
disk is what an applied changeset made it, the refusal says so and names the revert that brings
undo back (`way_back`), also when that changeset left the file invalid.

Opening a session finishes or rolls back a changeset that a killed apply left half-written
(`engine.changes.ledger.finish_interrupted`) before project.json is read, so nothing is edited on
half a changeset. The saves run under `engine.changes.exclusive.file_writes`, as the ledger's
applies do, so a changeset applied in the same process (an agent run's auto-apply in the editor)
never lands between a save's check of the file and its write.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shlex
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Concatenate, Literal, ParamSpec, TypeVar

import msgspec

from engine.changes.exclusive import file_writes
from engine.changes.ledger import finish_interrupted
from engine.errors import ReelcutError
from engine.events import insert_event
from engine.lock import WriterLock
from engine.model import EditorState, Project, SourceMarks
from engine.ops import Op, OpError, decode_op
from engine.ops import Result as OpResult
from engine.projectdir import ProjectDir
from engine.projectfile import (
    PROJECT_FILE,
    decode_project,
    project_bytes,
    write_project,
    written_by_us,
)
from engine.source_marks import SOURCE_MARKS, decode_source_marks, encode_source_marks
from engine.state import db
from engine.state.history import History, Step
from engine.validate import problems

P = ParamSpec("P")
R = TypeVar("R")
PENDING = "pending"  # the meta key of the journal (see the module's docstring)
VIEW = "view"  # the meta key of the view: playhead, zoom, selection, marks (not in project.json)


class HistoryConflict(ReelcutError):
    """Undo/redo refused because project.json is not the file the history expects."""

    exit_code = 8


@dataclass(frozen=True)
class Change:
    """One committed change, as listeners and the CLI see it."""

    revision: int
    kind: Literal["edit", "undo", "redo", "editor", "reload", "import"]
    summary: str
    touched: frozenset[str]

    def to_json(self) -> dict[str, object]:
        return {
            "revision": self.revision,
            "kind": self.kind,
            "summary": self.summary,
            "touched": sorted(self.touched),
        }


Listener = Callable[[Change], None]


def _one_writer(
    method: Callable[Concatenate[Session, P], R],
) -> Callable[Concatenate[Session, P], R]:
    """A method that checks project.json and writes it, run under `file_writes`: no changeset
    is applied or reverted by this process between its check and its write."""

    @functools.wraps(method)
    def guarded(self: Session, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._file_writes:
            return method(self, *args, **kwargs)

    return guarded


class Session:
    """An open project. Use as a context manager, or call ``close()``."""

    def __init__(
        self,
        root: Path | str,
        *,
        author: str = "user",
        purpose: str = "reelcut",
        lock: WriterLock | None = None,
    ) -> None:
        """Take the project's writer lock, or use ``lock`` that the caller holds (and
        releases itself: a holder that opens its session late, see `Workspace.session`)."""
        self.dir = ProjectDir(root)
        self.author = author
        self._owns_lock = lock is None
        self._lock = self.dir.writer(purpose) if lock is None else lock
        self._file_writes = file_writes(self.dir.root)
        self._project: Project
        self._hash: str
        conn: sqlite3.Connection | None = None
        try:
            self._load()
            conn = self._conn = db.connect(self.dir.state / db.STATE_FILE)
            # A changeset a killed apply left half-written is finished or rolled back before
            # anything is edited on it (and the file read again).
            if finish_interrupted(self.dir.root, conn):
                self._load()
        except BaseException:
            if conn is not None:
                conn.close()
            if self._owns_lock:
                self._lock.release()
            raise
        self.history = History(self._conn)
        self._recover()
        self._project = with_view(self._project, self._meta(VIEW))
        self._saved_view = self._project.editor
        self._revision = int(self._meta("revision") or 0)
        self._group: int | None = None
        self._listeners: list[Listener] = []

    # -- reading ---------------------------------------------------------------------------

    @property
    def project(self) -> Project:
        return self._project

    @property
    def revision(self) -> int:
        """Counts committed changes over the project's life (kept in the state database)."""
        return self._revision

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` after every committed change; returns an unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def steps(self, limit: int = 1000) -> list[Step]:
        return self.history.steps(limit)

    def source_marks(self) -> dict[str, SourceMarks]:
        """Each bin item's saved source playhead and marks (`engine.source_marks`)."""
        return decode_source_marks(self._meta(SOURCE_MARKS), self._project)

    def set_source_marks(self, marks: Iterable[SourceMarks]) -> None:
        """Save the source marks in the state database: not an edit, not an undo step, no
        new revision (project.json is not touched; nothing on the timeline changed)."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._set_meta(SOURCE_MARKS, encode_source_marks(marks))
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    # -- changing --------------------------------------------------------------------------

    @_one_writer
    def apply(self, op: Op, *, author: str | None = None) -> Change:
        """Apply ``op`` and commit it as an undo step (part of the open group, if any)."""
        self._check_disk()
        result = op.apply(self._project)
        if not result.forward.steps:
            return Change(self._revision, "edit", f"{result.summary} (no change)", frozenset())
        self._step(op, result, result.summary, author)
        return self._commit("edit", result.summary, result.touched)

    @_one_writer
    def apply_each(
        self, ops: list[Op], *, author: str | None = None
    ) -> tuple[Change | None, list[tuple[Op, str]]]:
        """Apply ``ops`` in order as one undo step with one write of project.json and one
        commit (takes landing together, `engine.tts.landing`). An op the project refuses is
        skipped and returned with its reason; the others still apply. The change is None
        when nothing changed."""
        self._check_disk()
        project = self._project
        refused: list[tuple[Op, str]] = []
        done: list[tuple[Op, OpResult]] = []
        for op in ops:
            try:
                result = op.apply(project)
            except OpError as exc:
                refused.append((op, str(exc)))
                continue
            if result.forward.steps:
                done.append((op, result))
                project = result.project
        if not done:
            return None, refused
        data = project_bytes(project)
        after = _sha(data)
        group = self._group if self._group is not None else self.history.next_group_id()
        seqs: list[int] = []
        touched: set[str] = set()
        before = self._hash
        with self.history._tx():
            for i, (op, result) in enumerate(done):
                # Only the group's ends are files; its inner hashes name the step's project.
                last = i == len(done) - 1
                step_after = after if last else _sha(project_bytes(result.project))
                seqs.append(
                    self.history.record(
                        group_id=group,
                        label=result.summary,
                        author=author or self.author,
                        op_json=msgspec.json.encode(op).decode(),
                        forward_json=msgspec.json.encode(result.forward).decode(),
                        inverse_json=msgspec.json.encode(result.inverse).decode(),
                        before_hash=before,
                        after_hash=step_after,
                    )
                )
                before = step_after
                touched |= result.touched
            self._journal({"kind": "edit", "seqs": seqs, "before": self._hash, "after": after})
        self._write(project, data)
        summaries = [r.summary for _, r in done]
        summary = summaries[0] if len(done) == 1 else f"{len(done)} edits: " + "; ".join(summaries)
        return self._commit("edit", summary, frozenset(touched)), refused

    @contextmanager
    def group(self) -> Iterator[None]:
        """Edits inside this block undo and redo as one step (one gesture, one changeset)."""
        if self._group is not None:
            yield
            return
        self._group = self.history.next_group_id()
        try:
            yield
        finally:
            self._group = None

    @_one_writer
    def undo(self) -> Change | None:
        """Undo the latest group; None when there is nothing to undo."""
        steps = self.history.last_done_group()
        if not steps:
            return None
        self._check_history(steps[-1].after_hash, "undo", steps[-1].label)
        touched: set[str] = set()
        project = self._project
        for step in reversed(steps):
            result = decode_op(step.inverse_json.encode()).apply(project)
            project = result.project
            touched |= result.touched
        project = _ids_kept(project, self._project)
        group = steps[0].group_id
        self._save(project, {"kind": "undo", "group": group})

        def bookkeep() -> None:
            self.history.mark(group, undone=True)
            self.history.retarget(self._hash)

        return self._commit("undo", f"undid: {_label(steps)}", frozenset(touched), bookkeep)

    @_one_writer
    def redo(self) -> Change | None:
        """Redo the earliest undone group; None when there is nothing to redo."""
        steps = self.history.first_undone_group()
        if not steps:
            return None
        self._check_history(steps[0].before_hash, "redo", steps[0].label)
        touched: set[str] = set()
        project = self._project
        for step in steps:
            result = decode_op(step.forward_json.encode()).apply(project)
            project = result.project
            touched |= result.touched
        project = _ids_kept(project, self._project)
        group = steps[0].group_id
        self._save(project, {"kind": "redo", "group": group})

        def bookkeep() -> None:
            self.history.mark(group, undone=False)
            self.history.retarget(self._hash)

        return self._commit("redo", f"redid: {_label(steps)}", frozenset(touched), bookkeep)

    def set_editor(self, **changes: object) -> Change:
        """Change the view (playhead, zoom, selection...): saved in the state database, not in
        project.json, and not undoable, so moving around never changes the timeline's file
        (a changeset waiting on it still applies, and nothing is refused when the file changed
        outside: the next reload keeps the view)."""
        try:
            editor = msgspec.structs.replace(self._project.editor, **changes)
            editor = msgspec.convert(msgspec.to_builtins(editor), EditorState)
        except (TypeError, msgspec.ValidationError) as exc:
            raise OpError(f"invalid editor state: {exc}") from None
        self._project = fit_view(self._project, editor)
        return self._commit("editor", "editor state", frozenset())

    @_one_writer
    def save_import(self, with_assets: Project, placing: Op, summary: str, label: str) -> Change:
        """Save an import in one write of project.json: ``with_assets`` (this project with the
        import's new assets, made outside the ops) with ``placing`` applied on it (the tracks
        and clips that put them on the timeline, `engine.media.importer.separate_placement`).

        The assets are a change that is not an undo step, like `set_editor`: undo never takes
        media out of the bin. The placing is one undo step, labelled ``label``: undo takes its
        clips (and the tracks it added) off the timeline and keeps the assets, redo puts the
        same clips back with the same ids. Its before-hash is the file before the import; its
        undo moves that along to the file it leaves (the assets without the clips), as every
        undo does, and redo starts from there. A kill leaves the whole import or nothing: the
        step is journaled as an edit's is, and dropped when its file never landed. An import
        that places nothing is no step."""
        self._check_disk()
        result = placing.apply(with_assets)
        if not result.forward.steps:
            self._save(with_assets, {"kind": "retarget"})
            return self._commit(
                "import", summary, frozenset({"assets"}), lambda: self.history.retarget(self._hash)
            )
        self._step(placing, result, label, None)
        return self._commit("import", summary, frozenset({"assets"}) | result.touched)

    def reload(self) -> Change | None:
        """Pick up a project.json changed outside this session (an applied changeset, the CLI,
        another tool); None when the file is the one this session wrote last.

        The new project is validated like any file reelcut did not write; if it is broken the
        session keeps what it has and raises (and edits stay refused until the file is fixed).
        The undo history is kept, but steps from before the change refuse to run, because the
        file is no longer the one they produced."""
        try:
            data = self.dir.project_json.read_bytes()
        except FileNotFoundError:
            raise ReelcutError(
                f"{PROJECT_FILE} disappeared outside this session; restore it (for example "
                "`reelcut changes DIR revert ID`) and reload"
            ) from None
        digest = _sha(data)
        if digest == self._hash:
            return None
        project = decode_project(data, trusted=written_by_us(self.dir.root, data))
        self._project, self._hash = fit_view(project, self._project.editor), digest
        summary = f"reloaded {PROJECT_FILE}, changed outside this session"
        return self._commit("reload", summary, frozenset({"project"}))

    def close(self) -> None:
        self._conn.close()
        if self._owns_lock:
            self._lock.release()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------

    def _load(self) -> None:
        data = self.dir.project_json.read_bytes()
        self._project = decode_project(data, trusted=written_by_us(self.dir.root, data))
        self._hash = _sha(data)

    def _save(self, project: Project, journal: dict[str, object]) -> None:
        """Journal, then write (the caller's `_commit` does the bookkeeping and clears it)."""
        data = project_bytes(project)
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._journal({**journal, "before": self._hash, "after": _sha(data)})
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._write(project, data)

    def _step(self, op: Op, result: OpResult, label: str, author: str | None) -> None:
        """Record ``result`` of ``op`` as an undo step (in the open group, if any) and journal
        it, then write its file (the caller's `_commit` does the bookkeeping)."""
        before = self._hash
        data = project_bytes(result.project)
        after = _sha(data)
        group = self._group if self._group is not None else self.history.next_group_id()
        with self.history._tx():  # the step and the journal, before the file
            seq = self.history.record(
                group_id=group,
                label=label,
                author=author or self.author,
                op_json=msgspec.json.encode(op).decode(),
                forward_json=msgspec.json.encode(result.forward).decode(),
                inverse_json=msgspec.json.encode(result.inverse).decode(),
                before_hash=before,
                after_hash=after,
            )
            self._journal({"kind": "edit", "seq": seq, "before": before, "after": after})
        self._write(result.project, data)

    def _write(self, project: Project, data: bytes) -> None:
        digest = _sha(data)
        if digest != self._hash:  # an edit of the view only (marks, selection) keeps the file
            write_project(self.dir.root, data)
        self._project = project
        self._hash = digest

    def _journal(self, entry: dict[str, object]) -> None:
        self._set_meta(PENDING, json.dumps(entry))

    def _recover(self) -> None:
        """Finish or drop what a session killed between its journal and its bookkeeping left
        (see the module's docstring); the file decides."""
        raw = self._meta(PENDING)
        if raw is None:
            return
        entry = json.loads(raw)
        landed = self._hash == entry.get("after")
        with self.history._tx():
            kind = entry.get("kind")
            if kind == "edit" and not landed:  # its file never replaced the old one
                for seq in entry.get("seqs") or [entry["seq"]]:
                    self.history.drop(int(seq))
            elif kind in ("undo", "redo") and landed:
                self.history.mark(int(entry["group"]), undone=kind == "undo")
                self.history.retarget(self._hash)
            elif kind == "retarget" and landed:
                self.history.retarget(self._hash)
            self._conn.execute("DELETE FROM meta WHERE key = ?", (PENDING,))

    def _commit(
        self,
        kind: Literal["edit", "undo", "redo", "editor", "reload", "import"],
        summary: str,
        touched: frozenset[str],
        bookkeep: Callable[[], None] | None = None,
    ) -> Change:
        self._revision += 1
        change = Change(self._revision, kind, summary, touched)
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            if bookkeep is not None:
                bookkeep()
            self._conn.execute("DELETE FROM meta WHERE key = ?", (PENDING,))
            self._set_meta("revision", str(self._revision))
            if self._project.editor != self._saved_view:
                self._set_meta(VIEW, msgspec.json.encode(self._project.editor).decode())
            # On the one event stream; other processes' streams see it through the database.
            insert_event(self._conn, "project", kind, change.to_json())
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._saved_view = self._project.editor
        for listener in list(self._listeners):
            listener(change)
        return change

    def _disk_hash(self) -> str:
        try:
            return _sha(self.dir.project_json.read_bytes())
        except FileNotFoundError:
            return "missing"

    def _check_disk(self) -> None:
        if self._disk_hash() != self._hash:
            raise HistoryConflict(
                f"{PROJECT_FILE} was changed outside this session; reload the project to "
                "pick up that change before editing (nothing was written)"
            )

    def _check_history(self, expected: str, action: str, label: str) -> None:
        actual = self._disk_hash()
        if actual != expected or self._hash != expected:
            hint = _changeset_hint(self._conn, self.dir.root, actual, action)
            raise HistoryConflict(
                f"cannot {action} '{label}': {PROJECT_FILE} is not the version that edit "
                f"{'produced' if action == 'undo' else 'started from'} (it was changed outside "
                f"this session); nothing was written" + (f"; {hint}" if hint else "")
            )

    def _meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self._conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) "
            "DO UPDATE SET value = excluded.value",
            (key, value),
        )


def seed_view(pd: ProjectDir, editor: EditorState) -> None:
    """Give a new project (whose writer lock the caller holds) the view it opens with."""
    conn = db.connect(pd.state / db.STATE_FILE)
    try:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) "
            "DO UPDATE SET value = excluded.value",
            (VIEW, msgspec.json.encode(editor).decode()),
        )
    finally:
        conn.close()


def read_view(root: Path | str) -> EditorState | None:
    """The view the project's session saved last (a reader's look: no lock, nothing made);
    None when there is none yet or the state database cannot say."""
    path = ProjectDir(root).state / db.STATE_FILE
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (VIEW,)).fetchone()
        finally:
            conn.close()
        return None if row is None else msgspec.json.decode(row[0], type=EditorState)
    except (sqlite3.Error, msgspec.MsgspecError):
        return None


def with_view(project: Project, raw: str | None) -> Project:
    """``project`` with the view saved in the state database (``raw``, JSON), fitted to it; a
    project never opened before keeps the view its file carried (files written before the
    view moved out of project.json), and an unreadable saved view is dropped."""
    if raw is None:
        return project
    try:
        editor = msgspec.json.decode(raw.encode(), type=EditorState)
    except msgspec.MsgspecError:
        return project
    return fit_view(project, editor)


def fit_view(project: Project, editor: EditorState) -> Project:
    """``project`` showing ``editor``, less what no longer fits it: selected clips that are
    gone, and marks that are not in order."""
    clips = {c.id for t in project.tracks for c in t.clips}
    selection = tuple(i for i in editor.selection if i in clips)
    marks_ok = editor.mark_in is None or editor.mark_out is None or editor.mark_out > editor.mark_in
    if selection != editor.selection or not marks_ok:
        editor = msgspec.structs.replace(
            editor,
            selection=selection,
            mark_out=editor.mark_out if marks_ok else None,
        )
    if editor == project.editor:
        return project
    return msgspec.structs.replace(project, editor=editor)


def way_back(root: Path | str, action: str) -> str | None:
    """How to make ``action`` (undo, redo) possible again when ``root``'s project.json is the file
    an applied changeset wrote: that changeset and the command that reverts it. None when no
    applied changeset wrote the file on disk, or the state database cannot say.

    For a session that could not open (project.json invalid); an open one says it by itself."""
    pd = ProjectDir(root)
    path = pd.state / db.STATE_FILE
    try:
        disk = _sha(pd.project_json.read_bytes())
        if not path.is_file():
            return None  # no changeset ever ran here; and a refusal must not create anything
        conn = db.connect(path)
    except (OSError, ReelcutError):
        return None  # only a hint: the error it would be added to says what matters
    try:
        return _changeset_hint(conn, pd.root, disk, action)
    finally:
        conn.close()


def _changeset_hint(
    conn: sqlite3.Connection, root: Path, disk_hash: str, action: str
) -> str | None:
    # The applied changeset that changed project.json last; only if the file is still what it
    # wrote does reverting it lead back (else something changed the file since, and a revert
    # would throw that away).
    try:
        row = conn.execute(
            "SELECT c.id, c.author, f.after_hash FROM changesets c "
            "JOIN file_changes f ON f.changeset_id = c.id "
            "WHERE c.status = 'applied' AND f.path = ? "
            "ORDER BY c.applied_order DESC LIMIT 1",
            (PROJECT_FILE,),
        ).fetchone()
    except sqlite3.Error:
        return None
    if row is None or row[2] != disk_hash:
        return None
    changeset, author, _after = row
    return (
        f"{PROJECT_FILE} was last changed by changeset {changeset} ({author}); "
        f"`reelcut changes {shlex.quote(str(root))} revert {changeset}` undoes that, then "
        f"{action} works again"
    )


def _ids_kept(project: Project, current: Project) -> Project:
    """``project`` (what an undo or redo made of ``current``) with ids handed out since the
    step still taken. A step's primitives put ``next_id`` back to its value then, but a save that
    is not a step (an import's assets, `Session.save_import`) may have used ids above it
    meanwhile; the project would then be invalid and the undo refused for good. Only then
    ``next_id`` stays at ``current``'s (every id in use is below it), so an undo with nothing in
    between still restores the exact bytes."""
    if project.next_id >= current.next_id:
        return project
    if not any(path == "$.next_id" for path, _ in problems(project)):
        return project
    return msgspec.structs.replace(project, next_id=current.next_id)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _label(steps: list[Step]) -> str:
    return steps[0].label if len(steps) == 1 else f"{steps[0].label} (+{len(steps) - 1} more)"
