"""The picture viewer in the real `reelcut` binary in real tmux: the half-block picture read
back from ``capture-pane -e`` (colours and all), decoded to its bar code at each position the
keys move the playhead to, and compared with the source frame ffprobe's timestamps say the
timeline shows there. With kitty graphics forced, the placeholder cells come through tmux
intact (each naming its row and column, in the image id's colour); with sixel forced, the
picture the binary writes through tmux's passthrough decodes to the frame's bar code."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from pathlib import Path

import pytest

from engine.media.derivatives import build_derivative
from engine.projectdir import ProjectDir
from engine.timebase import Rate, parse_timecode
from tests.e2e.screen_cells import Cell, half_block_pixels, parse
from tests.e2e.tmux import Tmux
from tests.engine.test_shown import truth
from tests.preview_web.exactness import Built, build_project
from tests.tui.sixel_decoder import Decoded
from tests.tui.test_viewer import read_bars, sixel_pictures
from tui.terminal_graphics import DIACRITICS, PLACEHOLDER

REELCUT = str(Path(sys.executable).with_name("reelcut"))
TC = re.compile(r"\d\d:\d\d:\d\d:\d\d")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    tmp = tmp_path_factory.mktemp("viewer-tmux")
    built = build_project(tmp / "p", "30", ["25", "30000/1001"], tmp)
    project = ProjectDir(built.root).load()
    for asset in project.assets:
        if asset.kind == "video":
            asyncio.run(build_derivative(built.root, asset, "proxy", project.rate))
    return built


def open_editor(built: Built, graphics: str) -> Tmux:
    env = ["env", f"REELCUT_GRAPHICS={graphics}", "COLORTERM=truecolor"]
    return Tmux([*env, REELCUT, "open", str(built.root)], width=160, height=48)


def cells(tmux: Tmux) -> list[list[Cell]]:
    return parse(tmux._tmux("capture-pane", "-p", "-e", "-t", "main").split("\n"))


def text(row: list[Cell]) -> str:
    return "".join(c.text[0] if c.text else " " for c in row)


def viewer_box(rows: list[list[Cell]]) -> tuple[int, int, int, int] | None:
    """(left, caption row, width, picture rows) of the viewer: right of the chat panel, its
    caption on the panels' top border row, its picture down to their bottom border row."""
    for y, row in enumerate(rows[:4]):
        line = text(row)
        corner = line.rfind("╮")
        if corner > 0 and TC.match(line[corner + 2 : corner + 13]):
            bottom = next(
                b for b in range(y + 1, len(rows)) if text(rows[b])[corner : corner + 1] == "╯"
            )
            return corner + 1, y, len(line.rstrip("\n")) - corner - 1, bottom - y
    return None


def shown(tmux: Tmux, rate: Rate) -> tuple[int, list[list[Cell]], tuple[int, int, int, int]] | None:
    """The frame the viewer shows, once it is the playhead's (the status line's timecode)."""
    rows = cells(tmux)
    box = viewer_box(rows)
    status = next((text(r) for r in reversed(rows) if "f/col" in text(r)), "")
    if box is None or not status:
        return None
    left, top, _, _ = box
    playhead = TC.search(status)
    caption = TC.search(text(rows[top])[left:])
    if playhead is None or caption is None or caption.group(0) != playhead.group(0):
        return None
    return parse_timecode(playhead.group(0), rate), rows, box


def wait_shown(
    tmux: Tmux, rate: Rate, before: int | None
) -> tuple[int, list[list[Cell]], tuple[int, int, int, int]]:
    """`shown`, waited for, at another frame than ``before``."""
    seen: list[tuple[int, list[list[Cell]], tuple[int, int, int, int]]] = []

    def ready() -> bool:
        now = shown(tmux, rate)
        if now is None or now[0] == before:
            return False
        seen.append(now)
        return True

    tmux.wait_for(ready, "the viewer's picture of the playhead's frame")
    return seen[-1]


def test_the_half_block_viewer_in_tmux_shows_the_frame_under_the_playhead(built: Built) -> None:
    project = ProjectDir(built.root).load()
    tmux = open_editor(built, "halfblock")
    try:
        tmux.wait_text("f/col", timeout=60)
        checks: list[tuple[int, int | None, int | None]] = []
        keys = [[], ["Right"] * 3, ["S-Right"], ["Down"], ["Down"], ["Down"], ["Left"], ["End"]]
        for press in keys:
            if press:
                tmux.keys(*press)
            before = checks[-1][0] if checks else None
            n, rows, (left, top, width, height) = wait_shown(tmux, project.rate, before)
            pixels = half_block_pixels(rows, left, top + 1, width, height)
            checks.append(
                (n, truth(built, project, n), read_bars(pixels, project, (width, 2 * height)))
            )
        assert len({n for n, _, _ in checks}) == len(keys), checks
        wrong = [c for c in checks if c[1] != c[2]]
        assert wrong == [], f"(frame, want, got): {wrong} of {checks}"
    finally:
        tmux.close()


