"""Random sequences of user edits, agent proposals, apply, revert, crashes and restarts: the
ledger never loses a byte the model does not expect it to.

A Hypothesis state machine drives one `Ledger` over a temp project of four text files (one with
CRLF endings, one without a final newline, one non-ASCII) plus two paths that do not exist yet.

- **user edits** write new bytes straight to disk, as an editor would: a 1-byte change, a CRLF/LF
  flip, an appended line, a rewrite of the same bytes, a new text, a deletion; half of them put
  the old modification time back with ``os.utime``, so only the hash can tell;
- **agent proposals** open a changeset and propose 1-3 changes built from what
  ``Ledger.read`` returns (disk, or the changeset's own overlay): edits, line-ending flips,
  no-op rewrites, creations and deletions (deleting a file that was never there is refused);
  more changes can be proposed to an existing changeset later, refused once it is not
  pending/ready;
- **apply / revert**, with and without ``force``;
- **a disk-full write** part-way through an apply or a revert (every file is put back);
- **a crash** part-way through an apply or a revert (writes and database updates stop dead),
  sometimes followed by a user edit, then a restart that must reconcile;
- **restart**: close the Ledger and open a new one (reconcile must find nothing to do).

The model is plain Python: the bytes every file must hold, and each changeset's status, applied
order and changes (base bytes at first touch, proposed bytes). Apply succeeds iff the status
allows it and every file hashes to its base (or ``force``); revert succeeds iff the changeset is
applied, no changeset applied later and still applied touches one of its paths, and every file
hashes to its after (or ``force``, which skips only the hash part). A refusal raises the exact
error (``HashMismatch`` naming the first mismatching path in proposal order, with both hashes)
and changes nothing. After every step: the files on disk equal the model byte for byte, every
status matches and nothing is in flight, no temp file is left anywhere under the project, and a
decoy folder beside the project is untouched. Stored changes match the model, and each stored
diff turns its before text into its after text under the strict applier.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from engine.changes.ledger import ChangesetError, HashMismatch, Ledger
from engine.changes.store import ChangeStore
from engine.sandbox import TEMP_SUFFIX
from engine.textdiff import apply_unified

T = TypeVar("T")

INITIAL: dict[str, bytes] = {
    "a.md": b"# Intro\nline one\nline two\nline three\n",
    "b.txt": b"crlf one\r\ncrlf two\r\n",
    "scripts/c.md": b"no final newline\nlast",
    "scripts/deep/d.md": "caf\u00e9 cr\u00e8me\nna\u00efve\n".encode(),
}
MISSING = ["new.md", "scripts/fresh/e.md"]
PATHS = [*INITIAL, *MISSING]

# Characters for new texts: line breaks of every kind str.splitlines knows, a NUL, non-ASCII.
TEXT = st.text(alphabet=st.sampled_from(list("ab \n\n\r\t\u00e9\u20ac\u2028\x0c\x00")), max_size=24)

# What a write that fails and a crash look like from inside the ledger.
DISK_FULL = OSError(28, "No space left on device")

# A revert whose write fails puts every file back at ``after``; the ledger then marks the
# changeset "failed" (as an apply), so it can no longer be reverted. The model follows the code.
FAILED_REVERT_STATUS = "applied"


# What the steps ran into, for the check that the quick run reaches every outcome.
SEEN: Counter[str] = Counter()


def note(outcome: str) -> None:
    event(outcome)
    SEEN[outcome] += 1


class Crash(Exception):
    """The process dying: raised by every write and every database update after it struck."""


def h(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def enc(text: str | None) -> bytes | None:
    return None if text is None else text.encode("utf-8")


@dataclass
class Change:
    path: str
    base: bytes | None  # the disk's bytes when the changeset first touched the path
    after: bytes | None  # what the path should become (None: deleted)


@dataclass
class Model:
    id: int
    status: str = "pending"
    order: int | None = None
    changes: list[Change] = field(default_factory=list)

    def change(self, path: str) -> Change | None:
        return next((c for c in self.changes if c.path == path), None)


def flip_line_endings(text: str) -> str:
    return text.replace("\r\n", "\n") if "\r\n" in text else text.replace("\n", "\r\n")


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of the project outside ``.reelcut/``."""
    found = {}
    for folder, dirs, names in os.walk(root):
        if Path(folder) == root:
            dirs[:] = [d for d in dirs if d != ".reelcut"]
        for name in names:
            p = Path(folder) / name
            found[p.relative_to(root).as_posix()] = p.read_bytes()
    return found


