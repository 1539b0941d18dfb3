"""The session over a real project folder: persistent undo/redo, groups, conflicts, the lock.

The demo project has V2 (title c_13), V1 (pattern c_10 linked to c_11 on A1, still c_12 at
240), A2 (c_14, c_15) and markers m_16 and m_17.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

import msgspec
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from engine.errors import ProjectLocked, ReelcutError
from engine.model import EditorState, Project
from engine.ops import AddMarker, Blade, Lift, Move, OpError, SetMarks
from engine.projectdir import ProjectDir
from engine.projectfile import decode_project, encode_project
from engine.session import Change, HistoryConflict, Session
from tests.engine.test_ops_machine import ops_for
from tests.engine.test_ops_machine import start as machine_start
from tests.engine.timelines import clip, show


def project_bytes(root: Path) -> bytes:
    return (root / "project.json").read_bytes()


def on_disk(root: Path) -> Project:
    return decode_project(project_bytes(root))


def saved_view(root: Path) -> EditorState:
    """The view the session saved (in the state database; project.json does not hold it)."""
    conn = sqlite3.connect(root / ".reelcut" / "state.sqlite")
    try:
        (raw,) = conn.execute("SELECT value FROM meta WHERE key = 'view'").fetchone()
    finally:
        conn.close()
    return msgspec.json.decode(raw, type=EditorState)


def timeline(project: Project) -> Project:
    """``project`` less its view: what project.json holds."""
    return msgspec.structs.replace(project, editor=EditorState())


def test_history_survives_a_restart_and_undo_all_restores_the_exact_bytes(demo_dir: Path) -> None:
    initial = project_bytes(demo_dir)
    with Session(demo_dir) as s:
        s.apply(Blade(at=60, clip_ids=("c_10",)))
        after_blade = project_bytes(demo_dir)
        s.apply(AddMarker(at=10, name="cue"))
        assert [m.name for m in s.project.markers] == ["cue", "Midpoint", "Still"]
    with Session(demo_dir) as s:
        assert [step.label for step in s.steps()] == [
            "cut 2 clip(s) at 00:00:02:00",
            "added marker cue (m_20) at 00:00:00:10",
        ]
        change = s.undo()
        assert change is not None and change.kind == "undo"
        assert change.summary == "undid: added marker cue (m_20) at 00:00:00:10"
        assert project_bytes(demo_dir) == after_blade
        assert s.undo() is not None
        assert s.undo() is None  # nothing left
    assert project_bytes(demo_dir) == initial


def test_redo_replays_what_was_undone_across_a_restart(demo_dir: Path) -> None:
    with Session(demo_dir) as s:
        s.apply(Move(("c_12",), by=30))
        moved = project_bytes(demo_dir)
        s.undo()
    with Session(demo_dir) as s:
        change = s.redo()
        assert change is not None and change.kind == "redo"
        assert project_bytes(demo_dir) == moved
        assert clip(s.project, "c_12").start == 270
        assert s.redo() is None


def test_a_new_edit_after_undo_ends_the_redo_chain(demo_dir: Path) -> None:
    with Session(demo_dir) as s:
        s.apply(AddMarker(at=1, name="one"))
        s.apply(AddMarker(at=2, name="two"))
        s.undo()
        s.apply(AddMarker(at=3, name="three"))
        assert s.redo() is None
        assert [step.label.split(" (")[0] for step in s.steps()] == [
            "added marker one",
            "added marker three",
        ]
        assert [m.name for m in s.project.markers] == ["one", "three", "Midpoint", "Still"]


def test_a_group_undoes_and_redoes_as_one_step(demo_dir: Path) -> None:
    initial = project_bytes(demo_dir)
    with Session(demo_dir) as s:
        with s.group():
            s.apply(Lift(("c_12",)))
            s.apply(AddMarker(at=5))
        grouped = project_bytes(demo_dir)
        steps = s.steps()
        assert len(steps) == 2 and steps[0].group_id == steps[1].group_id
        change = s.undo()
        assert change is not None
        assert change.summary == "undid: lifted 1 clip(s) (+1 more)"
        assert project_bytes(demo_dir) == initial
        s.redo()
        assert project_bytes(demo_dir) == grouped
        s.apply(AddMarker(at=6))
        assert s.steps()[-1].group_id != steps[0].group_id


def test_an_editor_change_does_not_block_undo_or_redo(demo_dir: Path) -> None:
    """Regression: moving the playhead (set_editor) rewrote project.json without telling the
    history, so the next undo refused with HistoryConflict as if someone else had edited."""
    with Session(demo_dir) as s:
        s.apply(Lift(("c_12",)))
        s.set_editor(playhead=100)
        assert s.undo() is not None
        assert [c.id for t in s.project.tracks for c in t.clips if c.id == "c_12"] == ["c_12"]
        assert s.project.editor.playhead == 100  # undo of an edit keeps the later playhead
        s.set_editor(playhead=7)
        assert s.redo() is not None
        assert s.project.editor.playhead == 7
    with Session(demo_dir) as s:
        assert s.undo() is not None
        assert saved_view(demo_dir).playhead == 7 == s.project.editor.playhead


def test_the_view_is_saved_outside_project_json_and_never_blocks_a_changeset(
    demo_dir: Path,
) -> None:
    """Moving the playhead, zooming or selecting writes nothing to project.json (the view
    lives in the state database), so a changeset made against the file still applies, and the
    view comes back on reopening. Regression: every playhead save rewrote project.json, and a
    waiting timeline changeset then failed with a hash mismatch."""
    import asyncio

    from engine.changes.ledger import Ledger
    from engine.tools import run_tool

    async def propose() -> int:
        ledger = await Ledger.open(demo_dir)
        try:
            out = await run_tool(ledger, "timeline_blade", {"at": 30})
            return int(out["changeset"])
        finally:
            await ledger.close()

    async def apply(cs: int) -> str:
        ledger = await Ledger.open(demo_dir)
        try:
            return (await ledger.apply(cs)).status
        finally:
            await ledger.close()

    before = project_bytes(demo_dir)
    cs = asyncio.run(propose())
    with Session(demo_dir) as s:
        s.set_editor(playhead=90, frames_per_cell=8, selection=("c_12",))
        assert project_bytes(demo_dir) == before
    assert b'"editor"' not in before and b'"playhead"' not in before
    assert asyncio.run(apply(cs)) == "applied"
    with Session(demo_dir) as s:
        ed = s.project.editor
        assert (ed.playhead, ed.frames_per_cell, ed.selection) == (90, 8, ("c_12",))
        # A selected clip that an outside change removed is dropped from the view on reload.
        gone = timeline(msgspec.structs.replace(s.project, tracks=()))
        (demo_dir / "project.json").write_bytes(encode_project(gone))
        assert s.reload() is not None and s.project.editor.selection == ()


def test_undo_of_an_editor_edit_restores_only_what_that_edit_changed(demo_dir: Path) -> None:
    """Regression: undoing set-marks put back the whole editor state of that moment, so the
    playhead jumped back to where it was when the marks were set."""
    with Session(demo_dir) as s:
        s.apply(SetMarks(mark_in=10, mark_out=20))
        s.set_editor(playhead=50, frames_per_cell=8)
        s.undo()
        ed = saved_view(demo_dir)
        assert (ed.mark_in, ed.mark_out, ed.playhead, ed.frames_per_cell) == (None, None, 50, 8)


def test_an_outside_edit_stops_apply_and_undo_and_is_left_untouched(demo_dir: Path) -> None:
    with Session(demo_dir) as s:
        s.apply(AddMarker(at=5))
        theirs = encode_project(msgspec.structs.replace(s.project, name="edited elsewhere"))
        (demo_dir / "project.json").write_bytes(theirs)
        with pytest.raises(HistoryConflict, match=r"project\.json was changed outside"):
            s.apply(AddMarker(at=6))
        with pytest.raises(HistoryConflict) as caught:
            s.undo()
        assert str(caught.value) == (
            "cannot undo 'added marker m_18 (m_18) at 00:00:00:05': project.json is not the "
            "version that edit produced (it was changed outside this session); nothing was "
            "written"
        )
        s.set_editor(playhead=3)  # the view is not in the file: moving around still works
        assert project_bytes(demo_dir) == theirs
    # Reopening picks the outside edit up; the history still refuses to undo over it.
    with Session(demo_dir) as s:
        assert s.project.name == "edited elsewhere"
        with pytest.raises(HistoryConflict, match="cannot undo"):
            s.undo()
        s.apply(AddMarker(at=9))
        assert project_bytes(demo_dir) != theirs


def test_an_agent_changeset_applied_while_the_editor_is_open_is_picked_up_by_reload(
    demo_dir: Path,
) -> None:
    """The editor holds the session; an agent moves a clip through the tool API and applies
    its changeset. reload() brings the new project in, listeners hear it, the next edit builds
    on it, and undo of the edits from before refuses rather than clobbering the agent's work.
    Reverting the changeset is then refused by its own hash check (the file moved on)."""
    import asyncio

    from engine.changes.ledger import HashMismatch, Ledger
    from engine.tools import run_tool

    async def agent_moves_the_title() -> int:
        ledger = await Ledger.open(demo_dir)
        try:
            out = await run_tool(
                ledger, "timeline_move", {"clip_ids": ["c_13"], "to": 48}, apply=True
            )
            assert out["ok"], out
            return int(out["changeset"])
        finally:
            await ledger.close()

    with Session(demo_dir) as s:
        heard: list[Change] = []
        s.subscribe(heard.append)
        s.apply(AddMarker(at=5))
        assert s.reload() is None  # nothing changed outside
        cs = asyncio.run(agent_moves_the_title())
        change = s.reload()
        assert change is not None and change.kind == "reload" and heard[-1] == change
        assert change.revision == 2
        title = next(c for t in s.project.tracks for c in t.clips if c.id == "c_13")
        assert title.start == 48
        assert timeline(s.project) == on_disk(demo_dir)
        with pytest.raises(HistoryConflict, match="cannot undo"):
            s.undo()
        s.apply(AddMarker(at=7))  # edits go on from the agent's version
        saved = on_disk(demo_dir)
        assert {m.frame for m in saved.markers} >= {5, 7}
        assert next(c for t in saved.tracks for c in t.clips if c.id == "c_13").start == 48

        async def revert() -> None:
            ledger = await Ledger.open(demo_dir)
            try:
                await ledger.revert(cs)
            finally:
                await ledger.close()

        with pytest.raises(HashMismatch):
            asyncio.run(revert())
        assert s.reload() is None


def test_reload_of_a_broken_project_keeps_the_session_and_says_why(demo_dir: Path) -> None:
    with Session(demo_dir) as s:
        before = s.project
        (demo_dir / "project.json").write_bytes(b'{"schema": 1, "name": ')
        with pytest.raises(ReelcutError) as caught:
            s.reload()
        assert "\n" not in str(caught.value) and "project.json" in str(caught.value)
        assert s.project is before
        with pytest.raises(HistoryConflict):
            s.apply(AddMarker(at=6))
        (demo_dir / "project.json").unlink()
        with pytest.raises(ReelcutError, match="disappeared outside this session"):
            s.reload()


def test_a_second_session_on_the_same_project_is_refused(demo_dir: Path) -> None:
    with Session(demo_dir, purpose="first"), pytest.raises(ProjectLocked) as caught:
        Session(demo_dir)
    assert "(first)" in str(caught.value)
    with Session(demo_dir):  # released on close
        pass


def test_refused_ops_write_nothing_and_record_nothing(demo_dir: Path) -> None:
    initial = project_bytes(demo_dir)
    with Session(demo_dir) as s:
        with pytest.raises(OpError, match="clip c_10 would overlap c_12 on V1"):
            s.apply(Move(("c_10",), by=10, mode="free"))
        assert project_bytes(demo_dir) == initial
        assert s.steps() == []
        assert s.undo() is None


def test_listeners_hear_every_committed_change(demo_dir: Path) -> None:
    heard: list[Change] = []
    with Session(demo_dir) as s:
        unsubscribe = s.subscribe(heard.append)
        first = s.apply(Blade(at=30))
        s.undo()
        s.set_editor(playhead=4)
        unsubscribe()
        s.redo()
    assert [(c.kind, c.revision) for c in heard] == [
        ("edit", first.revision),
        ("undo", first.revision + 1),
        ("editor", first.revision + 2),
    ]
    assert "c_10" in heard[0].touched
    assert show(on_disk(demo_dir))[:3] == [  # the redo happened, unheard
        "V2: c_13[0,30) c_18[30,75)",
        "V1: c_10[0,30) c_19[30,240) c_12[240,330)",
        "A1: c_11[0,30) c_20[30,240)",
    ]


class SessionMachine(RuleBasedStateMachine):
    """Random edits, groups, undo, redo, playhead moves and restarts over a synthetic project,
    checked against a plain model: a stack of done states and a stack of undone ones. After
    every step the session's project and project.json's bytes are exactly the model's."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="reelcut-session-"))
        start = machine_start()
        ProjectDir.create(self.tmp / "p", start)
        self.session = Session(self.tmp / "p")
        self.current = start
        self.done: list[Project] = []
        self.undone: list[Project] = []

    def _edit(self, data: st.DataObject) -> Project | None:
        op = data.draw(ops_for(self.session.project), label="op")
        try:
            change = self.session.apply(op)
        except OpError:
            return None
        return (
            None
            if not change.touched and "(no change)" in change.summary
            else op.apply(self.current).project
        )

    @rule(data=st.data())
    def edit(self, data: st.DataObject) -> None:
        before = self.current
        after = self._edit(data)
        if after is not None:
            self.done.append(before)
            self.undone.clear()
            self.current = after

    @rule(data=st.data())
    def edit_group(self, data: st.DataObject) -> None:
        before = self.current
        with self.session.group():
            for _ in range(2):
                after = self._edit(data)
                if after is not None:
                    self.current = after
        if self.current is not before:
            self.done.append(before)
            self.undone.clear()

    @rule()
    def undo(self) -> None:
        change = self.session.undo()
        assert (change is None) == (not self.done)
        if self.done:
            self.undone.append(self.current)
            self.current = with_playhead(self.done.pop(), self.current.editor.playhead)

    @rule()
    def redo(self) -> None:
        change = self.session.redo()
        assert (change is None) == (not self.undone)
        if self.undone:
            self.done.append(self.current)
            self.current = with_playhead(self.undone.pop(), self.current.editor.playhead)

    @rule(playhead=st.integers(0, 200))
    def move_playhead(self, playhead: int) -> None:
        self.session.set_editor(playhead=playhead)
        self.current = with_playhead(self.current, playhead)

    @rule()
    def reopen(self) -> None:
        self.session.close()
        self.session = Session(self.tmp / "p")

    @invariant()
    def session_and_file_match_the_model(self) -> None:
        assert self.session.project == self.current
        assert project_bytes(self.tmp / "p") == encode_project(self.current)

    def teardown(self) -> None:
        self.session.close()
        shutil.rmtree(self.tmp)


