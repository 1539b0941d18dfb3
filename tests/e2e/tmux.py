"""A tiny driver for real tmux: start a command in a detached pane, type keys, read the screen."""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Callable


class Tmux:
    """One tmux server (own socket) with one session running ``command``."""

    def __init__(self, command: list[str], *, width: int = 160, height: int = 48) -> None:
        self.socket = f"reelcut-test-{secrets.token_hex(4)}"
        self._tmux(
            # argv goes straight to tmux (no `sh -c`), so the pane's pid is the command itself
            "new-session",
            "-d",
            "-s",
            "main",
            "-x",
            str(width),
            "-y",
            str(height),
            *command,
        )
        # keep the pane after the command exits so its exit status can be read
        self._tmux("set-option", "-t", "main", "remain-on-exit", "on")

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

    def wait_exit(self, timeout: float = 20.0) -> int:
        self.wait_for(lambda: self.pane("pane_dead") == "1", "the command to exit", timeout)
        return int(self.pane("pane_dead_status"))

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
