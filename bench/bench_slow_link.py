"""Key to screen over a slow link: the real editor behind a bandwidth- and latency-limited
relay, and how long a key takes to show, idle and while playing.

The editor runs in a pty (`pty_editor.EditorPty`, the demo at 200x50, 256 colours); the relay
(`Relay`, built here) stands between the pty and the screen the benchmark reads: bytes leave at
``--kbit`` kbit/s (a token bucket: one wire, each byte after the last) and arrive ``--delay``
ms later; the relay takes bytes from the pty only while its send buffer (``--sndbuf``, what a
TCP socket would hold) has room, so a slow reader backs the editor's output up into the pty, as
sshd on a full socket does. Keys take ``--delay`` ms the other way.

Measured, for each of a frame step (Right: the status line's timecode one frame on), a blade
(Ctrl+B after a step: "cut" with the new timecode on the status line) and a zoom (= and -
alternately: the status line's f/col), idle and while playing (Space; a step or a blade stops
or cuts, then Space plays again): the time from the key leaving the reader to the change on
the reader's screen, p50 and p95 over ``--trials`` keys. While playing, the output queued
between the editor and the wire (the pty's unread bytes, FIONREAD, plus the relay's send
buffer) is sampled every 10 ms: its maximum, in bytes and in frames (one frame = the bytes per
second played divided by 30).

Targets (exit 1 when missed): p95 <= 2 RTT + 50 ms for every key and condition; the playing
queue never over one frame of output beyond the send buffer's own (frames dropped, not
buffered: the pty's unread bytes at most one frame).

    .venv/bin/python bench/bench_slow_link.py [--kbit 1000] [--delay 50] [--trials 10]
"""

from __future__ import annotations

import argparse
import fcntl
import re
import struct
import sys
import tempfile
import termios
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pty_editor import KEYS, EditorPty, fresh_copy, make_demo
from vt_screen import Screen

TIMECODE = re.compile(r"\d\d:\d\d:\d\d:\d\d")
PIECE = 1024  # bytes sent on the wire as one unit
SETTINGS = {"settle": 1.0}  # seconds of playback before a key (``--settle``)


class Relay:
    """One direction of a slow link: a send buffer, a wire of ``rate`` bytes/s and a delay."""

    def __init__(self, rate: float, delay: float, sndbuf: int) -> None:
        self.rate = rate
        self.delay = delay
        self.sndbuf = sndbuf
        self.lock = threading.Lock()
        self._wire_free = 0.0  # when the wire has sent everything given so far
        self._flight: deque[tuple[float, float, bytes]] = deque()  # (sent by, arrives, data)

    def queued(self, now: float) -> int:
        """Bytes in the send buffer (not yet on the wire) at ``now``."""
        with self.lock:
            total = 0
            for sent_by, _arrives, data in self._flight:
                if sent_by > now:
                    # partly sent: the share still to go
                    total += min(len(data), int((sent_by - now) * self.rate) + 1)
            return total

    def wants(self) -> int:
        return max(0, self.sndbuf - self.queued(time.monotonic()))

    def put(self, data: bytes, now: float) -> None:
        with self.lock:
            for at in range(0, len(data), PIECE):
                piece = data[at : at + PIECE]
                start = max(now, self._wire_free)
                self._wire_free = start + len(piece) / self.rate
                self._flight.append((self._wire_free, self._wire_free + self.delay, piece))

    def due(self, now: float) -> list[bytes]:
        out: list[bytes] = []
        with self.lock:
            while self._flight and self._flight[0][1] <= now:
                out.append(self._flight.popleft()[2])
        return out

    def next_due(self) -> float | None:
        with self.lock:
            return self._flight[0][1] if self._flight else None


def pty_unread(ed: EditorPty) -> int:
    """Bytes the editor wrote that the relay has not read yet (the pty's queue)."""
    buf = fcntl.ioctl(ed.master, termios.FIONREAD, struct.pack("i", 0))
    return int(struct.unpack("i", buf)[0])