def temp_files(top: Path) -> list[str]:
    return [
        os.path.join(folder, name)
        for folder, _, names in os.walk(top)
        for name in names
        if name.endswith(TEMP_SUFFIX)
    ]


class ChangesMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="reelcut-changes-"))
        self.root = self.tmp / "proj"
        self.decoy = self.tmp / "proj_decoy"
        for top in (self.root, self.decoy):
            for rel, data in INITIAL.items():
                (top / rel).parent.mkdir(parents=True, exist_ok=True)
                (top / rel).write_bytes(data)
        self.disk: dict[str, bytes] = dict(INITIAL)
        self.sets: list[Model] = []
        self.next_order = 1
        self.loop = asyncio.new_event_loop()
        self.ledger: Ledger | None = None
        self.ledger = self.run(Ledger.open(self.root))

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    @property
    def lg(self) -> Ledger:
        assert self.ledger is not None
        return self.ledger

    def teardown(self) -> None:
        try:
            if self.ledger is not None:
                self.run(self.ledger.close())
        finally:
            self.loop.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- helpers ---------------------------------------------------------------------------

    def pick(self, i: int, fit: str | None = None, force: bool = False) -> Model:
        """The i-th newest changeset; with ``fit``, among those whose status allows that step
        ("apply", "revert", "propose") or that would go through it entirely ("apply!",
        "revert!"), when there are any, so that the rules spend their time past the checks."""
        sets = self.sets
        if fit in ("apply!", "revert!"):
            direction = fit[:-1]
            sets = [cs for cs in sets if cs.changes and not self.refusal(cs, direction, force)]
        elif fit is not None:
            ok = {
                "apply": ("pending", "ready", "failed", "reverted"),
                "revert": ("applied",),
                "propose": ("pending", "ready"),
            }[fit]
            sets = [cs for cs in sets if cs.status in ok]
        sets = sets or self.sets
        return sets[-1 - i % len(sets)]  # shrinks towards the newest

    def user_write(self, rel: str, data: bytes | None, keep_mtime: bool) -> None:
        p = self.root / rel
        before = p.stat() if p.exists() else None
        if data is None:
            if before is not None:
                p.unlink()
            self.disk.pop(rel, None)
            return
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "wb") as f:  # in place, as most editors do
            f.write(data)
        if keep_mtime and before is not None:
            os.utime(p, ns=(before.st_atime_ns, before.st_mtime_ns))
        self.disk[rel] = data

    def check_stored(self, cs: Model) -> None:
        stored = self.run(self.lg.store.files(cs.id))
        got = [
            (f.path, f.base_hash, f.after_hash, enc(f.before_text), enc(f.after_text))
            for f in stored
        ]
        want = [(c.path, h(c.base), h(c.after), c.base, c.after) for c in cs.changes]
        assert got == want
        for f in stored:
            assert apply_unified(f.before_text, f.diff) == f.after_text, f.diff

    def refusal(self, cs: Model, direction: str, force: bool) -> tuple[str, Any] | None:
        """Why the ledger must refuse, or None: the model of the rules in the module doc."""
        if direction == "apply":
            if cs.status not in ("pending", "ready", "failed", "reverted"):
                return ("status", cs.status)
        else:
            if cs.status != "applied":
                return ("status", cs.status)
            paths = {c.path for c in cs.changes}
            later = [
                o
                for o in self.sets
                if o.status == "applied"
                and o.order is not None
                and cs.order is not None
                and o.order > cs.order
                and paths & {c.path for c in o.changes}
            ]
            if later:
                later.sort(key=lambda o: -(o.order or 0))
                return ("later", [o.id for o in later])
        if not force:
            for c in cs.changes:
                source = c.base if direction == "apply" else c.after
                actual = self.disk.get(c.path)
                if h(actual) != h(source):
                    return ("hash", (c.path, h(source), h(actual)))
        return None

    def expect_refused(self, exc: BaseException, why: tuple[str, Any], direction: str) -> None:
        kind, detail = why
        if kind == "hash":
            path, expected, actual = detail
            assert isinstance(exc, HashMismatch), repr(exc)
            assert exc.to_json() == {
                "path": path,
                "expected": expected,
                "actual": actual,
                "direction": direction,
            }
            assert "\n" not in str(exc)
            return
        assert isinstance(exc, ChangesetError) and not isinstance(exc, HashMismatch), repr(exc)
        if kind == "status":
            assert f"is {detail}" in str(exc)
        else:
            assert str(exc).startswith(f"changeset {', '.join(map(str, detail))} was applied later")

    def rebase_forced(self, cs: Model, direction: str) -> None:
        """A forced move records the bytes it overwrites as the changeset's other side, so a
        later revert (or a crash) brings back that newer version, not the stale one."""
        for c in cs.changes:
            actual = self.disk.get(c.path)
            if direction == "apply" and h(actual) != h(c.base):
                c.base = actual
            elif direction == "revert" and h(actual) != h(c.after):
                c.after = actual

    def succeed(self, cs: Model, direction: str) -> None:
        for c in cs.changes:
            data = c.after if direction == "apply" else c.base
            if data is None:
                self.disk.pop(c.path, None)
            else:
                self.disk[c.path] = data
        if direction == "apply":
            cs.status, cs.order = "applied", self.next_order
            self.next_order += 1
        else:
            cs.status = "reverted"

    def move(self, cs: Model, direction: str, force: bool) -> Any:
        if direction == "apply":
            return self.lg.apply(cs.id, force=force)
        return self.lg.revert(cs.id, force=force)

    def attempt(self, cs: Model, direction: str, force: bool) -> bool:
        """Run apply/revert; check a refusal against the model. True if it must go through."""
        why = self.refusal(cs, direction, force)
        note(f"{direction}{' --force' if force else ''}: {why[0] if why else 'done'}")
        try:
            got = self.run(self.move(cs, direction, force))
        except ChangesetError as exc:
            assert why is not None, f"{direction} {cs.id} refused: {exc}"
            self.expect_refused(exc, why, direction)
            return False
        assert why is None, f"{direction} {cs.id} should be refused: {why}"
        if force:
            self.rebase_forced(cs, direction)
        self.succeed(cs, direction)
        assert got.status == cs.status and got.in_flight is None
        return True

    # -- rules -----------------------------------------------------------------------------

    @rule(
        rel=st.sampled_from(PATHS),
        kind=st.sampled_from(["one-byte", "crlf", "append", "same", "new", "delete"]),
        where=st.integers(0, 200),
        text=TEXT,
        keep_mtime=st.booleans(),
    )
    def user_edits(self, rel: str, kind: str, where: int, text: str, keep_mtime: bool) -> None:
        old = self.disk.get(rel)
        new: bytes | None
        if kind == "delete":
            new = None
        elif kind == "new" or old is None:
            new = text.encode()
        elif kind == "one-byte":
            ascii_at = [i for i, b in enumerate(old) if b < 0x80]
            if not ascii_at:
                new = old + b"x"
            else:
                i = ascii_at[where % len(ascii_at)]
                new = old[:i] + (b"y" if old[i] == ord("x") else b"x") + old[i + 1 :]
        elif kind == "crlf":
            if b"\r\n" in old:
                new = old.replace(b"\r\n", b"\n")
            elif b"\n" in old:
                new = old.replace(b"\n", b"\r\n")
            else:
                new = old + b"\r\n"
        elif kind == "append":
            new = old + b"user line\n"
        else:
            new = old
        self.user_write(rel, new, keep_mtime)

    def propose_one(self, cs: Model, data: st.DataObject, paths: list[str] = PATHS) -> None:
        rel = data.draw(st.sampled_from(paths), label="path")
        mine = cs.change(rel)
        seen = self.run(self.lg.read(cs.id, rel))
        assert enc(seen) == (mine.after if mine else self.disk.get(rel))  # the overlay, else disk
        if seen is None:
            after = data.draw(st.one_of(st.none(), TEXT, TEXT, TEXT), label="create")
        else:
            lines = seen.split("\n")
            i = data.draw(st.integers(0, len(lines) - 1), label="line")
            kind = data.draw(
                st.sampled_from(["edit", "append", "crlf", "same", "empty", "new", "delete"]),
                label="kind",
            )
            text = data.draw(TEXT, label="text") if kind == "new" else ""
            after = {
                "edit": "\n".join([*lines[:i], f"agent {i}", *lines[i + 1 :]]),
                "append": seen + "agent line\n",
                "crlf": flip_line_endings(seen),
                "same": seen,
                "empty": "",
                "new": text,
                "delete": None,
            }[kind]
        base = mine.base if mine else self.disk.get(rel)
        if cs.status not in ("pending", "ready") or (base is None and after is None):
            note("proposal refused")
            with pytest.raises(ChangesetError, match=r"start a new one|nothing to delete"):
                self.run(self.lg.propose(cs.id, rel, after))
        else:
            fc = self.run(self.lg.propose(cs.id, rel, after))
            assert (fc.path, fc.base_hash, fc.after_hash) == (rel, h(base), h(enc(after)))
            if mine:
                mine.after = enc(after)
            else:
                cs.changes.append(Change(rel, base, enc(after)))
        self.check_stored(cs)

    @initialize(data=st.data(), applied=st.lists(st.booleans(), min_size=1, max_size=3))
    def agent_has_been_at_work(self, data: st.DataObject, applied: list[bool]) -> None:
        """A few changesets from the start, some applied: Hypothesis switches rules off at
        random (swarm testing), and the rules that need changesets must still get to run."""
        for apply in applied:
            self.agent_proposes(data, data.draw(st.integers(1, 3), label="n"), True)
            if apply:
                self.attempt(self.sets[-1], "apply", False)

    @rule(data=st.data(), n=st.integers(1, 3), ready=st.booleans())
    def agent_proposes(self, data: st.DataObject, n: int, ready: bool) -> None:
        cs = Model(self.run(self.lg.store.create("agent", "machine")))
        self.sets.append(cs)
        for _ in range(n):
            self.propose_one(cs, data)
        if ready:
            self.run(self.lg.mark_ready(cs.id))
            cs.status = "ready"

    @precondition(lambda self: any(cs.status == "applied" and cs.changes for cs in self.sets))
    @rule(data=st.data(), n=st.integers(1, 2))
    def agent_builds_on_an_applied_changeset(self, data: st.DataObject, n: int) -> None:
        """Propose over the paths of an applied changeset and apply at once, as an agent in a
        loop does: chains of applied changesets that touch the same files, the case where
        reverting an earlier one must be refused."""
        applied = [cs for cs in self.sets if cs.status == "applied" and cs.changes]
        earlier = data.draw(st.sampled_from(applied), label="builds on")
        cs = Model(self.run(self.lg.store.create("agent", "machine")))
        self.sets.append(cs)
        for _ in range(n):
            self.propose_one(cs, data, [c.path for c in earlier.changes])
        self.attempt(cs, "apply", False)

    @precondition(lambda self: self.sets)
    @rule(data=st.data(), i=st.integers(0, 50), fit=st.booleans())
    def agent_proposes_more(self, data: st.DataObject, i: int, fit: bool) -> None:
        self.propose_one(self.pick(i, "propose" if fit else None), data)

    @precondition(lambda self: self.sets)
    @rule(i=st.integers(0, 50), force=st.booleans(), fit=st.booleans())
    def apply(self, i: int, force: bool, fit: bool) -> None:
        self.attempt(self.pick(i, "apply" if fit else None), "apply", force)

    @precondition(lambda self: any(cs.status == "applied" for cs in self.sets))
    @rule(i=st.integers(0, 50), force=st.booleans())
    def revert(self, i: int, force: bool) -> None:
        self.attempt(self.pick(i, "revert"), "revert", force)

    @precondition(lambda self: any(cs.status != "applied" for cs in self.sets))
    @rule(i=st.integers(0, 50), force=st.booleans())
    def revert_one_not_applied(self, i: int, force: bool) -> None:
        sets = [cs for cs in self.sets if cs.status != "applied"]
        self.attempt(sets[-1 - i % len(sets)], "revert", force)

    @precondition(lambda self: self.sets)
    @rule(
        i=st.integers(0, 50),
        direction=st.sampled_from(["apply", "revert"]),
        force=st.booleans(),
        fail_at=st.integers(0, 2),
    )
    def disk_full_part_way(self, i: int, direction: str, force: bool, fail_at: int) -> None:
        cs = self.pick(i, direction + "!", force)
        fail_at %= max(1, len(cs.changes))
        calls = [0]
        real = self.lg.files.write

        def write(rel: str, data: bytes | None) -> None:
            calls[0] += 1
            if calls[0] == fail_at + 1:
                raise OSError(DISK_FULL.errno, DISK_FULL.strerror, rel)
            real(rel, data)

        self.lg.files.write = write  # type: ignore[method-assign]
        try:
            if fail_at >= len(cs.changes) or self.refusal(cs, direction, force):
                self.attempt(cs, direction, force)  # never reaches the failing write
                return
            note(f"disk full during {direction}")
            if force:
                self.rebase_forced(cs, direction)
            with pytest.raises(ChangesetError, match=r"No space left on device.*put back"):
                self.run(self.move(cs, direction, force))
        finally:
            del self.lg.files.write
        cs.status = "failed" if direction == "apply" else FAILED_REVERT_STATUS

    @precondition(lambda self: self.sets)
    @rule(
        i=st.integers(0, 50),
        direction=st.sampled_from(["apply", "revert"]),
        crash_at=st.integers(0, 2),
        meddle=st.one_of(st.none(), st.integers(0, 2)),
    )
    def crash_part_way_then_restart(
        self, i: int, direction: str, crash_at: int, meddle: int | None
    ) -> None:
        cs = self.pick(i, direction + "!")
        crash_at %= max(1, len(cs.changes))
        if crash_at >= len(cs.changes) or self.refusal(cs, direction, False):
            self.attempt(cs, direction, False)
            return
        ledger, calls = self.lg, [0]
        real_write, real_set_state = ledger.files.write, ledger.store.set_state

        async def dead_set_state(*args: Any, **kwargs: Any) -> None:
            raise Crash("set_state after the crash")

        def dead_write(rel: str, data: bytes | None) -> None:
            raise Crash(rel)

        def write(rel: str, data: bytes | None) -> None:
            if calls[0] == crash_at:
                # From here on the process is gone: no write and no database update lands.
                ledger.files.write = dead_write  # type: ignore[method-assign]
                ledger.store.set_state = dead_set_state  # type: ignore[method-assign]
                raise Crash(rel)
            calls[0] += 1
            real_write(rel, data)

        ledger.files.write = write  # type: ignore[method-assign]
        try:
            with pytest.raises(Crash):
                self.run(self.move(cs, direction, False))
        finally:
            del ledger.files.write
            ledger.store.set_state = real_set_state  # type: ignore[method-assign]
        # What the dead process left: the first crash_at files written.
        for c in cs.changes[:crash_at]:
            data = c.after if direction == "apply" else c.base
            if data is None:
                self.disk.pop(c.path, None)
            else:
                self.disk[c.path] = data
        if meddle is not None:
            rel = cs.changes[meddle % len(cs.changes)].path
            self.user_write(rel, b"the user, between crash and restart\n", keep_mtime=False)
        self.run(ledger.close())
        self.ledger = None
        self.ledger = Ledger(self.root, self.run(ChangeStore.open(self.root / ".reelcut")))
        outcomes = self.run(self.lg.reconcile())  # what Ledger.open runs
        assert [cs_id for cs_id, _ in outcomes] == [cs.id]
        expected = self.reconciled(cs, direction)
        note(f"crash during {direction}, restart: {expected}")
        assert outcomes[0][1].startswith(expected), (outcomes, expected)

    def reconciled(self, cs: Model, direction: str) -> str:
        """The model of ``reconcile`` after a crash: all at the target -> done; otherwise the
        written files go back, and the changeset is failed if some file is neither at the start
        nor at the target."""
        source = [c.base if direction == "apply" else c.after for c in cs.changes]
        target = [c.after if direction == "apply" else c.base for c in cs.changes]
        now = [self.disk.get(c.path) for c in cs.changes]
        done = [h(n) == h(t) for n, t in zip(now, target, strict=True)]
        at_start = [h(n) == h(s) for n, s in zip(now, source, strict=True)]
        if all(done):
            self.succeed(cs, direction)
            return "finished"
        for c, d, a, s in zip(cs.changes, done, at_start, source, strict=True):
            if d and not a:
                if s is None:
                    self.disk.pop(c.path, None)
                else:
                    self.disk[c.path] = s
        if not all(d or a for d, a in zip(done, at_start, strict=True)):
            cs.status = "failed"
            return "rolled back;"
        cs.status = "ready" if direction == "apply" else "applied"
        return "rolled back the interrupted"

    @rule()
    def restart(self) -> None:
        self.run(self.lg.close())
        self.ledger = None
        self.ledger = self.run(Ledger.open(self.root))
        assert self.run(self.lg.reconcile()) == []

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def files_match_the_model(self) -> None:
        assert snapshot(self.root) == self.disk

    @invariant()
    def statuses_match_the_model(self) -> None:
        if self.ledger is None:
            return
        got = {c.id: (c.status, c.in_flight) for c in self.run(self.lg.store.recent(10_000))}
        assert got == {cs.id: (cs.status, None) for cs in self.sets}

    @invariant()
    def no_temp_files_and_nothing_outside(self) -> None:
        assert temp_files(self.tmp) == []
        assert snapshot(self.decoy) == INITIAL


