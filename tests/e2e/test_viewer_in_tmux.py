"""The picture viewer in the real `reelcut` binary in real tmux: the half-block picture read
back from ``capture-pane -e`` (colours and all), decoded to its bar code at each position the
keys move the playhead to, and compared with the source frame ffprobe's timestamps say the
timeline shows there. With kitty graphics forced, the placeholder cells come through tmux
intact (each naming its row and column, in the image id's colour)."""

from __future__ import annotations

import asyncio
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
from tests.tui.test_viewer import read_bars
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

        tmux.wait_for(placeholders, "placeholder cells")
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