class Link:
    """The editor behind the relay: keys go in ``delay`` later; the screen is the far end's."""

    def __init__(self, ed: EditorPty, relay: Relay) -> None:
        self.ed = ed
        self.relay = relay

    def press(self, key: str) -> float:
        sent = time.monotonic()
        data = KEYS.get(key, key.encode())
        threading.Timer(self.relay.delay, self.ed.write, args=(data,)).start()
        return sent

    def status(self, screen: Screen) -> str:
        return screen.text(self.ed.status_row())

    def timecode(self) -> str:
        with self.ed.lock:
            m = TIMECODE.search(self.status(self.ed.screen))
        return m.group(0) if m else ""

    def time_until(self, key: str, seen: Callable[[str], bool], what: str) -> float:
        """Press ``key``; seconds until the far end's status line satisfies ``seen``."""
        sent = self.press(key)
        shown = self.ed.wait_for(lambda s: seen(self.status(s)), what, timeout=20)
        return shown - sent


def next_tc(tc: str, frames: int = 1, fps: int = 30) -> str:
    h, m, s, f = (int(p) for p in tc.split(":"))
    total = ((h * 60 + m) * 60 + s) * fps + f + frames
    f = total % fps
    s = total // fps
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}:{f:02d}"


def message(status: str) -> str:
    """The flash part of a status line ("" when none)."""
    return status.split("  |  ", 1)[0] if "  |  " in status else ""


def trial(link: Link, kind: str, playing: bool, zoom_in: bool) -> float:
    """One key of ``kind``: the seconds from sending it to seeing its effect."""
    if kind == "step" and playing:
        return link.time_until("right", lambda t: "▶" not in t, "the step to stop playback")
    if kind == "step":
        want = next_tc(link.timecode())
        return link.time_until("right", lambda t: want in t, f"the step to {want}")
    if kind == "blade":
        with link.ed.lock:
            before = message(link.status(link.ed.screen))
        return link.time_until(
            "ctrl+b", lambda t: message(t) not in ("", before), "the blade's message"
        )
    want = "1f/col" if zoom_in else "2f/col"
    return link.time_until("=" if zoom_in else "-", lambda t: want in t, want)


def trials(link: Link, kind: str, n: int, playing: bool) -> list[float]:
    out: list[float] = []
    for i in range(n):
        if playing:
            # K then L: stopped, then playing at 1x (Space toggles, and a toggle sent while
            # the far end still shows an older state can stop instead of start)
            link.press("k")
            time.sleep(0.1)
            link.press("l")
            link.ed.wait_for(lambda s: "▶ 1x" in link.status(s), "playback", 20)
            time.sleep(SETTINGS["settle"])  # steady playback before the key
        else:
            if kind == "blade":
                link.press("right")  # a new frame to cut at
            link.ed.wait_quiet(0.3)
        out.append(trial(link, kind, playing, zoom_in=i % 2 == 0))
        if playing:
            link.press("k")
            link.ed.wait_for(lambda s: "▶" not in link.status(s), "the stop", 20)
            link.ed.wait_quiet(0.3)
            # Back to the start, so playback never runs into the timeline's end (the demo is
            # 11 s); a blade while playing cuts wherever the playhead has got to.
            link.press("home")
    return out


