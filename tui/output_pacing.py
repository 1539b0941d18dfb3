"""Frames dropped, not buffered, when the terminal reads slower than the editor paints.

Textual hands each screen update to a writer thread through a queue of up to 30 writes; the
thread blocks while the terminal (a pty that sshd drains into a slow link) is full, and the
queue fills with stale frames, each written in full after the link frees up, while a key's
answer waits behind them. `install` makes the screen hold a repaint while an earlier update is
still waiting in that queue: what is dirty stays dirty (Textual's compositor keeps the union
of the dirty regions), and the repaint is tried again a frame later, so what finally goes out
is the latest state of every changed cell, once. At most one update is then being written and
none waits behind it; the playhead skips frames on a slow link instead of lagging behind.

The signal is the writer's queue alone: the kernel's pty buffer (about 4 KiB readable, ~20 KiB
in all on Linux) and sshd's buffers are not visible from here (TIOCOUTQ is 0 on a pty).
Uses Textual internals (`Screen._compositor_refresh`, the driver's ``_writer_thread``); with a
Textual of another shape `install` changes nothing and returns False.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.screen import Screen

RETRY = 1 / 60
"""Seconds before a held repaint is tried again (Textual's own update period)."""

ORIGINAL = getattr(Screen, "_compositor_refresh", None)
_installed = False


@dataclass
class PacingStats:
    held: int = 0
    """Repaints held because the previous update had not been taken by the writer yet."""


STATS = PacingStats()


def backed_up(app: Any) -> bool:
    """An update handed to the writer thread is still waiting behind the one being written."""
    writer = getattr(getattr(app, "_driver", None), "_writer_thread", None)
    queue = getattr(writer, "_queue", None)
    return queue is not None and queue.qsize() > 0


def _compositor_refresh(self: Screen[Any]) -> None:
    """`Screen._compositor_refresh`, held while the terminal has not taken the last update."""
    app = self.app
    if self is app.screen and not app.is_inline and backed_up(app):
        STATS.held += 1
        if not getattr(self, "_reelcut_retry", False):
            self._reelcut_retry = True  # type: ignore[attr-defined]
            self.set_timer(RETRY, lambda: _retry(self))
        return
    assert ORIGINAL is not None
    ORIGINAL(self)


def _retry(screen: Screen[Any]) -> None:
    """The held repaint, tried again as Textual's own update does it: the widgets that became
    dirty since the hold (a status line updated by the key that came next) are taken into the
    compositor's dirty regions first. Without that, the repaint cleared them from the screen's
    dirty set unpainted, and the change never reached the terminal (a mark or an edit's
    message lost until something else on that line changed)."""
    screen._reelcut_retry = False  # type: ignore[attr-defined]
    if screen.is_current:
        dirty = getattr(screen, "_dirty_widgets", None)
        if dirty:
            screen._compositor.update_widgets(dirty)
        screen._compositor_refresh()


def install() -> bool:
    """Patch `Screen._compositor_refresh` once; False when Textual has no such method."""
    global _installed
    if _installed:
        return True
    if ORIGINAL is None:
        return False
    Screen._compositor_refresh = _compositor_refresh  # type: ignore[method-assign]
    _installed = True
    return True
