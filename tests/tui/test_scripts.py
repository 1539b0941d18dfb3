"""The project tree and script panes under Pilot: open, edit, save over the loaded version
only, follow a file changed on disk, stop before clobbering a newer one."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from textual.screen import Screen
from textual.widgets import Input, Label, Static, TextArea

from engine.changes.ledger import Ledger
from engine.session import Session
from tui.app import ReelcutApp
from tui.project_tree import ProjectTree
from tui.script_dialogs import ConfirmScreen, ConflictScreen, GoToLineScreen, PromptScreen
from tui.scripts import ScriptPane, ScriptPanes
from tui.text_ops import common_ends, count_matches, find, location, offset_of

Scenario = Callable[[ReelcutApp, object, ScriptPanes], Awaitable[None]]


def drive(root: Path, scenario: Scenario) -> None:
    async def go() -> None:
        with Session(root) as session:
            app = ReelcutApp(session, background_jobs=False)
            async with app.run_test(size=(160, 48)) as pilot:
                await pilot.pause()
                await scenario(app, pilot, app.editor.query_one(ScriptPanes))

    asyncio.run(go())


def title(pane: ScriptPane) -> str:
    return str(pane.query_one(".pane-title", Label).render())


def status(app: ReelcutApp) -> str:
    return str(app.editor.query_one("#status", Static).render())


async def wait_for(pilot: object, predicate: Callable[[], bool], what: str = "") -> None:
    for _ in range(500):  # up to 10 s: CI machines are slower than a desk
        if predicate():
            return
        await pilot.pause(0.02)  # type: ignore[attr-defined]
    raise AssertionError(f"timed out waiting for {what or predicate}")


async def wait_screen(app: ReelcutApp, pilot: object, kind: type[Screen[object]]) -> Screen[object]:
    await wait_for(pilot, lambda: isinstance(app.screen, kind), kind.__name__)
    return app.screen


async def open_file(app: ReelcutApp, pilot: object, rel: str) -> ScriptPane:
    app.editor.query_one(ProjectTree).post_message(ProjectTree.OpenRequested(rel))
    for _ in range(500):
        await pilot.pause(0.02)  # type: ignore[attr-defined]
        found = [p for p in app.editor.query(ScriptPane) if p.path == rel]
        # the pane, its text, and the "opened" line (so it cannot overwrite what comes next)
        if found and found[0].query(TextArea) and f"opened {rel}" in status(app):
            return found[0]
    raise AssertionError(f"{rel} did not open: {status(app)}")


def test_the_tree_lists_scripts_and_enter_opens_one(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        tree = app.editor.query_one(ProjectTree)
        await wait_for(pilot, lambda: bool(tree.root.children), "the tree")
        leaves = []
        stack = list(tree.root.children)
        while stack:
            node = stack.pop()
            stack.extend(node.children)
            if node.data:
                leaves.append(node.data)
        assert "scripts/script.md" in leaves and "project.json" in leaves
        assert not any(p.startswith(("assets/", "proxies/", ".reelcut")) for p in leaves)
        tree.focus()
        node = next(n for n in tree._tree_nodes.values() if n.data == "scripts/script.md")
        tree.select_node(node)
        await wait_for(pilot, lambda: bool(panes.panes) and "opened" in status(app), "open")
        assert [p.path for p in panes.panes] == ["scripts/script.md"]
        assert "opened scripts/script.md" in status(app)

    drive(demo_dir, scenario)


def test_edit_save_and_the_dirty_marker(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        pane = await open_file(app, pilot, "scripts/script.md")
        assert "●" not in title(pane)
        pane.area.move_cursor((0, 0))
        pane.area.insert("Draft 2\n")
        await pilot.pause()  # type: ignore[attr-defined]
        assert "●" in title(pane)
        await pilot.press("ctrl+s")  # type: ignore[attr-defined]
        await pilot.pause(0.1)  # type: ignore[attr-defined]
        assert (demo_dir / "scripts/script.md").read_text().startswith("Draft 2\n")
        assert "●" not in title(pane) and "saved scripts/script.md" in status(app)

    drive(demo_dir, scenario)


def test_a_clean_pane_follows_the_disk_keeping_its_cursor(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        pane = await open_file(app, pilot, "scripts/script.md")
        pane.area.move_cursor((0, 2))
        path = demo_dir / "scripts/script.md"
        path.write_text(path.read_text() + "\nA line from the agent.\n")
        await panes.poll()
        await pilot.pause()  # type: ignore[attr-defined]
        assert pane.area.text.endswith("A line from the agent.\n")
        assert pane.area.cursor_location == (0, 2) and not pane.dirty
        assert "changed on disk; the pane follows" in status(app)

    drive(demo_dir, scenario)


def test_a_dirty_pane_is_never_saved_over_a_newer_file(demo_dir: Path) -> None:
    """Edits, then the file changes on disk: the title says so; Ctrl+S shows the diff instead
    of writing; Escape leaves it open, ``t`` takes the disk's version, and after new edits and
    another change ``k`` writes the pane's text over exactly the version shown."""

    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        pane = await open_file(app, pilot, "scripts/script.md")
        pane.area.move_cursor((0, 0))
        pane.area.insert("mine ")
        path = demo_dir / "scripts/script.md"
        theirs = "Someone else's version.\n"
        path.write_text(theirs)
        await panes.poll()
        assert "changed on disk" in title(pane) and pane.dirty
        await pilot.press("ctrl+s")  # type: ignore[attr-defined]
        screen = await wait_screen(app, pilot, ConflictScreen)
        shown = str(screen.query_one("#conflict-diff Static", Static).render())
        assert "-Someone else's version." in shown and "+mine # reelcut demo" in shown
        assert path.read_text() == theirs  # nothing written
        await pilot.press("escape")  # type: ignore[attr-defined]
        await pilot.pause(0.1)  # type: ignore[attr-defined]
        assert path.read_text() == theirs and pane.dirty and "conflict left open" in status(app)
        await pilot.press("ctrl+r")  # type: ignore[attr-defined]
        await wait_screen(app, pilot, ConflictScreen)
        await pilot.press("t")  # type: ignore[attr-defined]
        await pilot.pause(0.1)  # type: ignore[attr-defined]
        assert pane.area.text == theirs and not pane.dirty and "changed on disk" not in title(pane)

        pane.area.move_cursor((0, 0))
        pane.area.insert("again ")
        newer = "A newer version.\n"
        path.write_text(newer)
        await pilot.press("ctrl+s")  # type: ignore[attr-defined]  (no poll in between)
        await wait_screen(app, pilot, ConflictScreen)
        assert path.read_text() == newer
        await pilot.press("k")  # type: ignore[attr-defined]
        await pilot.pause(0.1)  # type: ignore[attr-defined]
        assert path.read_text() == "again " + theirs and not pane.dirty
        assert "saved your version" in status(app)

    drive(demo_dir, scenario)


