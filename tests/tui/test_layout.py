"""The editor's layout (issue 19, item 5) under Pilot, asserted on region sizes: the timeline
takes the lines its tracks need and the top row the rest (200x50), every region hides, shows and
maximises by key, and at 80x24 the status line keeps the preview's state and script panes keep
whole words.

The demo has four tracks (two lines each, three for footage with its filmstrip) under a
two-line ruler. The picture viewer (tests/tui/test_viewer.py), when the editor has one, is
hidden with its own key where a test needs the top row empty.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from textual.widget import Widget
from textual.widgets import Static

from tests.tui.test_editor import drive, status
from tests.tui.test_scripts import open_file, wait_screen
from tui.app import ReelcutApp
from tui.layout import RegionKeysScreen, compact_preview
from tui.scripts import ScriptPane


def region(app: ReelcutApp, name: str) -> Widget:
    return app.editor.query_one(f"#{name}")


def free_rows(app: ReelcutApp) -> int:
    """The rows between the header and the status line."""
    return app.editor.regions.free_rows()


async def hide_the_viewer(app: ReelcutApp, pilot: object) -> None:
    """The picture viewer hides itself on its own key (F4 v runs it), when it shows."""
    viewer = app.editor.query("#viewer")
    if viewer and viewer.first().display:
        await region_key(app, pilot, "v")
        assert not viewer.first().display


async def region_key(app: ReelcutApp, pilot: object, *keys: str) -> None:
    press = pilot.press  # type: ignore[attr-defined]
    await press("f4")
    await wait_screen(app, pilot, RegionKeysScreen)  # type: ignore[arg-type]
    await press(*keys)
    await pilot.pause()  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]


def test_at_200x50_the_timeline_has_no_empty_rows_and_the_top_gets_them(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        timeline = app.timeline
        await pilot.pause()  # type: ignore[attr-defined]
        assert free_rows(app) == 47  # 50 less the header, the status line and the key bar
        lines = timeline.natural_lines()
        assert lines >= 2 + 4 * 2  # the ruler, then two lines or more a track
        # Every line of the timeline holds the ruler or a track: none left empty ...
        assert timeline.scrollable_content_region.height == timeline.virtual_size.height == lines
        # ... and the top row (the files, the scripts, the agent) has every other row.
        top = region(app, "top").outer_size.height
        assert top + timeline.outer_size.height == 47
        assert top >= 30

    drive(demo_dir, scenario, size=(200, 50))


def test_at_80x24_the_status_keeps_the_preview_state(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        app.flash("a long message " * 8)
        await pilot.pause()  # type: ignore[attr-defined]
        line = status(app)
        assert line.rstrip().endswith("preview: off")
        assert "…" in line  # the message is cut, not the preview's state
        widget = app.editor.query_one("#status", Static)
        assert len(line.rstrip()) <= widget.content_size.width
        # The tracks still fit: the timeline's lines are the ruler and the tracks.
        assert app.timeline.scrollable_content_region.height >= app.timeline.natural_lines()
        assert region(app, "top").outer_size.height >= 7

    drive(demo_dir, scenario, size=(80, 24))


def test_a_long_preview_address_keeps_its_host_and_port() -> None:
    url = "preview: http://127.0.0.1:39599/?token=g39k7tXa-vWQM9s35JVLzR6DLO30vlN"
    assert compact_preview(url, 80) == url
    assert (
        compact_preview(url + " (page connected)", 40) == "preview: 127.0.0.1:39599 (page connecte…"
    )
    assert compact_preview("preview: off", 20) == "preview: off"


def test_at_80x24_two_panes_keep_whole_words(demo_dir: Path) -> None:
    """Two scripts side by side at 80 columns: each pane has room for words (not the ten
    columns that cut "reelcut" into "reel" and "cut"), its title stays one line, and no word
    of the markdown is broken across wrapped lines."""

    async def scenario(app: ReelcutApp, pilot: object) -> None:
        await open_file(app, pilot, "scripts/script.md")
        await open_file(app, pilot, "scripts/Scenario_TTS.json")
        await pilot.pause()  # type: ignore[attr-defined]
        panes = list(app.editor.query(ScriptPane))
        assert len(panes) == 2
        for pane in panes:
            assert pane.size.width >= 20, pane.size
            assert pane.query_one(".pane-title").size.height == 1
        markdown = next(p for p in panes if p.path == "scripts/script.md").area
        width = markdown.wrap_width
        for i in range(markdown.document.line_count):
            sections = markdown.wrapped_document.get_sections(i)
            line = markdown.document.get_line(i)
            if any(len(word) >= width for word in line.split()):
                continue  # a word longer than the pane: cut it must be
            for a, b in itertools.pairwise(sections):
                assert a.endswith(" ") or b.startswith(" ") or not a or not b, (a, b)

    drive(demo_dir, scenario, size=(80, 24))


def test_each_region_hides_shows_and_maximises_by_key(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        timeline = app.timeline
        for letter, name in (("f", "left"), ("s", "panes"), ("a", "chat")):
            await region_key(app, pilot, letter)
            assert not region(app, name).display, name
            assert "hidden" in status(app)
            await region_key(app, pilot, letter)
            assert region(app, name).display, name
        # Every top region hidden: the timeline has every row.
        await hide_the_viewer(app, pilot)
        for letter in "fsa":
            await region_key(app, pilot, letter)
        assert not region(app, "top").display
        assert timeline.outer_size.height == free_rows(app)
        await region_key(app, pilot, "r")
        assert region(app, "top").display and region(app, "left").display
        # The timeline hides too; the focus moves to a region still shown.
        assert app.focused is timeline
        await region_key(app, pilot, "t")
        assert not timeline.display
        assert app.focused is not None and app.focused is not timeline
        assert region(app, "top").outer_size.height == free_rows(app)
        await region_key(app, pilot, "t")
        assert timeline.display
        timeline.focus()
        # F8 maximises the focused region (the timeline), F8 again brings the others back.
        await press("f8")
        await pilot.pause()  # type: ignore[attr-defined]
        assert not region(app, "top").display
        assert timeline.outer_size.height == free_rows(app)
        await press("f8")
        await pilot.pause()  # type: ignore[attr-defined]
        assert region(app, "top").display
        # Shift+letter maximises that region: the scripts fill the screen.
        await region_key(app, pilot, "S")
        assert region(app, "panes").display and not timeline.display
        assert not region(app, "left").display and not region(app, "chat").display
        assert region(app, "panes").outer_size.height == free_rows(app)
        await region_key(app, pilot, "r")
        assert timeline.display and region(app, "chat").display

    drive(demo_dir, scenario, size=(160, 48))


def test_f6_skips_hidden_regions_and_the_last_region_stays(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        await hide_the_viewer(app, pilot)
        await region_key(app, pilot, "s")  # scripts hidden
        app.timeline.focus()
        await press("f6")  # timeline -> the files (the scripts are skipped)
        assert app.focused is not None and app.focused.id == "tree"
        await press("f6")  # files -> agent
        assert app.editor.regions.focused_region() == "chat"
        for letter in "fa":  # files and agent hidden too: the timeline alone shows ...
            await region_key(app, pilot, letter)
        await region_key(app, pilot, "t")  # ... and stays
        assert app.timeline.display and app.timeline.outer_size.height == free_rows(app)
        assert "the timeline is the last region shown" in status(app)

    drive(demo_dir, scenario, size=(160, 48))
