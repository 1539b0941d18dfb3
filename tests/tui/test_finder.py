"""The quick-open finder: fuzzy ranking of project paths, the modal under Pilot, and the command
palette provider that offers "Open <path>"."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.text import Text
from textual.app import App
from textual.command import Hit
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

import tui.finder
from tui.finder import FileCommands, FileFinder, alignment_score, fuzzy_match, rank

PATHS = [
    "project.json",
    "scripts/script.md",
    "scripts/Scenario_TTS.json",
    "scripts/main_titles.md",
    "scripts/workflows/editor.json",
    "remotion/abc123/manifest.json",
    "remotion/def456/manifest.json",
    "remotion/abc123/scenes/credits.json",
    "remotion/abc123/src/ClipTrack.tsx",
]


def ranked(query: str, paths: list[str] = PATHS) -> list[str]:
    return [path for path, _ in rank(query, paths)]


# fuzzy_match and rank


def test_scr_prefers_the_script_to_manifests_and_scattered_segment_starts() -> None:
    order = ranked("scr")
    assert order[0] == "scripts/script.md"
    # s(cenes)/c(redits) hits two segment starts, but a run in the basename beats it.
    assert order.index("scripts/script.md") < order.index("remotion/abc123/scenes/credits.json")
    assert "remotion/abc123/manifest.json" not in order


def test_an_acronym_across_segments_finds_the_file() -> None:
    assert ranked("wfed") == ["scripts/workflows/editor.json"]
    assert fuzzy_match("wfed", "scripts/workflows/editor.json") == (
        alignment_score("scripts/workflows/editor.json", [8, 12, 18, 19]),
        [8, 12, 18, 19],
    )


def test_mani_ranks_the_manifests_first_shorter_then_alphabetical() -> None:
    order = ranked("mani")
    assert order[:2] == ["remotion/abc123/manifest.json", "remotion/def456/manifest.json"]
    assert "scripts/main_titles.md" in order[2:]


def test_the_best_alignment_wins_over_the_greedy_first_one() -> None:
    # Greedy would take the "s" of "scripts/"; the basename's "s" and ".md" score higher.
    found = fuzzy_match("sm", "scripts/script.md")
    assert found is not None
    assert found[1] == [8, 15]


def test_camel_case_humps_count_as_word_starts_and_case_is_ignored() -> None:
    found = fuzzy_match("ct", "src/ClipTrack.tsx")
    assert found is not None
    assert found[1] == [4, 8]
    assert fuzzy_match("CT", "src/ClipTrack.tsx") == found
    assert fuzzy_match("SCR", "scripts/script.md") == fuzzy_match("scr", "scripts/script.md")


def test_a_query_that_is_not_a_subsequence_does_not_match() -> None:
    assert fuzzy_match("zzz", "scripts/script.md") is None
    assert fuzzy_match("dms", "scripts/script.md") is None  # the letters are there, out of order
    assert fuzzy_match("project.jsonx", "project.json") is None
    assert ranked("zzz") == []


def test_the_empty_query_matches_everything_shortest_first() -> None:
    assert fuzzy_match("", "scripts/script.md") == (0, [])
    order = ranked("")
    assert sorted(order) == sorted(PATHS)
    assert order[:3] == ["project.json", "scripts/script.md", "scripts/main_titles.md"]


def test_ties_go_to_the_shorter_path_then_alphabetically_whatever_the_input_order() -> None:
    paths = ["b/notes.md", "a/notes.md", "long/dir/notes.md"]
    assert ranked("notes", paths) == ["a/notes.md", "b/notes.md", "long/dir/notes.md"]
    assert ranked("notes", paths[::-1]) == ranked("notes", paths)


def test_rank_stops_at_the_limit() -> None:
    paths = [f"scripts/take_{i:02}.md" for i in range(30)]
    assert [path for path, _ in rank("take", paths, limit=5)] == paths[:5]


@given(
    path=st.text(alphabet="ab/_.-AB", max_size=9),
    query=st.text(alphabet="abAB", min_size=1, max_size=4),
)
def test_the_score_is_the_best_over_every_alignment(path: str, query: str) -> None:
    """Against brute force: every way to place the query's letters in the path."""
    alignments = [
        list(at)
        for at in itertools.combinations(range(len(path)), len(query))
        if all(path[i].lower() == ch.lower() for i, ch in zip(at, query, strict=True))
    ]
    found = fuzzy_match(query, path)
    if not alignments:
        assert found is None
        return
    assert found is not None
    score, positions = found
    assert positions in alignments
    assert score == alignment_score(path, positions)
    assert score == max(alignment_score(path, at) for at in alignments)


