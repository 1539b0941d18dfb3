"""The real editor under a pseudo-terminal, for the terminal benchmarks: the demo project,
the editor started in a pty of a given size and colour mode, keys in, the output recorded
with a timestamp per chunk and followed on a `vt_screen.Screen`.

The editor runs as ``reelcut open`` does (`tui.app.run_editor` on a `Session`), through a
small launcher that also writes where each region of the screen is once the editor is ready
(the screen's children and the regions inside ``#top``), so the bytes can be broken down by
region without a layout hard-coded here. An optional ``link`` stands between the pty and the
reader (`bench_slow_link.py`): it decides when the bytes read reach the screen.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from vt_screen import Screen

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
REELCUT = ROOT / ".venv" / "bin" / "reelcut"

LAUNCHER = """
import json, os, sys
from pathlib import Path
from engine.session import Session
from tui.app import ReelcutApp, run_editor

root, regions_file = Path(sys.argv[1]), Path(sys.argv[2])
if os.environ.get("REELCUT_BENCH_NO_PACING"):  # the anchor: repaints queue as Textual's do
    import tui.app
    tui.app.install_output_pacing = lambda: False

class Editor(ReelcutApp):
    def on_ready(self):  # dispatched besides ReelcutApp.on_ready (Textual walks the MRO)
        self.set_timer(1.0, self._write_regions)

    def _write_regions(self):
        out = {}
        screen = self.editor
        for child in screen.children:
            out[child.id or type(child).__name__] = tuple(child.region)
        for child in screen.query_one("#top").children:
            if child.display and child.region:
                out[child.id or type(child).__name__] = tuple(child.region)
        tmp = regions_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(out))
        tmp.replace(regions_file)

with Session(root, purpose="reelcut open") as session:
    sys.exit(run_editor(Editor(session)))
