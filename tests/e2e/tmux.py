"""A tiny driver for real tmux: start a command in a detached pane, type keys, read the screen."""

from __future__ import annotations

import os
import secrets
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

GOOD_OPTIONS = {"escape-time": "10", "extended-keys": "on", "allow-passthrough": "on"}
"""What the README's "Over SSH" part recommends (`tui.tmux_settings` flags anything else)."""


class Tmux:
    """One tmux server (own socket) with one session running ``command``."""

    def __init__(
        self,
        command: list[str],
        *,
        width: int = 160,
        height: int = 48,
        options: dict[str, str] | None = None,
    ) -> None:
        """``options``: tmux options set before the command starts (default `GOOD_OPTIONS`,
        the settings the README recommends; ``{}`` leaves tmux's own defaults)."""
        self.socket = f"reelcut-test-{secrets.token_hex(4)}"
        # tmux's own record of a dead pane's exit status is not reliable (seen empty after a
        # clean exit), so a shell runs the command and writes its status to a file.
        fd, status_path = tempfile.mkstemp(prefix="reelcut-tmux-", suffix=".status")
        os.close(fd)
        self.status_file = Path(status_path)
        self.status_file.unlink()
        # The command waits for "$0.go": the pane gets its final size first (with no client
        # attached, tmux 3.3 starts the window at 80x24, and a resize that lands while the
        # program starts up can be missed).
        script = (
            # COLUMNS/LINES leak in from a parent (pytest sets them for its own output) and
            # Textual would take them over the pane's real size.
            "unset COLUMNS LINES; "
            'while [ ! -e "$0.go" ]; do sleep 0.02; done; rm -f "$0.go"; '
            '"$@"; echo $? > "$0.tmp" && mv "$0.tmp" "$0"'
        )
        self._tmux(
            "new-session",
            "-d",
            "-s",
            "main",
            "-x",
            str(width),
            "-y",
            str(height),
            "sh",
            "-c",
            script,
            str(self.status_file),
            *command,
        )
        for name, value in (GOOD_OPTIONS if options is None else options).items():
            self._tmux("set-option", "-g" if name == "allow-passthrough" else "-s", name, value)
        # keep the pane after the command exits so its exit status can be read
        self._tmux("set-option", "-t", "main", "remain-on-exit", "on")
        # With no client attached some tmux versions shrink the window to 80x24; pin the size.
        self._tmux("set-option", "-t", "main", "window-size", "manual")
        self._tmux("resize-window", "-t", "main", "-x", str(width), "-y", str(height))
        Path(f"{status_path}.go").touch()

    def _tmux(self, *args: str) -> str:
        res = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        if res.returncode != 0:
            raise RuntimeError(f"tmux {args[0]} failed: {res.stderr.strip()}")
        return res.stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "main")

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "main", *keys)

    def pane(self, field: str) -> str:
        return self._tmux("display-message", "-p", "-t", "main", f"#{{{field}}}").strip()

    def wait_for(self, predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
        """Poll ``predicate`` until it holds; fail naming ``what`` and showing the screen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; screen:\n{self.screen()}")

    def wait_text(self, text: str, timeout: float = 20.0) -> None:
        self.wait_for(lambda: text in self.screen(), repr(text), timeout)

    def command_pid(self) -> int:
        """The pid of the command itself (the pane runs it under a small shell)."""
        shell = self.pane("pane_pid")
        found: list[int] = []
        self.wait_for(lambda: bool(found.extend(_children(shell)) or found), "the command to start")
        return found[0]

    def wait_exit(self, timeout: float = 20.0) -> int:
        """The command's exit status (128 + N after a death by signal N)."""
        self.wait_for(self.status_file.exists, "the command to exit", timeout)
        return int(self.status_file.read_text().strip())

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
        self.status_file.unlink(missing_ok=True)


def _children(pid: str) -> list[int]:
    res = subprocess.run(["pgrep", "-P", pid], capture_output=True, text=True)
    return [int(p) for p in res.stdout.split()]