# the modal


class FinderApp(App[None]):
    """Opens a `FileFinder` on `paths` and keeps what it dismisses with."""

    def __init__(self, paths: list[str]) -> None:
        super().__init__()
        self.paths = paths
        self.results: list[str | None] = []

    def on_mount(self) -> None:
        self.push_screen(FileFinder(self.paths), self.results.append)


Scenario = Callable[[FinderApp, Pilot[None]], Awaitable[None]]


def run_finder(scenario: Scenario, paths: list[str] = PATHS) -> None:
    async def go() -> None:
        app = FinderApp(paths)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, FileFinder)
            await scenario(app, pilot)

    asyncio.run(go())


def test_typing_reranks_down_moves_the_highlight_and_enter_opens_it() -> None:
    async def scenario(app: FinderApp, pilot: Pilot[None]) -> None:
        finder = app.screen
        assert isinstance(finder, FileFinder)
        matches = finder.query_one(OptionList)
        assert matches.option_count == len(PATHS)
        await pilot.press(*"scr")
        assert finder.shown[:2] == ["scripts/script.md", "remotion/abc123/scenes/credits.json"]
        prompt = matches.get_option_at_index(0).prompt
        assert isinstance(prompt, Text)
        assert prompt.plain == "scripts/script.md"
        assert sorted((s.start, s.end) for s in prompt.spans if "underline" in str(s.style)) == [
            (8, 9),
            (9, 10),
            (10, 11),
        ]
        assert matches.highlighted == 0
        await pilot.press("down")
        assert matches.highlighted == 1
        assert isinstance(app.focused, Input)  # typing goes on while the list moves
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == ["remotion/abc123/scenes/credits.json"]
        assert not isinstance(app.screen, FileFinder)

    run_finder(scenario)


def test_escape_dismisses_with_none() -> None:
    async def scenario(app: FinderApp, pilot: Pilot[None]) -> None:
        await pilot.press(*"mani", "escape")
        await pilot.pause()
        assert app.results == [None]
        assert not isinstance(app.screen, FileFinder)

    run_finder(scenario)


def test_with_no_match_enter_does_nothing_and_the_finder_stays() -> None:
    async def scenario(app: FinderApp, pilot: Pilot[None]) -> None:
        finder = app.screen
        assert isinstance(finder, FileFinder)
        await pilot.press(*"zzq")
        matches = finder.query_one(OptionList)
        assert matches.option_count == 1
        only = matches.get_option_at_index(0)
        assert only.disabled
        assert str(only.prompt) == "no file matches 'zzq'"
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.results == []
        assert app.screen is finder
        await pilot.press("backspace", "backspace", "backspace", "enter")
        await pilot.pause()
        assert app.results == ["project.json"]  # shortest first for the empty query

    run_finder(scenario)