def sample_queue(link: Link, stop: threading.Event, out: list[tuple[int, int]]) -> None:
    """(pty unread, relay send buffer) every 10 ms until ``stop``."""
    while not stop.is_set():
        try:
            out.append((pty_unread(link.ed), link.relay.queued(time.monotonic())))
        except OSError:  # the editor has gone (a failed run)
            return
        time.sleep(0.01)


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--kbit", type=float, default=1000.0, help="link rate, kbit/s")
    parser.add_argument("--delay", type=float, default=50.0, help="one-way delay, ms")
    parser.add_argument("--sndbuf", type=int, default=16384, help="relay send buffer, bytes")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--size", default="200x50")
    parser.add_argument("--truecolor", action="store_true")
    parser.add_argument(
        "--settle", type=float, default=SETTINGS["settle"], help="s of playback per key"
    )
    parser.add_argument(
        "--no-pacing", action="store_true", help="the anchor: the editor without output pacing"
    )
    args = parser.parse_args()
    SETTINGS["settle"] = args.settle
    width, height = (int(n) for n in args.size.split("x"))
    rate = args.kbit * 1000 / 8
    delay = args.delay / 1000
    rtt = 2 * delay
    target = 2 * rtt + 0.050
    missed: list[str] = []
    stop = threading.Event()
    with tempfile.TemporaryDirectory(prefix="reelcut-bench-link-") as tmp:
        folder = Path(tmp)
        project = fresh_copy(make_demo(folder), folder, "run")
        relay = Relay(rate, delay, args.sndbuf)
        env = {"REELCUT_BENCH_NO_PACING": "1"} if args.no_pacing else {}
        ed = EditorPty(project, width, height, args.truecolor, link=relay, env=env)
        link = Link(ed, relay)
        try:
            ed.wait_text("Test pattern", timeout=120)
            ed.wait_regions()
            # The derivative jobs of a fresh demo finish first (their progress is not the
            # subject here).
            time.sleep(1.0)
            ed.wait_for(lambda s: "jobs:" not in link.status(s), "the jobs to finish", 180)
            ed.wait_quiet(1.0)
            print(
                f"link {args.kbit:g} kbit/s, {args.delay:g} ms each way (RTT {rtt * 1000:.0f} ms), "
                f"send buffer {args.sndbuf:,} B; editor {args.size}"
                f"{' WITHOUT output pacing' if args.no_pacing else ''}"
                f"{' truecolor' if args.truecolor else ' 256 colours'}; target p95 <= "
                f"{target * 1000:.0f} ms"
            )
            for playing in (False, True):
                samples: list[tuple[int, int]] = []
                stop = threading.Event()
                sampler = threading.Thread(target=sample_queue, args=(link, stop, samples))
                if playing:
                    sampler.start()
                for kind in ("step", "blade", "zoom"):
                    got = trials(link, kind, args.trials, playing)
                    where = "playing" if playing else "idle"
                    p50, p95 = p(got, 0.5) * 1000, p(got, 0.95) * 1000
                    print(
                        f"  {kind:6} {where:8} p50 {p50:6.0f} ms  p95 {p95:6.0f} ms  "
                        f"max {max(got) * 1000:6.0f} ms  (n={len(got)})"
                    )
                    if p95 > target * 1000:
                        missed.append(f"{kind} {where} p95 {p95:.0f} ms")
                if playing:
                    stop.set()
                    sampler.join()
                    link.press("k")
                    link.press("home")
                    link.ed.wait_quiet(0.3)
                    link.press("l")
                    time.sleep(0.5)
                    t0 = time.monotonic()
                    with ed.lock:
                        b0 = sum(c.size for c in ed.chunks)
                    time.sleep(3.0)
                    with ed.lock:
                        b1 = sum(c.size for c in ed.chunks)
                    per_second = (b1 - b0) / (time.monotonic() - t0)
                    link.press("k")
                    frame = max(1.0, per_second / 30)
                    pty_max = max((u for u, _q in samples), default=0)
                    both_max = max((u + q for u, q in samples), default=0)
                    print(
                        f"  playing: {per_second / 1024:.1f} KiB/s reach the far end; "
                        f"queued before the wire at most {both_max:,} B (pty {pty_max:,} B = "
                        f"{pty_max / frame:.1f} frames of {frame:,.0f} B)"
                    )
                    if pty_max > frame:
                        missed.append(f"pty queue {pty_max / frame:.1f} frames")
        finally:
            stop.set()
            ed.close()
    print()
    if missed:
        print("targets missed: " + "; ".join(missed))
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