QUICK = settings(
    max_examples=80,
    stateful_step_count=30,
    deadline=None,
    # The same 80 runs every time: the outcomes below are then always reached (a random draw
    # missed one about once in ten suite runs); the slow variant explores at random.
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# Outcomes the quick run must reach, so that a change to the rules or to the ledger cannot
# quietly turn the machine into one that only ever sees refusals.
MUST_SEE = [
    "apply: done",
    "apply: hash",
    "apply --force: done",
    "revert: done",
    "revert --force: done",
    "crash during apply, restart: rolled back",
    "crash during revert, restart: rolled back",
    "disk full during apply",
    "disk full during revert",
    "proposal refused",
]


def test_edits_proposals_apply_revert_crashes_and_restarts_keep_every_byte() -> None:
    SEEN.clear()
    run_state_machine_as_test(ChangesMachine, settings=QUICK)
    missing = [k for k in MUST_SEE if not any(s.startswith(k) for s in SEEN)]
    # ... and a revert refused because a changeset applied later touches the same files.
    later = sum(n for k, n in SEEN.items() if k.startswith("revert") and k.endswith(": later"))
    assert not missing and later, (missing, later, SEEN)


@pytest.mark.slow
def test_edits_proposals_apply_revert_crashes_and_restarts_keep_every_byte_long() -> None:
    run_state_machine_as_test(
        ChangesMachine,
        settings=settings(QUICK, max_examples=1000, stateful_step_count=60, derandomize=False),
    )
