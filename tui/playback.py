"""The editor's playback: the playhead (stepping, edit points, go to), play, shuttle and stop
on the editor's own clock, and the paired preview page, which is told every seek and play
over the event stream (seeks at most 30 a second) and, playing forward at 1x, drives the
playhead with the frames it reports. `Playback` is a plain object the app holds
(``app.playback``); the app's actions call it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tui import navigate as nav

if TYPE_CHECKING:
    from textual.timer import Timer

    from tui.app import ReelcutApp


class Playback:
    """The playhead and playback, and the page's side of them. Not a widget: the app holds one
    (``app.playback``), its keys' actions call it, and it moves the app's playhead."""

    def __init__(self, app: ReelcutApp) -> None:
        self.app = app
        self.speed = 0  # frames of project time per frame of wall time; negative = backwards
        self.origin: tuple[float, int] = (0.0, 0)  # (clock, frame) where playing started
        self.timer: Timer | None = None  # the 30 Hz tick, made when the app is mounted
        self.page_seen = 0.0  # when the page last reported a frame
        self.page_driven = False  # playing, and the page's frames move the playhead
        self.page_playing = False  # the page was told to play (and not yet to pause)
        self.last_sent = -1.0
        self.pending_seek: int | None = None
        self.clock = time.monotonic
        """The clock shuttling runs on (seconds); a test sets a clock it drives itself."""

    # -- the playhead ----------------------------------------------------------------------

    def seek(self, frame: int, *, tell_page: bool = True) -> None:
        frame = max(0, frame)
        if frame != self.app.playhead:
            self.app.playhead = frame  # the timeline and the status line follow (a reactive)
            if tell_page and not self.speed:
                self.tell_page("seek", frame)

    def tell_page(self, kind: str, frame: int) -> None:
        """Send the page a playback command over the event stream (seeks at most 30 a second;
        the last one always goes, a frame's time later)."""
        events = self.app.workspace.events
        if events is None or self.app.preview is None:
            return
        now = time.monotonic()
        if kind == "seek" and now - self.last_sent < 1 / 30:
            if self.pending_seek is None:
                self.app.set_timer(1 / 30, self._flush_seek)
            self.pending_seek = frame
            return
        self.last_sent = now
        self.pending_seek = None
        self.app.run_worker(
            events.publish("playback", kind, {"frame": frame, "from": "editor"}), group="playback"
        )

    def _flush_seek(self) -> None:
        frame = self.pending_seek
        if frame is not None:
            self.last_sent = 0.0
            self.tell_page("seek", frame)

    def step(self, frames: int) -> None:
        self.halt()
        self.seek(self.app.playhead + frames)

    def step_seconds(self, seconds: int) -> None:
        self.step(seconds * nav.frames_per_second(self.app.project.rate))

    def edit_point(self, direction: int) -> None:
        self.halt()
        p = self.app.project
        step = nav.next_edit_point if direction > 0 else nav.previous_edit_point
        self.seek(step(p, self.app.playhead))

    def go_start(self) -> None:
        self.halt()
        self.seek(0)

    def go_end(self) -> None:
        """To the timeline's last frame (``duration - 1``): the frame the page shows there."""
        self.halt()
        self.seek(max(0, self.app.project.duration - 1))

    def goto(self) -> None:
        def done(frame: int | None) -> None:
            if frame is not None:
                self.seek(frame)
                self.app.timeline.show_playhead()

        from tui.screens import GoToScreen  # loaded when first asked for

        self.app.push_screen(GoToScreen(self.app.project.rate, self.app.playhead), done)

    def play_pause(self) -> None:
        if self.speed:
            self.halt()
        else:
            self.start(1)

    def shuttle(self, direction: int) -> None:
        if self.speed and (self.speed > 0) == (direction > 0):
            speed = min(4, abs(self.speed) * 2) * direction
        else:
            speed = direction
        self.start(speed)

    def stop(self) -> None:
        self.halt()

    def start(self, speed: int) -> None:
        # The page plays forward at 1x when connected and its frames move the playhead;
        # otherwise (and for 2x, 4x and reverse) the playhead runs from its own clock.
        self.speed = speed
        self.origin = (self.clock(), self.app.playhead)
        self.page_driven = False
        if self.timer is not None:
            self.timer.resume()
        if speed == 1:
            self.tell_page("play", self.app.playhead)
            self.page_playing = True
        elif self.page_playing:
            # From 1x to 2x, 4x or reverse: the page stops playing and follows the seeks
            # (it went on at 1x, and a stop's seek then landed in a playing page).
            self.tell_page("pause", self.app.playhead)
            self.page_playing = False
        self.app.playing = speed  # the status line shows it

    def halt(self) -> None:
        if self.speed:
            was = self.speed
            self.speed = 0
            self.page_driven = False
            if self.timer is not None:
                self.timer.pause()
            if was == 1 or self.page_playing:
                self.tell_page("pause", self.app.playhead)
                self.page_playing = False
            self.last_sent = 0.0
            self.tell_page("seek", self.app.playhead)
            self.app.playing = 0

    def tick(self) -> None:
        if not self.speed or self.page_driven:
            return
        start, frame0 = self.origin
        rate = self.app.project.rate
        frame = frame0 + int((self.clock() - start) * rate.num / rate.den * self.speed)
        end = max(0, self.app.project.duration - 1)  # the last frame
        if (self.speed > 0 and frame >= end) or (self.speed < 0 and frame <= 0):
            frame = min(max(frame, 0), end)
            self.halt()
        self.seek(frame)

    # -- the preview page ------------------------------------------------------------------

    def page_shown(self, frame: int, hello: bool = False) -> None:
        """The page reported the frame it shows: while playing forward at 1x it drives the
        playhead (frame-exact with what is on screen); otherwise it is only a sign of life. A
        page that has just loaded (``hello``) is sent the playhead, and play if playing."""
        self.page_seen = time.monotonic()
        if hello:
            self.app.editor.cutting.tell_page()  # the source, while the media bin has focus
            if frame != self.app.playhead:
                self.last_sent = 0.0  # not held back by the seek rate limit
                self.tell_page("seek", self.app.playhead)
            if self.speed:
                self.tell_page("play", self.app.playhead)
            return
        if self.speed == 1:
            self.page_driven = True
            self.seek(frame, tell_page=False)
            if frame >= self.app.project.duration - 1:
                self.halt()

    def show_url(self) -> None:
        """The page's whole address, which a narrow status line cuts, in a box; also copied to
        the terminal's clipboard (OSC 52, where the terminal allows it)."""
        if self.app.preview is None:
            self.app.flash(f"{self.app.preview_text}: no address to show yet")
            return
        from tui.screens import AddressScreen

        url = self.app.preview.url
        self.app.copy_to_clipboard(url)
        self.app.push_screen(AddressScreen(url, self.app.preview.port))