def with_playhead(p: Project, playhead: int) -> Project:
    return msgspec.structs.replace(p, editor=msgspec.structs.replace(p.editor, playhead=playhead))


def test_random_sessions_match_a_model_of_undo_and_redo() -> None:
    run_state_machine_as_test(
        SessionMachine,
        settings=settings(max_examples=25, stateful_step_count=25, deadline=None),
    )


class _Killed(BaseException):
    """Stands in for SIGKILL at one point of a save: nothing after it runs."""


def _kill_at(monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    import engine.session as session_module

    if where == "before the file":

        def die(*args: object, **kwargs: object) -> None:
            raise _Killed

        monkeypatch.setattr(session_module, "write_project", die)
    else:  # after the file, before the bookkeeping

        def die_commit(self: Session, *args: object, **kwargs: object) -> Change:
            raise _Killed

        monkeypatch.setattr(Session, "_commit", die_commit)


def _crash(root: Path, monkeypatch: pytest.MonkeyPatch, where: str, action: object) -> None:
    s = Session(root)
    with monkeypatch.context() as m:
        _kill_at(m, where)
        with pytest.raises(_Killed):
            action(s)  # type: ignore[operator]
    s.close()  # the kernel drops a dead process's lock and connections


@pytest.mark.parametrize("where", ["before the file", "after the file"])
def test_a_kill_during_an_edit_leaves_history_and_file_in_step(
    demo_dir: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    before = project_bytes(demo_dir)
    _crash(demo_dir, monkeypatch, where, lambda s: s.apply(Blade(at=45)))
    with Session(demo_dir) as s:
        steps = s.steps()
        if where == "before the file":
            assert project_bytes(demo_dir) == before and steps == []
        else:
            assert project_bytes(demo_dir) != before and len(steps) == 1
            assert s.undo() is not None  # the step is whole: it undoes
            assert project_bytes(demo_dir) == before


@pytest.mark.parametrize(
    ("action", "where"),
    [
        ("undo", "before the file"),
        ("undo", "after the file"),
        ("redo", "before the file"),
        ("redo", "after the file"),
        ("set_editor", "after the file"),  # a view save writes no file: its commit is all
    ],
)
def test_a_kill_during_undo_redo_or_a_state_save_leaves_history_in_step(
    demo_dir: Path, monkeypatch: pytest.MonkeyPatch, where: str, action: str
) -> None:
    with Session(demo_dir) as s:
        s.apply(Blade(at=45))
        s.apply(AddMarker(at=10))
        if action == "redo":
            s.undo()
    calls = {
        "undo": lambda s: s.undo(),
        "redo": lambda s: s.redo(),
        "set_editor": lambda s: s.set_editor(playhead=77),
    }
    _crash(demo_dir, monkeypatch, where, calls[action])
    with Session(demo_dir) as s:
        # Whatever the file is now, undo and redo run on it (no "changed outside" refusal).
        while s.undo() is not None:
            pass
        while s.redo() is not None:
            pass
        assert len([m for m in s.project.markers if m.frame == 10]) == 1
