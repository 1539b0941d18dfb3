"""Quick-open for the script editor: fuzzy-find a project text file by a few letters of its path.

Three pieces, from pure to UI:

- `fuzzy_match` / `rank`: an editor-style subsequence matcher. It picks the best alignment of the
  query in the path (not the greedy first one) and scores it so that runs of consecutive letters,
  letters at the start of a path segment or word (after ``/ _ - .``, or a camelCase hump) and
  letters in the basename count more, and long gaps count against; `rank` breaks equal scores by
  the shorter path, then alphabetically.
- `FileFinder`: a modal with an input over the ranked list, matched letters underlined; Up/Down
  move the highlight while typing continues, Enter dismisses with the path, Escape with None.
- `FileCommands`: a command palette provider offering "Open <path>" for every script file of an
  app that `OpensScripts`.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, Protocol, cast

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.command import Hit, Hits, Matcher, Provider
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.style import Style
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from engine.workspace import script_files

# Scores of one matched letter, on the scale of fzf's (a match is worth 16, bonuses a fraction).
MATCH = 16
SEGMENT_START = 10  # first letter of the path or of a directory/file name (after "/")
WORD_START = 8  # after "_", "-", "." or a space
CAMEL_HUMP = 7  # an upper-case letter after a lower-case one
CONSECUTIVE = 6  # right after the previous matched letter
IN_BASENAME = 4  # anywhere in the file name, the part people remember
GAP_OPEN = 3  # subtracted for the first skipped letter between two matches...
GAP_EXTEND = 1  # ...and for each further one
WORD_SEPARATORS = frozenset("_-. ")

MATCH_STYLE = "bold underline"
_NO_SCORE = -(1 << 30)


def _letter_bonus(path: str, i: int, basename_start: int) -> int:
    """What matching the letter at `i` is worth beyond `MATCH`, by where it sits in `path`."""
    before = path[i - 1] if i else "/"
    if before == "/":
        bonus = SEGMENT_START
    elif before in WORD_SEPARATORS:
        bonus = WORD_START
    elif before.islower() and path[i].isupper():
        bonus = CAMEL_HUMP
    else:
        bonus = 0
    return bonus + (IN_BASENAME if i >= basename_start else 0)


def fuzzy_match(query: str, path: str) -> tuple[int, list[int]] | None:
    """Score `query` as a case-insensitive subsequence of `path`; None when it is not one.

    Returns (score, positions of the matched letters in `path`), for the best-scoring alignment.
    An empty query matches every path with score 0 and no positions.

        fuzzy_match("sm", "scripts/script.md")  ->  (…, [8, 15])   not the greedy [0, 15]
    """
    if not query:
        return 0, []
    q, p = query.lower(), path.lower()
    m, n = len(q), len(p)
    # The window each query letter can occupy: from its greedy-first position to its
    # greedy-last one. It rejects non-matches in one pass and keeps the DP below small.
    lo: list[int] = []
    at = 0
    for ch in q:
        at = p.find(ch, at)
        if at < 0:
            return None
        lo.append(at)
        at += 1
    hi = [0] * m
    at = n
    for j in range(m - 1, -1, -1):
        at = p.rfind(q[j], 0, at)
        hi[j] = at
    basename_start = path.rfind("/") + 1
    bonus = [_letter_bonus(path, i, basename_start) for i in range(n)]

    # best[j][i]: the best score of q[: j + 1] with q[j] matched at i; came_from[j][i]: where
    # q[j - 1] sits in that alignment (to read the positions back).
    best: list[list[int]] = []
    came_from: list[list[int]] = []
    for j in range(m):
        row = [_NO_SCORE] * n
        link = [-1] * n
        if j == 0:
            for i in range(lo[0], hi[0] + 1):
                if p[i] == q[0]:
                    row[i] = MATCH + bonus[i]
        else:
            prev = best[j - 1]
            # The best predecessor at least one letter back, gap penalty included; moving i on
            # by one lengthens every candidate's gap by one letter.
            gapped, gapped_at = _NO_SCORE, -1
            for i in range(lo[j - 1] + 1, hi[j] + 1):
                gapped -= GAP_EXTEND
                if i >= 2 and prev[i - 2] > _NO_SCORE and prev[i - 2] - GAP_OPEN > gapped:
                    gapped, gapped_at = prev[i - 2] - GAP_OPEN, i - 2
                if p[i] != q[j]:
                    continue
                if prev[i - 1] > _NO_SCORE and prev[i - 1] + CONSECUTIVE >= gapped:
                    row[i], link[i] = prev[i - 1] + CONSECUTIVE + MATCH + bonus[i], i - 1
                elif gapped_at >= 0:
                    row[i], link[i] = gapped + MATCH + bonus[i], gapped_at
        best.append(row)
        came_from.append(link)

    last = best[m - 1]
    end = max(range(lo[m - 1], hi[m - 1] + 1), key=lambda i: last[i])
    positions = [end]
    for j in range(m - 1, 0, -1):
        positions.append(came_from[j][positions[-1]])
    positions.reverse()
    return last[end], positions


def alignment_score(path: str, positions: list[int]) -> int:
    """The score of matching letters at `positions` (ascending) of `path`: what `fuzzy_match`
    maximises over every alignment of the query."""
    basename_start = path.rfind("/") + 1
    score = sum(MATCH + _letter_bonus(path, i, basename_start) for i in positions)
    for before, after in itertools.pairwise(positions):
        gap = after - before - 1
        score += CONSECUTIVE if gap == 0 else -(GAP_OPEN + GAP_EXTEND * (gap - 1))
    return score


def rank(query: str, paths: Iterable[str], limit: int = 50) -> list[tuple[str, list[int]]]:
    """The `limit` best matches of `query` in `paths`, best first, with their matched positions.

    Equal scores go to the shorter path, then alphabetically, so the order never depends on the
    order of `paths`.
    """
    scored: list[tuple[int, int, str, list[int]]] = []
    for path in paths:
        found = fuzzy_match(query, path)
        if found is not None:
            scored.append((-found[0], len(path), path, found[1]))
    return [(path, positions) for _, _, path, positions in heapq.nsmallest(limit, scored)]


def highlighted(path: str, positions: Iterable[int], style: str = MATCH_STYLE) -> Text:
    """`path` as rich text with the letters at `positions` in `style`."""
    text = Text(path, no_wrap=True, overflow="ellipsis")
    for i in positions:
        text.stylize(style, i, i + 1)
    return text


class FileFinder(ModalScreen[str | None]):
    """Open a file by typing part of its name: dismisses with the chosen path, or None."""

    DEFAULT_CSS = """
    FileFinder {
        align: center middle;
    }
    FileFinder > #finder-box {
        width: 70%;
        height: auto;
        max-height: 70%;
        padding: 0 1;
        border: round $accent;
        border-title-color: $text;
        border-subtitle-color: $text-muted;
        background: $surface;
    }
    FileFinder #finder-input {
        margin-bottom: 1;
    }
    FileFinder #finder-list {
        height: auto;  /* max-height set in cells by `fit_list`: see there */
        border: none;
        background: $surface;
        padding: 0;
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="finder.cancel"),
        Binding("down", "move(1)", "Next", show=False, id="finder.next"),
        Binding("up", "move(-1)", "Previous", show=False, id="finder.previous"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="finder.page_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="finder.page_up"),
    ]

    BOX_CHROME = 6  # rows of the box that are not the list: its border, the input, a margin

    def __init__(self, paths: Iterable[str], *, limit: int = 50) -> None:
        """`paths`: the candidates (duplicates are dropped); `limit`: how many to list at once."""
        super().__init__()
        self.paths = list(dict.fromkeys(paths))
        self.limit = limit
        self.shown: list[str] = []
        """The listed paths, in the order of the options (an option's index is its path's)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="finder-box") as box:
            box.border_title = "Open file"
            yield Input(placeholder="Open file: type part of its name", id="finder-input")
            matches = OptionList(id="finder-list")
            matches.can_focus = False  # the Input keeps focus; Up/Down reach the list from here
            yield matches

    def on_mount(self) -> None:
        self.fit_list(self.app.size.height)
        self.show_matches("")
        self.query_one(Input).focus()

    def on_resize(self, event: events.Resize) -> None:
        self.fit_list(event.size.height)

    def fit_list(self, screen_height: int) -> None:
        """Cap the list so the box stays within 70% of the screen. In cells, not CSS `vh`: an
        auto-height parent sizes itself to a `vh`-capped child's full content (Textual 8.2)."""
        cap = screen_height * 7 // 10 - self.BOX_CHROME
        self.matches.styles.max_height = max(3, cap)

    @property
    def matches(self) -> OptionList:
        return self.query_one("#finder-list", OptionList)

    @property
    def chosen(self) -> str | None:
        """The highlighted path, or None when nothing matches."""
        index = self.matches.highlighted
        return None if index is None or index >= len(self.shown) else self.shown[index]

    def show_matches(self, query: str) -> None:
        """List the paths matching `query`, best first, and highlight the best."""
        ranked = rank(query, self.paths, self.limit)
        self.shown = [path for path, _ in ranked]
        matches = self.matches
        matches.clear_options()
        if ranked:
            matches.add_options(Option(highlighted(path, found)) for path, found in ranked)
            matches.highlighted = 0
        else:
            matches.add_option(Option(Text(f"no file matches {query!r}"), disabled=True))
        box = self.query_one("#finder-box")
        box.border_subtitle = f"{len(ranked)} of {len(self.paths)}"

    @on(Input.Changed, "#finder-input")
    def _requery(self, event: Input.Changed) -> None:
        self.show_matches(event.value)

    @on(Input.Submitted, "#finder-input")
    def _open_highlighted(self) -> None:
        if (path := self.chosen) is not None:
            self.dismiss(path)

    @on(OptionList.OptionSelected, "#finder-list")
    def _open_clicked(self, event: OptionList.OptionSelected) -> None:
        if event.option_index < len(self.shown):
            self.dismiss(self.shown[event.option_index])

    def action_move(self, step: int) -> None:
        if step > 0:
            self.matches.action_cursor_down()
        else:
            self.matches.action_cursor_up()

    def action_page(self, step: int) -> None:
        if step > 0:
            self.matches.action_page_down()  # type: ignore[no-untyped-call]  # unannotated upstream
        else:
            self.matches.action_page_up()  # type: ignore[no-untyped-call]

    def action_cancel(self) -> None:
        self.dismiss(None)


