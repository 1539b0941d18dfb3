"""The status line repaints the cells that changed (`tui.status_line.changed_span`)."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.geometry import Region

from tui.status_line import _shown, changed_span


@pytest.mark.parametrize(
    ("old", "new", "span"),
    [
        ("00:00:00:01  2f/col", "00:00:00:02  2f/col", Region(10, 0, 1, 1)),
        ("00:00:00:09  2f/col", "00:00:00:10  2f/col", Region(9, 0, 2, 1)),
        ("a  ▶ 1x", "a", Region(1, 0, 6, 1)),  # shorter: the cells left behind are cleared
        ("a", "a  ▶ 1x", Region(1, 0, 6, 1)),
        ("same", "same", Region(0, 0, 0, 0)),  # nothing to repaint
        ("x", "漢字", None),  # wide characters: the whole line
    ],
)
def test_the_span_that_changed(old: str, new: str, span: Region | None) -> None:
    assert changed_span(_shown(old), _shown(new)) == span


def test_a_change_of_style_or_the_first_text_repaints_the_line() -> None:
    plain, bold = Text("00:00:00:01"), Text("00:00:00:01", style="bold")
    assert changed_span(_shown(plain), _shown(bold)) is None
    assert changed_span(None, _shown("text")) is None
    assert _shown("[b]markup[/b]") is None  # markup is not compared as text
