"""The editor's playback: the playhead (stepping, edit points, go to), play, shuttle and stop
on the editor's own clock, and the paired preview page, which is told every seek and play
over the event stream (seeks at most 30 a second) and, playing forward at 1x, drives the
playhead with the frames it reports. `PlaybackActions` is a mixin of `tui.app.ReelcutApp`
(its methods take the app as ``self``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tui import navigate as nav

if TYPE_CHECKING:
    from textual.app import App
    from textual.timer import Timer

    from engine.model import Project
    from preview_web.server import PreviewServer
    from tui.background import BackgroundJobs
    from tui.timeline.widget import TimelineView

    _Base = App[int]  # what the mixin is mixed into, for the type checker
else:
    _Base = object


class PlaybackActions(_Base):
    """The playhead and playback actions, and the page's side of them, mixed into the app."""

    if TYPE_CHECKING:  # the app's, used here
        jobs: BackgroundJobs | None
        preview: PreviewServer | None
        preview_text: str
        playhead: int
        speed: int
        _play_origin: tuple[float, int]
        _play_timer: Timer
        _page_seen: float
        _page_playing: bool
        _page_driven: bool
        _last_sent: float
        _pending_seek: int | None

        @property
        def project(self) -> Project: ...

        @property
        def timeline(self) -> TimelineView: ...

        def flash(self, text: str) -> None: ...

        def _show_status(self) -> None: ...

        def _state_changed(self) -> None: ...

    # -- the playhead ----------------------------------------------------------------------

    def seek(self, frame: int, *, tell_page: bool = True) -> None:
        frame = max(0, frame)
        if frame != self.playhead:
            self.playhead = frame
            self.timeline.set_playhead(frame)
            self._state_changed()
            if tell_page and not self.speed:
                self._tell_page("seek", frame)
        self._show_status()

    def _tell_page(self, kind: str, frame: int) -> None:
        """Send the page a playback command over the event stream (seeks at most 30 a second;
        the last one always goes, a frame's time later)."""
        events = self.jobs.events if self.jobs is not None else None
        if events is None or self.preview is None:
            return
        now = time.monotonic()
        if kind == "seek" and now - self._last_sent < 1 / 30:
            if self._pending_seek is None:
                self.set_timer(1 / 30, self._flush_seek)
            self._pending_seek = frame
            return
        self._last_sent = now
        self._pending_seek = None
        self.run_worker(
            events.publish("playback", kind, {"frame": frame, "from": "editor"}), group="playback"
        )

    def _flush_seek(self) -> None:
        frame = self._pending_seek
        if frame is not None:
            self._last_sent = 0.0
            self._tell_page("seek", frame)

    def action_step(self, frames: int) -> None:
        self._stop_playing()
        self.seek(self.playhead + frames)

    def action_step_seconds(self, seconds: int) -> None:
        self.action_step(seconds * nav.frames_per_second(self.project.rate))

    def action_edit_point(self, direction: int) -> None:
        self._stop_playing()
        p = self.project
        step = nav.next_edit_point if direction > 0 else nav.previous_edit_point
        self.seek(step(p, self.playhead))

    def action_go_start(self) -> None:
        self._stop_playing()
        self.seek(0)

    def action_go_end(self) -> None:
        """To the timeline's last frame (``duration - 1``): the frame the page shows there."""
        self._stop_playing()
        self.seek(max(0, self.project.duration - 1))

    def action_goto(self) -> None:
        def done(frame: int | None) -> None:
            if frame is not None:
                self.seek(frame)
                self.timeline.show_playhead()

        from tui.screens import GoToScreen  # loaded when first asked for

        self.push_screen(GoToScreen(self.project.rate, self.playhead), done)

    def action_play_pause(self) -> None:
        if self.speed:
            self._stop_playing()
        else:
            self._start_playing(1)

    def action_shuttle(self, direction: int) -> None:
        if self.speed and (self.speed > 0) == (direction > 0):
            speed = min(4, abs(self.speed) * 2) * direction
        else:
            speed = direction
        self._start_playing(speed)

    def action_stop(self) -> None:
        self._stop_playing()

    def _start_playing(self, speed: int) -> None:
        # The page plays forward at 1x when connected and its frames move the playhead;
        # otherwise (and for 2x, 4x and reverse) the playhead runs from its own clock.
        self.speed = speed
        self._play_origin = (time.monotonic(), self.playhead)
        self._page_driven = False
        self._play_timer.resume()
        if speed == 1:
            self._tell_page("play", self.playhead)
            self._page_playing = True
        elif self._page_playing:
            # From 1x to 2x, 4x or reverse: the page stops playing and follows the seeks
            # (it went on at 1x, and a stop's seek then landed in a playing page).
            self._tell_page("pause", self.playhead)
            self._page_playing = False
        self._show_status()

    def _stop_playing(self) -> None:
        if self.speed:
            was = self.speed
            self.speed = 0
            self._page_driven = False
            self._play_timer.pause()
            if was == 1 or self._page_playing:
                self._tell_page("pause", self.playhead)
                self._page_playing = False
            self._last_sent = 0.0
            self._tell_page("seek", self.playhead)
            self._show_status()

    def _tick(self) -> None:
        if not self.speed or self._page_driven:
            return
        start, frame0 = self._play_origin
        rate = self.project.rate
        frame = frame0 + int((time.monotonic() - start) * rate.num / rate.den * self.speed)
        end = max(0, self.project.duration - 1)  # the last frame
        if (self.speed > 0 and frame >= end) or (self.speed < 0 and frame <= 0):
            frame = min(max(frame, 0), end)
            self._stop_playing()
        self.seek(frame)

    # -- the preview page ------------------------------------------------------------------

    def _page_shown(self, frame: int, hello: bool = False) -> None:
        """The page reported the frame it shows: while playing forward at 1x it drives the
        playhead (frame-exact with what is on screen); otherwise it is only a sign of life. A
        page that has just loaded (``hello``) is sent the playhead, and play if playing."""
        self._page_seen = time.monotonic()
        if hello:
            if frame != self.playhead:
                self._last_sent = 0.0  # not held back by the seek rate limit
                self._tell_page("seek", self.playhead)
            if self.speed:
                self._tell_page("play", self.playhead)
            self._show_status()
            return
        if self.speed == 1:
            self._page_driven = True
            self.seek(frame, tell_page=False)
            if frame >= self.project.duration - 1:
                self._stop_playing()
        else:
            self._show_status()

    def action_preview_url(self) -> None:
        """The page's whole address, which a narrow status line cuts, in a box; also copied to
        the terminal's clipboard (OSC 52, where the terminal allows it)."""
        if self.preview is None:
            self.flash(f"{self.preview_text}: no address to show yet")
            return
        from tui.screens import AddressScreen

        url = self.preview.url
        self.copy_to_clipboard(url)
        self.push_screen(AddressScreen(url, self.preview.port))
