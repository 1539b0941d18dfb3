"""Trim mode: roll, ripple, slip and slide at an edit point from the keyboard, as Resolve's trim
mode and Avid's do.

U enters it at the edit point nearest the playhead on the current track (and, pressed again,
steps through the modes: roll, ripple the out side, ripple the in side, slip, slide); in it the
nudge keys trim instead (``,`` ``.`` one frame, ``<`` ``>`` ten, as Avid's trim keys); Escape
leaves it. Roll and ripple move the playhead with the edit point, so the next press trims the
same cut. Every press is one op (one undo step) through the app's door.

J and L trim dynamically, as Avid's and Resolve's trim modes do: they shuttle the playhead
(backwards, forwards; again: faster) and the edit point follows it; K stops and commits the
trim by the frames the playhead ran, as one op (one undo step), the same op as that many presses
of the frame keys would make. Escape during a dynamic trim puts the playhead back and trims
nothing. The playhead runs on `tui.playback.Playback`'s clock.

`edit_point` is a pure function of a track and a frame, tested directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.model import Clip, Track
from engine.ops import Op, RippleTrim, Roll, Slide, Slip
from engine.timebase import format_timecode
from tui import navigate as nav

if TYPE_CHECKING:
    from tui.editor_screen import EditorScreen

MODES = ("roll", "ripple out", "ripple in", "slip", "slide")
"""The trim modes in the order U steps through them."""


def edit_point(track: Track, frame: int) -> tuple[int, Clip | None, Clip | None] | None:
    """The clip edge on ``track`` nearest ``frame`` (the earlier one on a tie), with the clip
    that ends there and the clip that starts there (either may be None); None for an empty
    track."""
    edges = sorted({e for c in track.clips for e in (c.start, c.end)})
    if not edges:
        return None
    point = min(edges, key=lambda e: (abs(e - frame), e))
    left = next((c for c in track.clips if c.end == point), None)
    right = next((c for c in track.clips if c.start == point), None)
    return point, left, right


class TrimMode:
    """Whether trim mode is on and in which mode; the trims it makes."""

    def __init__(self, screen: EditorScreen) -> None:
        self.screen = screen
        self.mode: str | None = None
        """One of `MODES`, or None when trim mode is off."""
        self.dynamic_from: int | None = None
        """Where the playhead was when a dynamic trim (J/L) began; None when none runs."""

    def step_mode(self) -> None:
        """On (roll), or the next mode."""
        self.mode = MODES[(MODES.index(self.mode) + 1) % len(MODES)] if self.mode else MODES[0]
        self.screen.host.flash(self.describe())

    def leave(self) -> bool:
        """Off (a dynamic trim running is only cancelled); False when it was not on."""
        if self.mode is None:
            return False
        if self.dynamic_from is not None:
            self.cancel_dynamic()
            return True
        self.mode = None
        self.screen.host.flash("trim mode off")
        return True

    def describe(self) -> str:
        """What the status line says in trim mode: the mode, where, and the keys."""
        app = self.screen.host
        project = app.project
        where = ""
        if self.mode in ("slip", "slide"):
            clip = nav.target_clip(project, app.selection, app.track_index, app.playhead)
            where = clip.id if clip is not None else "no clip here"
        elif project.tracks:
            found = edit_point(project.tracks[app.track_index], app.playhead)
            if found is not None:
                point, left, right = found
                where = (
                    f"{format_timecode(point, project.rate)} "
                    f"{left.id if left else '-'}|{right.id if right else '-'}"
                )
        if self.dynamic_from is not None:
            by = app.playhead - self.dynamic_from
            return f"TRIM {self.mode} {by:+d}f  J L shuttle  K commit  Esc cancel"
        return f"TRIM {self.mode} {where}  , . 1f  < > 10f  J K L  u mode  Esc done"

    def _op(self, by: int, at: int | None = None) -> tuple[Op, int] | str:
        """The op for a trim of ``by`` frames at the playhead (or at frame ``at``) and how far
        the playhead follows, or why not."""
        app = self.screen.host
        project = app.project
        at = app.playhead if at is None else at
        if self.mode in ("slip", "slide"):
            clip = nav.target_clip(project, app.selection, app.track_index, at)
            if clip is None:
                return f"{self.mode}: no clip under the playhead on this track; select one"
            if self.mode == "slip":
                return Slip(clip_id=clip.id, by=by), 0
            return Slide(clip_id=clip.id, by=by), by
        if not project.tracks:
            return "trim: no tracks"
        found = edit_point(project.tracks[app.track_index], at)
        if found is None:
            return "trim: no edit point on this track"
        _, left, right = found
        if self.mode == "roll":
            if left is None or right is None:
                return "roll: this edit point has a clip on one side only; use ripple (u)"
            return Roll(clip_id=left.id, by=by), by
        if self.mode == "ripple out":
            if left is None:
                return "ripple out: no clip ends here; ripple in (u) trims the clip after it"
            return RippleTrim(clip_id=left.id, edge="out", by=by), by
        if right is None:
            return "ripple in: no clip starts here; ripple out (u) trims the clip before it"
        return RippleTrim(clip_id=right.id, edge="in", by=by), 0

    async def trim(self, by: int) -> None:
        """Trim by ``by`` frames in the current mode."""
        app = self.screen.host
        found = self._op(by)
        if isinstance(found, str):
            app.flash(found)
            return
        op, follow = found
        change = await self.screen._apply(op, self.mode or "trim")
        if change is not None and follow:
            app.playback.seek(max(0, app.playhead + follow))

    # -- dynamic trimming (J K L) ----------------------------------------------------------

    def shuttle(self, direction: int) -> None:
        """J (-1) or L (1): start a dynamic trim at the playhead, or shuttle on (faster, or
        the other way) in the one running."""
        app = self.screen.host
        if self.dynamic_from is None:
            found = self._op(0)
            if isinstance(found, str):
                app.flash(found)
                return
            app.playback.halt()
            self.dynamic_from = app.playhead
        app.playback.shuttle(direction)  # the status line's trim part counts the frames live

    async def commit_dynamic(self) -> None:
        """K: stop, and trim by the frames the playhead ran (one op), at the edit point where
        the dynamic trim began; the playhead ends where the frame keys would leave it."""
        app = self.screen.host
        start = self.dynamic_from
        if start is None:
            return
        app.playback.halt()
        self.dynamic_from = None
        by = app.playhead - start
        if by == 0:
            app.flash(self.describe())
            return
        found = self._op(by, at=start)
        if isinstance(found, str):
            app.playback.seek(start)
            app.flash(found)
            return
        op, follow = found
        change = await self.screen._apply(op, self.mode or "trim")
        app.playback.seek(start + follow if change is not None else start)

    def cancel_dynamic(self) -> None:
        """Escape in a dynamic trim: stop, the playhead back where it began, nothing trimmed."""
        app = self.screen.host
        start = self.dynamic_from
        if start is None:
            return
        app.playback.halt()
        self.dynamic_from = None
        app.playback.seek(start)
        app.flash(f"dynamic {self.mode} cancelled; " + self.describe())