"""

KEYS = {
    "space": b" ",
    "right": b"\x1b[C",
    "left": b"\x1b[D",
    "home": b"\x1b[H",
    "ctrl+b": b"\x02",
    "ctrl+q": b"\x11",
    "ctrl+z": b"\x1a",
}


def make_demo(folder: Path) -> Path:
    """The demo project (real generated media) in ``folder``/demo, made once."""
    demo = folder / "demo"
    if not (demo / "project.json").exists():
        subprocess.run([str(REELCUT), "new", str(demo), "--demo"], check=True, capture_output=True)
    return demo


def fresh_copy(template: Path, folder: Path, name: str) -> Path:
    """A copy of ``template`` (derivatives not built yet, the lock and state not carried)."""
    dest = folder / name
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(template, dest, ignore=shutil.ignore_patterns("lock", "control.sock"))
    return dest


class Link(Protocol):
    """What stands between the pty and the screen (`bench_slow_link.Relay`)."""

    def wants(self) -> int:
        """How many bytes the link would take from the pty now (0: do not read)."""

    def put(self, data: bytes, now: float) -> None:
        """Bytes read from the pty at ``now``."""

    def due(self, now: float) -> list[bytes]:
        """Bytes that reach the far end by ``now``."""

    def next_due(self) -> float | None:
        """When the next bytes reach the far end (None: nothing in flight)."""


@dataclass
class Chunk:
    at: float
    size: int


@dataclass
class EditorPty:
    """One editor process in a pty of ``width`` x ``height``."""

    project: Path
    width: int
    height: int
    truecolor: bool
    link: Link | None = None
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment for the editor (``REELCUT_BENCH_NO_PACING=1``: no output pacing)."""
    screen: Screen = field(init=False)
    chunks: list[Chunk] = field(default_factory=list)
    regions: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.screen = Screen(self.width, self.height)
        self.lock = threading.Condition()
        self._regions_file = self.project.parent / f"{self.project.name}.regions.json"
        self._regions_file.unlink(missing_ok=True)
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.height, self.width, 0, 0))
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TMUX")}
        env["TERM"] = "xterm-256color"
        env.pop("COLORTERM", None)
        env.pop("NO_COLOR", None)
        if self.truecolor:
            env["COLORTERM"] = "truecolor"
        env["PYTHONPATH"] = str(ROOT)
        env.update(self.env)
        self.proc = subprocess.Popen(
            [str(PYTHON), "-c", LAUNCHER, str(self.project), str(self._regions_file)],
            stdin=slave,
            stdout=slave,
            stderr=slave,  # Textual writes the screen to stderr
            cwd=ROOT,
            env=env,
            start_new_session=True,
            pass_fds=(),
        )
        os.close(slave)
        self.master = master
        self.started = time.monotonic()
        self._stop = False
        self._reader = threading.Thread(target=self._read, daemon=True, name="pty-reader")
        self._reader.start()

    # -- the output ------------------------------------------------------------------------

    def _read(self) -> None:
        link = self.link
        while not self._stop:
            now = time.monotonic()
            timeout = 0.05
            if link is not None:
                due = link.next_due()
                if due is not None:
                    timeout = max(0.0, min(timeout, due - now))
            want = link.wants() if link is not None else 65536
            readable = [self.master] if want > 0 else []
            try:
                ready, _, _ = select.select(readable, [], [], timeout)
            except (OSError, ValueError):
                return
            now = time.monotonic()
            if ready:
                try:
                    data = os.read(self.master, min(want, 65536))
                except OSError:
                    data = b""
                if not data:
                    self._deliver(link.due(float("inf")) if link is not None else [], now)
                    return
                if link is None:
                    self._deliver([data], now)
                else:
                    link.put(data, now)
            if link is not None:
                self._deliver(link.due(time.monotonic()), time.monotonic())

    def _deliver(self, parts: list[bytes], now: float) -> None:
        if not parts:
            return
        with self.lock:
            for data in parts:
                self.chunks.append(Chunk(now, len(data)))
                self.screen.feed(data)
            self.lock.notify_all()

    def bytes_since(self, t0: float, t1: float | None = None) -> int:
        with self.lock:
            return sum(c.size for c in self.chunks if c.at >= t0 and (t1 is None or c.at < t1))

    def last_output(self) -> float:
        with self.lock:
            return self.chunks[-1].at if self.chunks else self.started

    # -- waiting ----------------------------------------------------------------------------

    def wait_for(self, predicate: Callable[[Screen], bool], what: str, timeout: float) -> float:
        """Wait until ``predicate(screen)`` holds; the time it first held."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while not predicate(self.screen):
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise TimeoutError(
                        f"timed out waiting for {what}; screen:\n{self.screen.dump()}"
                    )
                self.lock.wait(min(left, 0.05))
            return time.monotonic()

    def wait_text(self, text: str, timeout: float = 60.0) -> float:
        return self.wait_for(lambda s: text in s.dump(), repr(text), timeout)

    def wait_quiet(self, quiet: float, timeout: float = 30.0) -> float:
        """Wait until nothing was written for ``quiet`` seconds (counted from now at the
        earliest); when the last write was."""
        start = time.monotonic()
        deadline = start + timeout
        while time.monotonic() < deadline:
            last = self.last_output()
            if time.monotonic() - max(last, start) >= quiet:
                return last
            time.sleep(0.02)
        raise TimeoutError(f"the editor kept writing for {timeout} s")

    def wait_regions(self, timeout: float = 30.0) -> dict[str, tuple[int, int, int, int]]:
        deadline = time.monotonic() + timeout
        while not self._regions_file.exists():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise TimeoutError("the editor did not report its regions")
            time.sleep(0.05)
        self.regions = {k: tuple(v) for k, v in json.loads(self._regions_file.read_text()).items()}
        return self.regions

    def status_row(self) -> int:
        """The status line's row (from the regions)."""
        return self.regions["status"][1]

    # -- keys and the end -------------------------------------------------------------------

    def press(self, *keys: str) -> float:
        """Type ``keys`` (names in ``KEYS`` or literal characters); when they were sent."""
        data = b"".join(KEYS.get(k, k.encode()) for k in keys)
        os.write(self.master, data)
        return time.monotonic()

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> int | None:
        """Ctrl+Q, then a kill if it does not go; the exit status."""
        if self.proc.poll() is None:
            try:
                self.press("ctrl+q")
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._stop = True
        self._reader.join(timeout=5)
        os.close(self.master)
        self._regions_file.unlink(missing_ok=True)
        return self.proc.returncode


def region_of(regions: dict[str, tuple[int, int, int, int]]) -> Callable[[int, int], str]:
    """A function from (row, column) to the name of the smallest region holding it."""
    ordered = sorted(regions.items(), key=lambda kv: kv[1][2] * kv[1][3])

    def find(y: int, x: int) -> str:
        for name, (rx, ry, rw, rh) in ordered:
            if rx <= x < rx + rw and ry <= y < ry + rh:
                return name
        return "other"

    return find