class OpensScripts(Protocol):
    """What an app offers `FileCommands`: where the project is and how to open one of its files."""

    project_root: Path

    def open_script(self, path: str) -> None:
        """Open `path` (relative POSIX, as `script_files` lists it) in a script pane."""


def script_opener(app: object) -> OpensScripts | None:
    """`app` if it has a `project_root` and an `open_script`, else None (it offers no files)."""
    has_root = getattr(app, "project_root", None) is not None
    if not has_root or not callable(getattr(app, "open_script", None)):
        return None
    return cast(OpensScripts, app)


def _highlight(matcher: Matcher, command: str) -> Content:
    """`command` with the matcher's letters styled. Not `Matcher.highlight`: that parses the
    candidate as markup, which eats a path like ``scripts/[draft].md``."""
    content = Content(command)
    _, offsets = matcher.fuzzy_search.match(matcher.query, command)
    for offset in offsets:
        if not command[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


class FileCommands(Provider):
    """Command palette entries "Open <path>" for each script file of an app that `OpensScripts`
    (an app without `project_root` and `open_script` gets none)."""

    def __init__(self, screen: Screen[Any], match_style: Style | None = None) -> None:
        super().__init__(screen, match_style)
        self._files: list[str] | None = None
        """The project's script files, read once per palette opening (a provider lives as long
        as the palette)."""

    async def _script_files(self, root: Path) -> list[str]:
        if self._files is None:
            # Walking the project is disk work: off the event loop.
            self._files = await asyncio.to_thread(script_files, Path(root))
        return self._files

    async def search(self, query: str) -> Hits:
        """A hit for every script file whose "Open <path>" fuzzily matches `query`."""
        target = script_opener(self.app)
        if target is None:
            return
        matcher = self.matcher(query)
        open_script: Callable[[str], None] = target.open_script
        for path in await self._script_files(target.project_root):
            command = f"Open {path}"
            score = matcher.match(command)
            if score > 0:
                yield Hit(
                    score,
                    _highlight(matcher, command),
                    partial(open_script, path),
                    text=command,
                    help="Open this file in a script pane",
                )
