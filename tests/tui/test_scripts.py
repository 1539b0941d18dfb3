"""The project tree and script panes under Pilot: open, edit, save over the loaded version
only, follow a file changed on disk, stop before clobbering a newer one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.widgets import Label, Static

from engine.session import Session
from tui.app import ReelcutApp
from tui.scripts import ProjectTree, ScriptPane, ScriptPanes

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


async def open_file(app: ReelcutApp, pilot: object, rel: str) -> ScriptPane:
    app.editor.query_one(ProjectTree).post_message(ProjectTree.OpenRequested(rel))
    for _ in range(40):
        await pilot.pause(0.02)  # type: ignore[attr-defined]
        found = [p for p in app.editor.query(ScriptPane) if p.path == rel]
        if found:
            return found[0]
    raise AssertionError(f"{rel} did not open: {status(app)}")


def test_the_tree_lists_scripts_and_enter_opens_one(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        tree = app.editor.query_one(ProjectTree)
        for _ in range(40):
            await pilot.pause(0.02)  # type: ignore[attr-defined]
            if tree.root.children:
                break
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
        for _ in range(40):
            await pilot.pause(0.02)  # type: ignore[attr-defined]
            if panes.panes and "opened" in status(app):
                break
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
    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        pane = await open_file(app, pilot, "scripts/script.md")
        pane.area.insert("mine ")
        path = demo_dir / "scripts/script.md"
        theirs = "Someone else's version.\n"
        path.write_text(theirs)
        await panes.poll()
        assert "changed on disk" in title(pane) and pane.dirty
        await pilot.press("ctrl+s")  # type: ignore[attr-defined]
        await pilot.pause(0.1)  # type: ignore[attr-defined]
        assert path.read_text() == theirs  # refused
        assert "not saved" in status(app) and "changed on disk since it was opened" in status(app)
        await pilot.press("ctrl+alt+s")  # type: ignore[attr-defined]
        await pilot.pause(0.1)  # type: ignore[attr-defined]
        assert path.read_text().startswith("mine ")  # overwritten on purpose
        assert "changed on disk" not in title(pane)

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