def test_a_long_list_scrolls_inside_a_box_within_70_percent_of_the_screen() -> None:
    async def scenario(app: FinderApp, pilot: Pilot[None]) -> None:
        finder = app.screen
        assert isinstance(finder, FileFinder)
        box, matches = finder.query_one("#finder-box"), finder.query_one(OptionList)
        assert matches.option_count == 50  # the default limit
        assert box.region.height <= 48 * 7 // 10
        assert app.screen.region.contains_region(box.region)
        await pilot.press(*["down"] * 40)
        await pilot.pause()
        assert matches.highlighted == 40
        # The highlighted row is on screen inside the box, not clipped below it.
        y = matches.content_region.y + 40 - matches.scroll_offset.y
        assert box.region.y < y < box.region.bottom - 1

    run_finder(scenario, [f"scripts/take_{i:02}.md" for i in range(80)])


# the command palette provider


class ScriptsApp(App[None]):
    """An app that `OpensScripts`, recording what it is asked to open."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.project_root = root
        self.opened: list[str] = []

    def open_script(self, path: str) -> None:
        self.opened.append(path)


async def search(app: App[None], query: str) -> list[Hit]:
    provider = FileCommands(app.screen)  # as the CommandPalette makes one: (screen, match_style)
    hits = [hit async for hit in provider.search(query)]
    assert all(isinstance(hit, Hit) for hit in hits)
    return [hit for hit in hits if isinstance(hit, Hit)]


def test_the_palette_offers_the_demo_script_and_its_command_opens_it(demo_dir: Path) -> None:
    async def go() -> None:
        app = ScriptsApp(demo_dir)
        async with app.run_test(size=(160, 48)):
            hits = await search(app, "script.md")
            best = max(hits, key=lambda hit: hit.score)
            assert best.text == "Open scripts/script.md"
            assert str(best.match_display) == "Open scripts/script.md"
            assert app.opened == []
            best.command()
            assert app.opened == ["scripts/script.md"]
            assert await search(app, "zzzzqqq") == []

    asyncio.run(go())


def test_an_app_without_project_root_and_open_script_gets_no_hits(tmp_path: Path) -> None:
    async def go() -> None:
        app: App[None] = App()
        async with app.run_test(size=(160, 48)):
            assert await search(app, "script") == []

    asyncio.run(go())


def test_the_file_list_is_read_off_the_event_loop_and_brackets_survive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readers: list[int] = []

    def fake_script_files(root: Path) -> list[str]:
        assert root == tmp_path
        readers.append(threading.get_ident())
        return ["scripts/[draft].md", "scripts/script.md"]

    monkeypatch.setattr(tui.finder, "script_files", fake_script_files)

    async def go() -> None:
        app = ScriptsApp(tmp_path)
        async with app.run_test(size=(160, 48)):
            hits = await search(app, "draft")
            assert [hit.text for hit in hits] == ["Open scripts/[draft].md"]
            # Textual's own Matcher.highlight would read "[draft]" as markup and drop it.
            assert str(hits[0].match_display) == "Open scripts/[draft].md"
            assert readers and threading.get_ident() not in readers

    asyncio.run(go())


def test_ctrl_o_lists_the_files_on_disk_even_before_the_tree_has(demo_dir: Path) -> None:
    """Ctrl+O pressed the moment the editor shows (the project tree's first listing still on
    its way, or a file made since its last one) offers what is on disk now."""
    from engine.session import Session
    from tui.app import ReelcutApp
    from tui.project_tree import ProjectTree

    (demo_dir / "scripts" / "late.md").write_text("made after the listing\n")

    async def go() -> None:
        with Session(demo_dir) as session:
            app = ReelcutApp(session, background_jobs=False)
            async with app.run_test(size=(160, 48)) as pilot:
                await pilot.pause()
                tree = app.editor.query_one(ProjectTree)
                tree.files = []  # as before the first listing lands
                await pilot.press("ctrl+o")
                await pilot.pause()
                finder = app.screen
                assert isinstance(finder, FileFinder)
                assert "scripts/script.md" in finder.paths
                assert "scripts/late.md" in finder.paths
                assert "scripts/late.md" in tree.files  # the tree caught up too

    asyncio.run(go())
