"""The tmux settings that break the editor's keys or pictures, found once at start.

Inside tmux (``$TMUX`` set) three options matter, read with ``tmux show -gv NAME``:

- ``escape-time`` (default 500 ms): tmux waits that long after Esc for more bytes, and Esc
  then g typed within it reaches the editor as Alt+G (Esc clears the selection here, and a
  quick key after it did something else). 10 ms or less is safe: ``set -sg escape-time 10``.
- ``extended-keys`` (default off): tmux does not pass keys with modifiers it has no legacy
  code for, so Ctrl+Shift+Z (redo's second key) never arrives; Ctrl+Y always does.
  ``set -s extended-keys on``.
- ``allow-passthrough`` (default off): the picture viewer's graphics commands (Kitty graphics,
  sixel to an outer terminal) are dropped by tmux, so it draws half blocks.
  ``set -g allow-passthrough on``.

`problems` is pure (it takes what ``tmux show`` printed, through a seam); `check` asks the
real tmux, off the event loop; the editor says the result once on its status line
(`ReelcutApp.flash`), and the README's "Over SSH" part says the same with the fixes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping

ESCAPE_TIME_OK_MS = 50
"""An escape-time above this turns a quick Esc then key into Alt+key (a person types the
next key within ~50-100 ms after Esc)."""

OPTIONS = ("escape-time", "extended-keys", "allow-passthrough")

Show = Callable[[str], "str | None"]
"""``tmux show -gv NAME``'s output for an option name (None: tmux could not say)."""


def problems(show: Show) -> list[str]:
    """What breaks in this tmux, one short phrase each (empty: nothing); the fixes are in the
    README ("Over SSH") and this module's docstring."""
    found: list[str] = []
    escape = (show("escape-time") or "").strip()
    if escape.isdigit() and int(escape) > ESCAPE_TIME_OK_MS:
        found.append(f"escape-time {escape}ms: Esc+key = Alt+key")
    if (show("extended-keys") or "").strip() == "off":
        found.append("extended-keys off: no Ctrl+Shift+Z")
    if (show("allow-passthrough") or "").strip() == "off":
        found.append("allow-passthrough off: no pictures")
    return found


def message(found: list[str]) -> str:
    """The status line's one line for ``found`` ("" when nothing is wrong)."""
    if not found:
        return ""
    return "tmux: " + ", ".join(found) + " (README: Over SSH)"


def tmux_show(name: str) -> str | None:
    """The real ``tmux show -gv NAME`` of the tmux this process runs in."""
    program = shutil.which("tmux")
    if program is None:
        return None
    try:
        res = subprocess.run(
            [program, "show", "-gv", name], capture_output=True, text=True, timeout=2
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return res.stdout if res.returncode == 0 else None


def check(env: Mapping[str, str] | None = None, show: Show = tmux_show) -> str:
    """The status line's warning for this process's terminal: "" outside tmux or when its
    settings are fine. Blocking (a few ``tmux show`` calls): run it in a thread."""
    env = os.environ if env is None else env
    if not env.get("TMUX"):
        return ""
    return message(problems(show))
