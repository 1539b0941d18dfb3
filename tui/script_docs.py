"""The documents behind the script panes, and what becomes of them against the disk.

A file open in two panes is one `Doc`: the saved version (its base: the text and hash it was
read or saved at), a conflict with the disk and the last check's finding are the document's.
`ScriptDocs` holds the open documents by path and decides, through the project's door
(`engine.workspace.Workspace`), what a save, a look at the disk and a conflict come to:

- a save is checked first (`Workspace.check_script`); a refused one goes through when it is
  asked for again within `AGAIN_WINDOW` with the same text, and it is written only over the
  document's base (`Workspace.save_script`: `FileConflict` otherwise, and the document is
  marked);
- a file that moved on disk (`ScriptDocs.look`) comes back as news: `Moved` (no edits: the
  views follow in place), `Diverged` (edits, or the file is gone: marked, edits kept),
  `Returned` (the disk is back at the base: the conflict is over) or `Unreadable`;
- a conflict is compared (`ScriptDocs.compare`): the disk's text and hash, and both sides'
  edits merged on the base when they do not touch (`Workspace.merge_texts`); what the user
  then picks comes to an `Outcome` (`ScriptDocs.choose`).

No widgets here: the views' text and whether they hold edits come in as arguments, and the
panes (`tui.scripts.ScriptPanes`) show the outcome.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from engine.workspace import PROJECT_FILE, FileConflict, Problem, ReelcutError, Workspace
from tui.script_dialogs import MERGED, MINE, THEIRS

AGAIN_WINDOW = 3.0  # seconds in which a second close discards edits, a second save skips checks


@dataclass(eq=False)
class Doc:
    """One open file, shown by one or more panes."""

    path: str
    saved_text: str  # what is on disk as far as this document knows (its base)
    base_hash: str | None
    conflict: bool = False  # the disk moved away from the base while there were edits
    deleted: bool = False  # ... by deleting the file
    problem: str = ""  # the last check's finding, shown in the title until the next save

    @property
    def read_only(self) -> bool:
        """project.json changes through the session (the timeline, undo), never as text."""
        return self.path == PROJECT_FILE

    def settle(self, text: str, digest: str) -> None:
        """The disk holds ``text`` (hashing to ``digest``) and that is the new base: no
        conflict, no finding."""
        self.saved_text, self.base_hash = text, digest
        self.conflict = self.deleted = False
        self.problem = ""


# -- what the disk did to an open document (`ScriptDocs.look`) -----------------------------------


@dataclass(frozen=True)
class Returned:
    """The disk is back at the document's base: the conflict is over."""


@dataclass(frozen=True)
class Diverged:
    """The disk moved while the document has edits, or the file went (``deleted``): the
    document is marked, its edits kept."""

    deleted: bool


@dataclass(frozen=True)
class Moved:
    """The disk has a new version and the document no edits: its views follow."""

    text: str
    digest: str


@dataclass(frozen=True)
class Unreadable:
    """The disk has a new version the panes cannot show (binary now, too large)."""

    reason: str


DiskNews = Returned | Diverged | Moved | Unreadable


@dataclass(frozen=True)
class Comparison:
    """Both sides of a conflict: the document's text, the disk's text and hash (None: the file
    is gone), and both sides' edits merged on the base (None: they touch, or no file)."""

    mine: str
    theirs: str | None
    disk_hash: str | None
    merged: str | None


@dataclass(frozen=True)
class Outcome:
    """What a choice in a conflict comes to (`ScriptDocs.choose`): the line that says so, and
    for the views a new text (None: as they are), a save to announce (its hash), that the
    file is gone and they close, or where the text was refused."""

    said: str
    text: str | None = None
    saved: str | None = None
    closed: bool = False
    problem: tuple[int, int] | None = None
    """Where the text was refused (line, column; 1-based): the cursor goes there."""