def test_a_file_deleted_on_disk_while_edited(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        pane = await open_file(app, pilot, "scripts/script.md")
        pane.area.insert("mine ")
        path = demo_dir / "scripts/script.md"
        path.unlink()
        await panes.poll()
        assert "deleted on disk" in title(pane)
        await pilot.press("ctrl+s")  # type: ignore[attr-defined]
        await wait_screen(app, pilot, ConflictScreen)
        await pilot.press("k")  # type: ignore[attr-defined]
        await pilot.pause(0.1)  # type: ignore[attr-defined]
        assert path.read_text().startswith("mine # reelcut demo")

    drive(demo_dir, scenario)


def test_json_is_checked_before_it_is_written(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        path = demo_dir / "scripts/Scenario_TTS.json"
        before = path.read_text()
        pane = await open_file(app, pilot, "scripts/Scenario_TTS.json")
        pane.area.move_cursor((2, 0))  # the start of line 3
        pane.area.insert("oops ")
        await pilot.press("ctrl+s")  # type: ignore[attr-defined]
        await pilot.pause(0.1)  # type: ignore[attr-defined]
        assert path.read_text() == before
        assert "not saved" in status(app) and "line 3, column 1" in status(app)
        assert "line 3, column 1" in title(pane)
        assert pane.area.cursor_location == (2, 0)
        pane.area.insert("x")
        await pilot.press("ctrl+s")  # type: ignore[attr-defined]
        await pilot.pause(0.1)  # type: ignore[attr-defined]
        assert path.read_text() == before  # the text changed since: checked again
        await pilot.press("ctrl+s")  # type: ignore[attr-defined]  (again: save it anyway)
        await pilot.pause(0.1)  # type: ignore[attr-defined]
        assert "xoops " in path.read_text() and not pane.dirty

    drive(demo_dir, scenario)


def test_a_workflow_file_is_checked_against_its_schema(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        path = demo_dir / "scripts/workflows/editor.json"
        before = path.read_text()
        pane = await open_file(app, pilot, "scripts/workflows/editor.json")
        text = pane.area.text.replace('"system_instruction"', '"sytem_instruction"')
        pane.area.load_text(text)
        await pilot.press("ctrl+s")  # type: ignore[attr-defined]
        await pilot.pause(0.1)  # type: ignore[attr-defined]
        assert path.read_text() == before
        assert "not saved" in status(app) and "sytem_instruction" in status(app)

    drive(demo_dir, scenario)


def test_one_file_in_two_panes_is_one_document(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        first = await open_file(app, pilot, "scripts/script.md")
        first.area.move_cursor((5, 0))
        await pilot.press("ctrl+w", "s")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        assert len(panes.panes) == 2
        second = panes.panes[1]
        assert second.doc is first.doc and app.focused is second.area
        assert second.area.cursor_location == (5, 0)
        first.area.move_cursor((0, 0))
        await pilot.press("N", "e", "w", " ")  # type: ignore[attr-defined]  typed in pane 2
        await pilot.pause()  # type: ignore[attr-defined]
        assert first.area.text == second.area.text
        assert first.area.text.startswith("# reelcut demo") and "New # reelcut" not in (
            first.area.text
        )  # typed at pane 2's cursor, line 6
        assert first.area.text.split("\n")[5].startswith("New ")
        assert first.area.cursor_location == (0, 0)  # pane 1's cursor stays
        assert "●" in title(first) and "●" in title(second)
        await pilot.press("alt+1")  # type: ignore[attr-defined]
        assert app.focused is first.area
        await pilot.press("ctrl+s")  # type: ignore[attr-defined]
        await pilot.pause(0.1)  # type: ignore[attr-defined]
        assert "●" not in title(first) and "●" not in title(second)
        assert (demo_dir / "scripts/script.md").read_text().split("\n")[5].startswith("New ")
        await pilot.press("ctrl+f4")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        assert [p.doc for p in panes.panes] == [second.doc]

    drive(demo_dir, scenario)


def test_four_panes_go_two_by_two_and_keys_focus_and_move_them(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        names = ["scripts/script.md", "scripts/Scenario_TTS.json", "scripts/workflows/editor.json"]
        (demo_dir / "scripts/notes.md").write_text("notes\n")
        names.append("scripts/notes.md")
        for i, rel in enumerate(names):
            await open_file(app, pilot, rel)
            await pilot.pause()  # type: ignore[attr-defined]
            ys = {p.region.y for p in panes.panes}
            assert len(ys) == (1 if i < 2 else 2), (i, ys)  # three and four: 2x2
        regions = [p.region for p in panes.panes]
        assert regions[0].y == regions[1].y and regions[2].y == regions[3].y > regions[0].y
        assert regions[0].x == regions[2].x < regions[1].x == regions[3].x
        await pilot.press("ctrl+w", "3")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        assert panes.focused_pane() is panes.panes[2]
        assert panes.panes[2].area.text == (demo_dir / names[2]).read_text()  # no "3" typed
        await pilot.press("alt+right")  # type: ignore[attr-defined]
        assert panes.focused_pane() is panes.panes[3]
        await pilot.press("alt+left")  # type: ignore[attr-defined]
        assert panes.focused_pane() is panes.panes[2]
        await pilot.press("ctrl+w", "l")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        assert [p.path for p in panes.panes] == [names[0], names[1], names[3], names[2]]
        assert panes.focused_pane() is panes.panes[3]
        assert title(panes.panes[3]).startswith("4 scripts/workflows/editor.json")

    drive(demo_dir, scenario)


def test_go_to_line_and_find(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        pane = await open_file(app, pilot, "scripts/script.md")
        pane.area.move_cursor((0, 0))
        await pilot.press("ctrl+g")  # type: ignore[attr-defined]
        await wait_screen(app, pilot, GoToLineScreen)
        await pilot.press("x", "enter")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        assert isinstance(app.screen, GoToLineScreen)  # not a line number: stays, says so
        await pilot.press("backspace", "7", ":", "3", "enter")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        assert pane.area.cursor_location == (6, 2)

        pane.area.move_cursor((0, 0))
        await pilot.press("ctrl+f")  # type: ignore[attr-defined]
        await pilot.press(*"the")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        text = pane.area.text
        first = text.lower().find("the")
        assert pane.area.selected_text.lower() == "the"
        assert pane.area.selection.start == location(text, first)
        count = str(pane.query_one(".find-count", Label).render())
        assert count == f"1 of {text.lower().count('the')}"
        await pilot.press("enter")  # type: ignore[attr-defined]
        second = text.lower().find("the", first + 1)
        assert pane.area.selection.start == location(text, second)
        await pilot.press("shift+f3")  # type: ignore[attr-defined]
        assert pane.area.selection.start == location(text, first)
        await pilot.press("escape")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        assert app.focused is pane.area
        await pilot.press("f3")  # type: ignore[attr-defined]  (again, from the text)
        assert pane.area.selection.start == location(text, second)
        # A capital letter makes the search match case: "The" is not "the".
        await pilot.press("ctrl+f")  # type: ignore[attr-defined]
        field = pane.query_one(".find-bar Input", Input)
        assert field.value == "the"  # the selection, taken up
        field.value = ""
        await pilot.press(*"Welcome")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        assert pane.area.selected_text == "Welcome"
        await pilot.press("backspace", *"X")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        assert str(pane.query_one(".find-count", Label).render()) == "no match"

    drive(demo_dir, scenario)


def test_timeline_keys_do_nothing_while_typing(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        before = app.session.project
        pane = await open_file(app, pilot, "scripts/script.md")
        app.seek(45)
        pane.area.focus()
        await pilot.press("ctrl+b", "escape", "alt+down")  # type: ignore[attr-defined]
        await pilot.pause(0.1)  # type: ignore[attr-defined]
        assert app.session.project == before  # no blade
        app.timeline.focus()
        await pilot.press("ctrl+b")  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: app.session.project != before, "the blade")
        assert app.session.project != before  # the same key cuts from the timeline

    drive(demo_dir, scenario)


def test_new_rename_and_delete_from_the_tree(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        tree = app.editor.query_one(ProjectTree)
        await wait_for(pilot, lambda: bool(tree.files))
        tree.focus()
        node = next(n for n in tree._tree_nodes.values() if n.data == "scripts/script.md")
        tree.move_cursor(node)
        await pilot.press("n")  # type: ignore[attr-defined]
        await wait_screen(app, pilot, PromptScreen)
        prompt = app.screen.query_one(Input)
        assert prompt.value == "scripts/untitled.md"
        prompt.value = "scripts/scene3.md"
        await pilot.press("enter")  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: "scripts/scene3.md" in tree.files)
        assert (demo_dir / "scripts/scene3.md").read_text() == ""
        await wait_for(pilot, lambda: any(p.path == "scripts/scene3.md" for p in panes.panes))

        tree.focus()
        node = next(n for n in tree._tree_nodes.values() if n.data == "scripts/scene3.md")
        tree.move_cursor(node)
        await pilot.press("r")  # type: ignore[attr-defined]
        await wait_screen(app, pilot, PromptScreen)
        app.screen.query_one(Input).value = "scripts/scene-3.md"
        await pilot.press("enter")  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: "scripts/scene-3.md" in tree.files)
        assert not (demo_dir / "scripts/scene3.md").exists()
        assert [p.path for p in panes.panes] == ["scripts/scene-3.md"]  # the pane follows

        tree.focus()
        node = next(n for n in tree._tree_nodes.values() if n.data == "scripts/scene-3.md")
        tree.move_cursor(node)
        await pilot.press("d")  # type: ignore[attr-defined]
        await wait_screen(app, pilot, ConfirmScreen)
        await pilot.press("n")  # type: ignore[attr-defined]  (no: kept)
        await pilot.pause(0.1)  # type: ignore[attr-defined]
        assert (demo_dir / "scripts/scene-3.md").exists()
        await pilot.press("d")  # type: ignore[attr-defined]
        await wait_screen(app, pilot, ConfirmScreen)
        await pilot.press("y")  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: "scripts/scene-3.md" not in tree.files)
        assert not (demo_dir / "scripts/scene-3.md").exists() and panes.panes == []

        node = next(n for n in tree._tree_nodes.values() if n.data == "project.json")
        tree.move_cursor(node)
        await pilot.press("d")  # type: ignore[attr-defined]
        await wait_screen(app, pilot, ConfirmScreen)
        await pilot.press("y")  # type: ignore[attr-defined]
        await pilot.pause(0.1)  # type: ignore[attr-defined]
        assert (demo_dir / "project.json").exists() and "not deleted" in status(app)

    drive(demo_dir, scenario)


def test_closing_a_dirty_pane_asks_twice(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        pane = await open_file(app, pilot, "scripts/script.md")
        pane.area.insert("draft ")
        await pilot.press("ctrl+f4")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        assert len(panes.panes) == 1 and "close again" in status(app)
        await pilot.press("ctrl+f4")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        assert panes.panes == [] and "discarded" in status(app)
        assert not (demo_dir / "scripts/script.md").read_text().startswith("draft")

    drive(demo_dir, scenario)


def test_ctrl_o_finds_a_file_by_a_few_letters(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        tree = app.editor.query_one(ProjectTree)
        await wait_for(pilot, lambda: bool(tree.files))
        app.timeline.focus()
        await pilot.press("ctrl+o")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        await pilot.press(*"scen", "enter")  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: bool(panes.panes))
        assert [p.path for p in panes.panes] == ["scripts/Scenario_TTS.json"]

    drive(demo_dir, scenario)


def test_binary_files_are_refused_and_project_json_is_read_only(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        (demo_dir / "scripts" / "blob.json").write_bytes(b"{\0}")
        app.editor.query_one(ProjectTree).post_message(
            ProjectTree.OpenRequested("scripts/blob.json")
        )
        await pilot.pause(0.2)  # type: ignore[attr-defined]
        assert panes.panes == [] and "is binary" in status(app)
        before = (demo_dir / "project.json").read_bytes()
        pane = await open_file(app, pilot, "project.json")
        assert pane.area.read_only and "(read-only)" in title(pane)
        await pilot.press("ctrl+s")  # type: ignore[attr-defined]
        await pilot.pause(0.1)  # type: ignore[attr-defined]
        assert "read-only here" in status(app)
        assert (demo_dir / "project.json").read_bytes() == before

    drive(demo_dir, scenario)


def test_at_most_four_panes(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        for i in range(5):
            (demo_dir / "scripts" / f"n{i}.md").write_text(f"note {i}\n")
        for i in range(5):
            await open_file(app, pilot, f"scripts/n{i}.md")
        assert len(panes.panes) == 4
        assert "scripts/n4.md" in [p.path for p in panes.panes]
        await pilot.press("ctrl+f4")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        assert len(panes.panes) == 3

    drive(demo_dir, scenario)


def test_a_save_is_announced_to_the_page(demo_dir: Path) -> None:
    """With the background jobs on (as in the real editor), a save publishes a ``file`` event:
    the page recompiles a Remotion clip from it."""

    async def go() -> None:
        with Session(demo_dir) as session:
            app = ReelcutApp(session, background_jobs=True)
            async with app.run_test(size=(160, 48)) as pilot:
                await wait_for(pilot, lambda: app.jobs_started and app.preview is not None)
                panes = app.editor.query_one(ScriptPanes)
                pane = await open_file(app, pilot, "scripts/script.md")
                pane.area.insert("Saved: ")
                await pilot.press("ctrl+s")

                def announced() -> list[dict[str, object]]:
                    db = sqlite3.connect(demo_dir / ".reelcut" / "state.sqlite")
                    try:
                        rows = db.execute(
                            "SELECT data FROM events WHERE topic='project' AND kind='file'"
                        ).fetchall()
                    finally:
                        db.close()
                    return [json.loads(r[0]) for r in rows]

                await wait_for(pilot, lambda: bool(announced()), "the file event")
                digest = hashlib.sha256((demo_dir / "scripts/script.md").read_bytes()).hexdigest()
                assert announced() == [
                    {"path": "scripts/script.md", "sha256": digest, "from": "editor"}
                ]
                assert panes.docs["scripts/script.md"].base_hash == digest

    asyncio.run(go())


@given(st.text(alphabet="ab\n", max_size=30), st.text(alphabet="ab\n", max_size=30))
def test_common_ends_splice_one_text_into_the_other(a: str, b: str) -> None:
    prefix, suffix = common_ends(a, b)
    assert a[:prefix] == b[:prefix] and prefix + suffix <= min(len(a), len(b))
    assert a[len(a) - suffix :] == b[len(b) - suffix :]
    assert prefix == len(a) or prefix == len(b) or a[prefix] != b[prefix]  # maximal
    assert a[:prefix] + b[prefix : len(b) - suffix] + a[len(a) - suffix :] == b
    row, col = location(a, prefix)
    assert offset_of(a, (row, col)) == prefix


def test_find_wraps_and_matches_case_only_when_asked() -> None:
    text = "The cat. the hat. THE end."
    assert find(text, "the", 1) == (9, 12)
    assert find(text, "the", 19) == (0, 3)  # wrapped
    assert find(text, "The", 1) == (0, 3)  # a capital: exact case, wraps to the only one
    assert find(text, "the", 9, backwards=True) == (0, 3)
    assert find(text, "dog", 0) is None and count_matches(text, "the") == 3


def test_tsx_and_json_are_highlighted(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        (demo_dir / "scripts" / "Card.tsx").write_text(
            "export const Card = ({ n }: { n: number }) => <div>{n}</div>;\n"
        )
        tsx = await open_file(app, pilot, "scripts/Card.tsx")
        json_pane = await open_file(app, pilot, "scripts/Scenario_TTS.json")
        md = await open_file(app, pilot, "scripts/script.md")
        assert (tsx.area.language, json_pane.area.language, md.area.language) == (
            "tsx",
            "json",
            "markdown",
        )
        assert md.area.soft_wrap and not tsx.area.soft_wrap
        await pilot.pause()  # type: ignore[attr-defined]
        names = {name for spans in tsx.area._highlights.values() for *_, name in spans}
        assert {"keyword", "type.builtin"} <= names, names

    drive(demo_dir, scenario)


def test_quitting_with_unsaved_edits_asks_twice(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        pane = await open_file(app, pilot, "scripts/script.md")
        await wait_for(pilot, lambda: "opened" in status(app))  # that message has come
        pane.area.insert("draft ")
        await pilot.press("ctrl+q")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        assert app.return_code is None and "unsaved changes in scripts/script.md" in status(app)
        await pilot.press("ctrl+q")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        assert app.return_code == 0

    drive(demo_dir, scenario)


def test_edits_apart_from_the_disks_merge(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        path = demo_dir / "scripts/script.md"
        pane = await open_file(app, pilot, "scripts/script.md")
        pane.area.move_cursor((0, 0))
        pane.area.insert("Mine: ")
        theirs = path.read_text().replace("## Scene 2: the still", "## Scene 2: their still")
        path.write_text(theirs)
        await pilot.press("ctrl+s")  # type: ignore[attr-defined]
        screen = await wait_screen(app, pilot, ConflictScreen)
        assert "m  merge" in " ".join(str(lb.render()) for lb in screen.query(Label))
        await pilot.press("m")  # type: ignore[attr-defined]
        await pilot.pause(0.1)  # type: ignore[attr-defined]
        assert pane.area.text == "Mine: " + theirs and pane.dirty
        assert path.read_text() == theirs  # merged in the pane, not yet written
        await pilot.press("ctrl+s")  # type: ignore[attr-defined]
        await pilot.pause(0.1)  # type: ignore[attr-defined]
        assert path.read_text() == "Mine: " + theirs and not pane.dirty

        # Both sides on the same line: no merge offered; m does nothing.
        pane.area.move_cursor((0, 0))
        pane.area.insert("Again ")
        path.write_text("Theirs: " + theirs)
        await pilot.press("ctrl+s")  # type: ignore[attr-defined]
        screen = await wait_screen(app, pilot, ConflictScreen)
        assert "no merge" in " ".join(str(lb.render()) for lb in screen.query(Label))
        await pilot.press("m")  # type: ignore[attr-defined]
        await pilot.pause(0.1)  # type: ignore[attr-defined]
        assert isinstance(app.screen, ConflictScreen)
        await pilot.press("escape")  # type: ignore[attr-defined]

    drive(demo_dir, scenario)


def test_an_applied_changeset_shows_in_the_pane_at_once(
    demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent's changeset is applied (another connection, as the CLI would): the `file`
    event brings it into the clean pane and the tree, with the disk poll switched off."""
    import tui.app

    monkeypatch.setattr(tui.app, "POLL_DISK_EVERY", 3600.0)

    async def go() -> None:
        with Session(demo_dir) as session:
            app = ReelcutApp(session, background_jobs=True)
            async with app.run_test(size=(160, 48)) as pilot:
                await wait_for(pilot, lambda: app.jobs_started and app.preview is not None)
                tree = app.editor.query_one(ProjectTree)
                pane = await open_file(app, pilot, "scripts/script.md")
                pane.area.move_cursor((4, 3))
                new = pane.area.text.replace("# reelcut demo", "# reelcut demo\n\nBy the agent.")
                ledger = await Ledger.open(demo_dir)
                try:
                    cs = await ledger.store.create("agent", "test")
                    await ledger.propose(cs, "scripts/script.md", new)
                    await ledger.propose(cs, "scripts/agent_notes.md", "Notes.\n")
                    await ledger.mark_ready(cs)
                    assert (await ledger.apply(cs)).status == "applied"
                finally:
                    await ledger.close()
                await wait_for(pilot, lambda: pane.area.text == new, "the pane to follow")
                assert pane.area.cursor_location == (6, 3)  # moved down with its line
                await wait_for(pilot, lambda: "scripts/agent_notes.md" in tree.files, "the tree")

    asyncio.run(go())