def test_kitty_placeholders_come_through_tmux(built: Built) -> None:
    tmux = open_editor(built, "kitty")
    try:
        tmux.wait_text("f/col", timeout=60)

        def placeholders() -> bool:
            rows = cells(tmux)
            return any(PLACEHOLDER in c.text for r in rows for c in r)

        # The first picture waits for the decode of the playhead's frame (slow on a loaded machine).
        tmux.wait_for(placeholders, "placeholder cells", timeout=60)
        rows = cells(tmux)
        found = [
            (y, x, c) for y, r in enumerate(rows) for x, c in enumerate(r) if PLACEHOLDER in c.text
        ]
        top = min(y for y, _, _ in found)
        left = min(x for _, x, _ in found)
        for y, x, c in found:
            assert c.text == PLACEHOLDER + DIACRITICS[y - top] + DIACRITICS[x - left], (y, x)
            assert c.fg == (95, 135, 175)  # 24-bit: the image id 0x5F87AF
        columns = max(x for _, x, _ in found) - left + 1
        lines = max(y for y, _, _ in found) - top + 1
        assert len(found) == columns * lines and columns > 20 and lines > 5
    finally:
        tmux.close()


def test_sixel_through_tmux_draws_the_frame_under_the_playhead(
    built: Built, tmp_path: Path
) -> None:
    """With sixel forced, in a tmux (3.3) that does not draw sixel itself: what the real
    binary writes to its pane (``pipe-pane``) holds, after each move, a sixel picture wrapped
    for tmux's passthrough, placed at the viewer's first picture cell, that a sixel decoder
    reads back to the bar code of the frame under the playhead; the pane's cells under it
    stay blank and the rest of the screen is drawn as ever."""
    project = ProjectDir(built.root).load()
    out = tmp_path / "pane.out"
    tmux = open_editor(built, "sixel")

    def pictures() -> list[tuple[tuple[int, int], Decoded]]:
        return sixel_pictures([out.read_text("latin-1")])

    try:
        tmux._tmux("pipe-pane", "-o", "-t", "main", f"cat >> {out}")
        tmux.wait_text("f/col", timeout=60)
        checks: list[tuple[int, int | None, int | None]] = []
        for press in [[], ["S-Right"], ["Down"], ["End"]]:
            seen = len(pictures()) if press else 0
            if press:
                tmux.keys(*press)
            before = checks[-1][0] if checks else None
            n, rows, (left, top, width, _) = wait_shown(tmux, project.rate, before)
            want = truth(built, project, n)
            last: list[tuple[tuple[int, int], int, int | None]] = []

            def drawn(
                want: int | None = want,
                seen: int = seen,
                last: list = last,  # type: ignore[type-arg]
            ) -> bool:
                # The newest picture since the key, until it is this frame's (a repaint
                # can write the previous one again first).
                found = pictures()
                if len(found) <= seen:
                    return False
                place, picture = found[-1]
                bars = read_bars(picture.pixels, project, (picture.width, picture.height))  # type: ignore[arg-type]
                last.append((place, picture.width, bars))
                return bars == want

            with contextlib.suppress(AssertionError):  # a timeout: the check below says what
                tmux.wait_for(drawn, f"a sixel picture of frame {n}")
            assert last, f"no sixel picture after {press}"
            place, picture_width, bars = last[-1]
            assert place == (left + 1, top + 2)
            # Whole cells of the default 10 x 20 (tmux has no client to ask), as wide as the
            # viewer's caption line at least, and the pane's cells under it blank.
            columns = picture_width // 10
            assert picture_width % 10 == 0 and columns >= width
            under = text(rows[top + 1])[left : left + columns]
            assert under.strip() == "", under  # (capture-pane leaves out trailing blanks)
            checks.append((n, want, bars))
        assert "\x1bPtmux;" in out.read_text("latin-1")
        wrong = [c for c in checks if c[1] != c[2]]
        assert wrong == [], f"(frame, want, got): {wrong} of {checks}"
    finally:
        tmux.close()