class ScriptDocs:
    """The open documents by path, and their reads, checks and saves through the door."""

    def __init__(self, door: Workspace) -> None:
        self.door = door
        self.docs: dict[str, Doc] = {}
        self._refused: tuple[Doc, str, float] | None = None  # the last save a check refused

    def add(self, path: str, text: str, digest: str) -> Doc:
        doc = Doc(path, text, digest)
        self.docs[path] = doc
        return doc

    def forget(self, doc: Doc) -> None:
        """The last view of ``doc`` closed."""
        if self.docs.get(doc.path) is doc:
            del self.docs[doc.path]

    def renamed(self, doc: Doc, new: str) -> None:
        self.docs.pop(doc.path, None)
        doc.path = new
        self.docs[new] = doc

    # -- saving ------------------------------------------------------------------------------

    async def check(self, doc: Doc, text: str, *, anyway: bool = False) -> Problem | None:
        """What keeps ``text`` from being saved as ``doc`` (its finding is the document's
        ``problem``), or None: always None when ``anyway``, or when the same text was refused
        less than `AGAIN_WINDOW` seconds ago (asking again saves it as it is)."""
        refused, self._refused = self._refused, None
        if anyway or (
            refused is not None
            and refused[0] is doc
            and refused[1] == text
            and time.monotonic() - refused[2] < AGAIN_WINDOW
        ):
            return None
        problem = await self.door.check_script(doc.path, text)
        if problem is not None:
            doc.problem = f"line {problem.line}, column {problem.column}: {problem.message}"
            self._refused = (doc, text, time.monotonic())
        return problem

    async def save(self, doc: Doc, text: str, base_hash: str | None) -> str:
        """Write ``text`` as ``doc`` over the version hashing to ``base_hash`` (the document's
        base, or the disk's version the user chose to replace) and make it the base; the new
        hash. `FileConflict` (the document marked) when the disk has another version."""
        try:
            # Not announced here: the panes say Saved, and the editor announces that.
            digest = await self.door.save_script(doc.path, text, base_hash, announce=False)
        except FileConflict:
            doc.conflict = True
            raise
        doc.settle(text, digest)
        return digest

    # -- the disk moved ----------------------------------------------------------------------

    async def look(self, doc: Doc, dirty: Callable[[], bool]) -> DiskNews | None:
        """What the disk did to ``doc`` since its base, or None (nothing new). ``dirty`` says
        whether its views hold edits now (asked after the disk is read: typing goes on)."""
        now = await self.door.script_hash(doc.path)
        if now == doc.base_hash:
            if doc.conflict and now is not None:
                doc.conflict = doc.deleted = False
                return Returned()
            return None
        if now is None or dirty():
            if doc.conflict:
                return None  # already marked and said
            doc.conflict, doc.deleted = True, now is None
            return Diverged(deleted=now is None)
        try:
            text, digest = await self.door.read_script(doc.path)
        except ReelcutError as exc:
            return Unreadable(str(exc))
        return Moved(text, digest)

    async def compare(self, doc: Doc, mine: str) -> Comparison:
        """The disk's side of ``doc`` against ``mine`` (its views' text); a `ReelcutError`
        when the file is there but cannot be read."""
        try:
            theirs, disk_hash = await self.door.read_script(doc.path)
        except ReelcutError:
            if await self.door.script_hash(doc.path) is not None:
                raise
            return Comparison(mine, None, None, None)
        merged = await self.door.merge_texts(doc.saved_text, mine, theirs)
        return Comparison(mine, theirs, disk_hash, merged)

    async def choose(self, doc: Doc, seen: Comparison, choice: str | None) -> Outcome:
        """Do what the user picked in the conflict ``seen`` (`tui.script_dialogs`' choices):
        both edits on the disk's version (unsaved), the document's text saved over the disk's,
        or the disk's version taken (the views close when the file is gone)."""
        path, theirs, disk_hash = doc.path, seen.theirs, seen.disk_hash
        if choice == MERGED and seen.merged is not None and theirs is not None and disk_hash:
            doc.settle(theirs, disk_hash)  # the disk's version is the new base ...
            return Outcome(  # ... with both edits on it, unsaved
                f"merged: the disk's edits and yours are in {path}; Ctrl+S saves", seen.merged
            )
        if choice == MINE:
            # The same check as Ctrl+S (and, asked again within the window, saved anyway).
            if (problem := await self.check(doc, seen.mine)) is not None:
                return Outcome(
                    f"not saved: {path} {doc.problem} (keep mine again within "
                    f"{AGAIN_WINDOW:.0f} s saves it anyway)",
                    problem=(problem.line, problem.column),
                )
            try:
                digest = await self.save(doc, seen.mine, disk_hash)
            except FileConflict:
                return Outcome(f"{path} changed again on disk; compare once more (Ctrl+R)")
            except ReelcutError as exc:
                return Outcome(f"not saved: {exc}")
            return Outcome(f"saved your version of {path} over the disk's", saved=digest)
        if choice == THEIRS:
            if theirs is None or disk_hash is None:
                return Outcome(f"closed {path}: it was deleted on disk", closed=True)
            doc.settle(theirs, disk_hash)
            return Outcome(f"took the disk's version of {path}; your edits are dropped", theirs)
        return Outcome(f"{path}: conflict left open (Ctrl+R to compare again)")
