"""The timeline view under Textual's Pilot, hosted alone in a tiny app, on the demo project.

Assertions read the lines the widget renders and the messages it posts; turning requests into
session edits is the screen's job, not the widget's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
import pytest
from textual.app import App, ComposeResult
from textual.filter import ANSIToTruecolor
from textual.geometry import Region
from textual.message import Message
from textual.pilot import Pilot

from engine.model import Project
from engine.projectdir import ProjectDir
from engine.session import fit_view, read_view
from tui.timeline.painter import PLAYHEAD_TRACK
from tui.timeline.viewport import HEADER_COLS
from tui.timeline.widget import TimelineView

SIZES = [(80, 24), (160, 48)]


class Host(App[None]):
    """Only the timeline, recording every message it posts."""

    def __init__(self, project: Project) -> None:
        super().__init__()
        self.project = project
        self.messages: list[Message] = []

    def compose(self) -> ComposeResult:
        yield TimelineView(self.project, 1)

    def on_timeline_view_seek_requested(self, message: TimelineView.SeekRequested) -> None:
        self.messages.append(message)

    def on_timeline_view_select_requested(self, message: TimelineView.SelectRequested) -> None:
        self.messages.append(message)

    def on_timeline_view_move_requested(self, message: TimelineView.MoveRequested) -> None:
        self.messages.append(message)

    def on_timeline_view_zoom_changed(self, message: TimelineView.ZoomChanged) -> None:
        self.messages.append(message)


Scenario = Callable[[Host, TimelineView, Pilot[None]], Awaitable[None]]


def run(project: Project, size: tuple[int, int], scenario: Scenario) -> None:
    async def main() -> None:
        app = Host(project)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await scenario(app, app.query_one(TimelineView), pilot)

    asyncio.run(main())


def lines(view: TimelineView) -> list[str]:
    return [view.render_line(y).text for y in range(view.scrollable_content_region.height)]


def find(view: TimelineView, text: str) -> tuple[int, int]:
    """(x, y) of the first place ``text`` is drawn."""
    for y, line in enumerate(lines(view)):
        x = line.find(text)
        if x >= 0:
            return x, y
    raise AssertionError(f"{text!r} is not on screen:\n" + "\n".join(lines(view)))


def clip_id(project: Project, name: str) -> str:
    return next(c.id for t in project.tracks for c in t.clips if c.name == name)


@pytest.fixture
def demo(demo_master: Path) -> Project:
    """The demo as the editor opens it: its timeline, with the view its session saved."""
    view = read_view(demo_master)
    assert view is not None
    return fit_view(ProjectDir(demo_master).load(), view)


@pytest.mark.parametrize("size", SIZES)
def test_draws_the_tracks_clips_and_ruler(demo: Project, size: tuple[int, int]) -> None:
    """Track headers, clip names and ruler timecodes are on screen at 80x24 and 160x48."""

    async def scenario(app: Host, view: TimelineView, pilot: Pilot[None]) -> None:
        text = "\n".join(lines(view))
        for name in ("Title", "Test pattern", "Welcome line", " V2 ", " A2 ", "00:00:01"):
            assert name in text, text
        assert lines(view)[0].startswith(" 00:00:00:00")
        assert lines(view)[1].startswith(" 2f/col")  # the demo opens at 2 frames per column
        if size[0] >= 160:
            for name in ("Still", "Tone", "◆Midpoint", "00:00:09"):
                assert name in text, text
        # The playhead (frame 0) is the first timeline column, on every track line.
        track_lines = lines(view)[2 : 2 + 2 * len(demo.tracks)]
        assert all(line[HEADER_COLS] == PLAYHEAD_TRACK for line in track_lines)

    run(demo, size, scenario)


@pytest.mark.parametrize("size", SIZES)
def test_clicking_clips_posts_select_requested(demo: Project, size: tuple[int, int]) -> None:
    async def scenario(app: Host, view: TimelineView, pilot: Pilot[None]) -> None:
        x, y = find(view, "Welcome line")
        await pilot.click(TimelineView, offset=(x + 3, y))
        await pilot.click(TimelineView, offset=(x + 3, y + 1), shift=True)
        tx, ty = find(view, "Title")
        await pilot.click(TimelineView, offset=(tx, ty))
        await pilot.click(TimelineView, offset=(x - 3, y))  # the gap before the line
        got = [(m.clip_id, m.extend) for m in app.messages if isinstance(m, view.SelectRequested)]
        welcome, title = clip_id(demo, "Welcome line"), clip_id(demo, "Title")
        assert got == [(welcome, False), (welcome, True), (title, False), (None, False)]

    run(demo, size, scenario)


@pytest.mark.parametrize("size", SIZES)
def test_clicking_the_ruler_posts_seek_requested(demo: Project, size: tuple[int, int]) -> None:
    async def scenario(app: Host, view: TimelineView, pilot: Pilot[None]) -> None:
        await pilot.click(TimelineView, offset=(HEADER_COLS + 30, 0))
        await pilot.click(TimelineView, offset=(HEADER_COLS + 7, 1))
        await pilot.click(TimelineView, offset=(3, 0))  # the ruler's header: nothing
        seeks = [m.frame for m in app.messages if isinstance(m, view.SeekRequested)]
        assert seeks == [60, 14]  # 2 frames per column
        assert view.playhead == 0, "the view asks; the screen decides"

    run(demo, size, scenario)


@pytest.mark.parametrize("size", SIZES)
def test_set_playhead_moves_only_the_playhead(demo: Project, size: tuple[int, int]) -> None:
    """The playhead column moves, the ruler header follows, and no cached strip is rebuilt."""

    async def scenario(app: Host, view: TimelineView, pilot: Pilot[None]) -> None:
        row = 2  # the first track line
        assert lines(view)[row][HEADER_COLS] == PLAYHEAD_TRACK
        view.stats.reset()
        view.set_playhead(41)
        await pilot.pause()
        assert view.stats.lines > 0 and view.stats.strips_built == 0
        assert lines(view)[row][HEADER_COLS] != PLAYHEAD_TRACK
        assert lines(view)[row][HEADER_COLS + 20] == PLAYHEAD_TRACK
        assert lines(view)[0].startswith(" 00:00:01:11")
        # Past the right edge the view pages so the playhead stays visible.
        view.set_playhead(300)
        await pilot.pause()
        vp = view.viewport
        col = vp.visible_col(300)
        assert col is not None and lines(view)[row][HEADER_COLS + col] == PLAYHEAD_TRACK

    run(demo, size, scenario)


def test_keys_zoom_around_the_playhead_and_fit(demo: Project) -> None:
    async def scenario(app: Host, view: TimelineView, pilot: Pilot[None]) -> None:
        view.focus()
        view.set_playhead(100)
        await pilot.pause()
        assert view.viewport.visible_col(100) == 50
        await pilot.press("equals_sign")
        assert view.frames_per_col == 1 and view.viewport.visible_col(100) == 50
        await pilot.press("minus", "minus")
        assert view.frames_per_col == 4
        await pilot.press("backslash")
        vp = view.viewport
        assert vp.first_frame == 0 and vp.visible_col(demo.duration - 1) is not None
        text = "\n".join(lines(view))
        assert "Still" in text and "Tone" in text
        zooms = [m.frames_per_col for m in app.messages if isinstance(m, view.ZoomChanged)]
        assert zooms == [1, 2, 4, vp.frames_per_col]

    run(demo, (80, 24), scenario)


def test_dragging_a_clip_posts_move_requested(demo: Project) -> None:
    async def scenario(app: Host, view: TimelineView, pilot: Pilot[None]) -> None:
        x, y = find(view, "Welcome line")
        await pilot.mouse_down(TimelineView, offset=(x + 2, y))
        await pilot.hover(TimelineView, offset=(x + 7, y - 2))
        await pilot.mouse_up(TimelineView, offset=(x + 7, y - 2))
        moves = [m for m in app.messages if isinstance(m, view.MoveRequested)]
        assert [(m.clip_id, m.track_id, m.start) for m in moves] == [
            (clip_id(demo, "Welcome line"), demo.tracks[2].id, 45 + 5 * 2)
        ]

    run(demo, (80, 24), scenario)


def test_set_project_rebuilds_only_the_changed_track(demo: Project) -> None:
    async def scenario(app: Host, view: TimelineView, pilot: Pilot[None]) -> None:
        await pilot.pause()
        v2, *rest = demo.tracks
        renamed = msgspec.structs.replace(
            v2, clips=(msgspec.structs.replace(v2.clips[0], name="Opening"),)
        )
        view.stats.reset()
        edited = msgspec.structs.replace(demo, tracks=(renamed, *rest))
        view.set_project(edited, 2)
        await pilot.pause()
        assert view.stats.strips_built == 2, "the two lines of V2, nothing else"
        assert "Opening" in "\n".join(lines(view))
        # A project that differs only in its playhead costs a playhead move.
        view.stats.reset()
        moved = msgspec.structs.replace(
            edited, editor=msgspec.structs.replace(demo.editor, playhead=20)
        )
        view.set_project(moved, 3)
        await pilot.pause()
        assert view.playhead == 20 and view.stats.strips_built == 0

    run(demo, (80, 24), scenario)


def test_selection_from_the_editor_state_is_drawn(demo: Project) -> None:
    async def scenario(app: Host, view: TimelineView, pilot: Pilot[None]) -> None:
        _x, y = find(view, "Welcome line")
        plain = view.render_line(y)
        selected = msgspec.structs.replace(
            demo, editor=msgspec.structs.replace(demo.editor, selection=(clip_id(demo, "Tone"),))
        )
        view.set_project(selected, 2)
        assert view.render_line(y).text == plain.text  # Tone is off screen at 80 columns
        selected = msgspec.structs.replace(
            demo,
            editor=msgspec.structs.replace(demo.editor, selection=(clip_id(demo, "Welcome line"),)),
        )
        view.set_project(selected, 3)
        styled = view.render_line(y)
        assert styled.text == plain.text and list(styled) != list(plain)

    run(demo, (80, 24), scenario)


def test_a_theme_change_restyles_the_cached_lines(demo: Project) -> None:
    """Colours come from component classes, so a new theme repaints with new styles."""

    async def scenario(app: Host, view: TimelineView, pilot: Pilot[None]) -> None:
        _x, y = find(view, "Test pattern")
        before = list(view.render_line(y))
        app.theme = "textual-light"
        await pilot.pause()
        after = list(view.render_line(y))
        assert "".join(s.text for s in after) == "".join(s.text for s in before)
        assert [s.style for s in after] != [s.style for s in before]

    run(demo, (80, 24), scenario)


class AnsiHost(Host):
    """A user stylesheet that gives video clips an ANSI colour (a terminal palette entry)."""

    CSS = "TimelineView > .timeline--clip-video { color: ansi_bright_red; }"


@pytest.mark.parametrize("theme", ["textual-dark", "ansi-dark"])
def test_styles_arrive_converted_so_the_truecolor_filter_is_skipped(
    demo: Project, theme: str
) -> None:
    """The view leaves out the app's ANSI-to-truecolor line filter because it converts its
    styles when it makes them: applying the filter to what it draws changes nothing, and an
    ANSI colour from a stylesheet arrives as the theme's truecolor (or stays ANSI when the
    theme draws native ANSI colours and the filter is off)."""

    async def main() -> None:
        app = AnsiHost(demo)
        async with app.run_test(size=(80, 24)) as pilot:
            app.theme = theme
            await pilot.pause()
            view = app.query_one(TimelineView)
            raw = view.get_component_rich_style("timeline--clip-video")
            assert raw.color is not None and raw.color.triplet is None  # ANSI in the CSS
            truecolor = next(
                (f for f in app.get_line_filters() if isinstance(f, ANSIToTruecolor)), None
            )
            assert (truecolor is None) == (theme == "ansi-dark")
            width, height = view.size
            region = Region(0, 0, width, height)
            view.render_lines(region)  # the first pass notices the filter
            await pilot.pause()
            drawn = view.render_lines(region)
            assert truecolor not in view.get_line_filters()
            _x, y = find(view, "Test pattern")
            clip = next(s for s in drawn[y] if "Test pattern" in s.text)
            assert clip.style is not None and clip.style.color is not None
            assert (clip.style.color.triplet is None) == (truecolor is None)
            if truecolor is not None:
                background = view.background_colors[1]
                for strip in drawn:
                    assert strip.apply_filter(truecolor, background) == strip

    asyncio.run(main())
