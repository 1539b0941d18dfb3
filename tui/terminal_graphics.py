"""Pictures in the terminal: which way this terminal can show one, and the Kitty graphics
protocol's escape sequences.

**Detection** (`detect`, once, before the editor takes the terminal): ``REELCUT_GRAPHICS``
(``kitty``, ``sixel`` or ``halfblock``) decides when set. Otherwise, outside tmux, three queries
go to the terminal and its answers are read for up to `PROBE_SECONDS`: a Kitty graphics query
(``ESC _Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA ESC \\``, answered ``ESC _Gi=31;OK ESC \\`` by a terminal
that draws images), the cell size in pixels (``ESC [16t``, answered ``ESC [6;H;Wt``; failing
that ``ESC [14t``, the text area, divided by the terminal's size) and primary device attributes
(``ESC [c``), which every terminal answers, last, so its answer ends the wait; a ``4`` among
its parameters means sixel (`tui.sixel`). Kitty wins where a terminal has both. ``TERM`` and
``TERM_PROGRAM`` hints (kitty, WezTerm, Ghostty) count when no answer came. Inside tmux the
outer terminal's answers do not come back, so its name (``#{client_termname}``) and features
(``#{client_termfeatures}``) are the hint, and images need ``allow-passthrough on``: each
graphics command is then wrapped as ``ESC Ptmux; ... ESC \\`` (every ESC inside doubled). tmux
3.4 built with sixel draws sixel itself and says so in its own DA1 answer (``4``), which is
asked inside tmux too: then sixel goes to tmux unwrapped and tmux keeps it on its screen.

**Kitty** (`kitty_transmit`): the picture is sent as a zlib-compressed RGB image with a
*virtual* placement (``U=1``) of ``columns x rows`` cells, quietly (``q=2``: no answer to read
back), in chunks of 4096 base64 characters. What shows it are ordinary text cells: U+10EEEE
with a row and a column diacritic each (`placeholder_row`), in a foreground colour that is the
image's id. Being text, they go through Textual's compositor like any other cell, survive
tmux's redraws, and are cleared by drawing something else; nothing writes at a cursor position
behind the compositor's back. Only the transmission is written beside it, between two of its
frames (`tui.viewer`).
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import select
import shutil
import subprocess
import sys
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Mode = Literal["kitty", "sixel", "halfblock"]

PROBE_SECONDS = 0.4
"""How long `detect` waits for the terminal's answers (one round trip over SSH, usually)."""
KITTY_QUERY = "\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"
DEVICE_ATTRIBUTES = "\x1b[c"
CELL_SIZE_QUERY = "\x1b[16t\x1b[14t"
DEFAULT_CELL = (10, 20)
"""A cell's width and height in pixels when the terminal does not say."""
CHUNK = 4096
"""Base64 characters per graphics command (the protocol's limit)."""

PLACEHOLDER = "\U0010eeee"
# kitty's rowcolumn-diacritics.txt, its first 64: the i-th names row (or column) i.
DIACRITICS = tuple(
    chr(c)
    for c in (
        0x0305, 0x030D, 0x030E, 0x0310, 0x0312, 0x033D, 0x033E, 0x033F,
        0x0346, 0x034A, 0x034B, 0x034C, 0x0350, 0x0351, 0x0352, 0x0357,
        0x035B, 0x0363, 0x0364, 0x0365, 0x0366, 0x0367, 0x0368, 0x0369,
        0x036A, 0x036B, 0x036C, 0x036D, 0x036E, 0x036F, 0x0483, 0x0484,
        0x0485, 0x0486, 0x0487, 0x0592, 0x0593, 0x0594, 0x0595, 0x0597,
        0x0598, 0x0599, 0x059C, 0x059D, 0x059E, 0x059F, 0x05A0, 0x05A1,
        0x05A8, 0x05A9, 0x05AB, 0x05AC, 0x05AF, 0x05C4, 0x0610, 0x0611,
        0x0612, 0x0613, 0x0614, 0x0615, 0x0616, 0x0617, 0x0657, 0x0658,
    )
)  # fmt: skip
MAX_CELLS = len(DIACRITICS)
"""The largest placement, in columns and in rows, the diacritics can address."""

_KITTY_TERMS = ("xterm-kitty", "xterm-ghostty", "wezterm")
_KITTY_PROGRAMS = ("kitty", "wezterm", "ghostty")
_KITTY_OK = re.compile(r"\x1b_Gi=31;OK\x1b\\")
_DA1 = re.compile(r"\x1b\[\?([0-9;]*)c")
_CELL_PIXELS = re.compile(r"\x1b\[6;(\d+);(\d+)t")
_AREA_PIXELS = re.compile(r"\x1b\[4;(\d+);(\d+)t")
_SIXEL_TERMS = ("foot", "foot-extra", "mlterm", "contour", "yaft-256color", "xterm-sixel")


@dataclass(frozen=True)
class Graphics:
    """How pictures are drawn here: ``mode``, whether graphics commands go through tmux's
    passthrough, and why (one line for the status line and the README's troubleshooting)."""

    mode: Mode
    tmux: bool = False
    why: str = ""
    rgb_ids: bool = True
    """Whether a 24-bit colour reaches the terminal as written. tmux without the ``RGB``
    feature for its client turns it into one of 256 colours, so the image id the placeholders'
    colour names is then that palette index (`image_id_colour`)."""
    cell: tuple[int, int] = DEFAULT_CELL
    """A cell's (width, height) in pixels: what a sixel picture is sized by."""
    pane: tuple[int, int] = (0, 0)
    """The (column, row) of tmux's pane in the outer terminal, where sixel goes through the
    passthrough (the outer terminal's cursor is not the pane's)."""


def cell_pixels(answers: str, columns: int = 0, rows: int = 0) -> tuple[int, int]:
    """A cell's (width, height) in pixels from the answers to `CELL_SIZE_QUERY` (the text
    area's answer divided by ``columns`` x ``rows``), else `DEFAULT_CELL`."""
    if m := _CELL_PIXELS.search(answers):
        h, w = int(m.group(1)), int(m.group(2))
        if w > 0 and h > 0:
            return w, h
    if (m := _AREA_PIXELS.search(answers)) and columns > 0 and rows > 0:
        h, w = int(m.group(1)) // rows, int(m.group(2)) // columns
        if w > 0 and h > 0:
            return w, h
    return DEFAULT_CELL


def _says_sixel(answers: str) -> bool:
    da = _DA1.search(answers)
    return bool(da and "4" in da.group(1).split(";"))


def choose(
    env: Mapping[str, str],
    answers: str | None,
    *,
    tmux_passthrough: bool | None = None,
    client_term: str = "",
    client_features: str = "",
    cell: tuple[int, int] = DEFAULT_CELL,
    pane: tuple[int, int] = (0, 0),
) -> Graphics:
    """The way to draw, from the environment and what the terminal answered (None: not
    asked; inside tmux, tmux answers itself). ``tmux_passthrough`` is tmux's
    ``allow-passthrough`` (None outside tmux), ``client_term`` the outer terminal's name tmux
    reports and ``client_features`` its features (``RGB``, ``sixel``...; empty when tmux could
    not say); ``cell`` and ``pane`` are carried into the result."""
    forced = env.get("REELCUT_GRAPHICS", "").strip().lower()
    in_tmux = bool(env.get("TMUX"))
    text = answers or ""
    # tmux that draws sixel itself says 4 in its own DA1 answer: no passthrough then.
    native_sixel = in_tmux and _says_sixel(text)
    if forced == "kitty":
        return Graphics("kitty", in_tmux, "REELCUT_GRAPHICS")
    if forced == "halfblock":
        return Graphics("halfblock", False, "REELCUT_GRAPHICS")
    if forced == "sixel":
        return Graphics(
            "sixel", in_tmux and not native_sixel, "REELCUT_GRAPHICS", cell=cell, pane=pane
        )
    if in_tmux:
        outer = client_term.lower()
        if native_sixel:
            return Graphics("sixel", False, "tmux draws sixel itself", cell=cell, pane=pane)
        kitty = outer in _KITTY_TERMS or bool(env.get("KITTY_WINDOW_ID"))
        sixel = outer in _SIXEL_TERMS or "sixel" in client_features.split(",")
        if not (kitty or sixel):
            return Graphics("halfblock", True, f"tmux in {outer or 'an unknown terminal'}")
        if not tmux_passthrough:
            return Graphics(
                "halfblock", True, "tmux: allow-passthrough is off (set -g allow-passthrough on)"
            )
        if not kitty:
            return Graphics(
                "sixel", True, f"sixel through tmux ({outer or 'sixel'})", cell=cell, pane=pane
            )
        rgb = not client_features or "RGB" in client_features.split(",")
        return Graphics("kitty", True, f"kitty graphics through tmux ({outer or 'kitty'})", rgb)
    if _KITTY_OK.search(text):
        return Graphics("kitty", False, "the terminal answered the kitty graphics query")
    hinted = env.get("TERM", "") in _KITTY_TERMS or any(
        p in env.get("TERM_PROGRAM", "").lower() for p in _KITTY_PROGRAMS
    )
    if hinted and answers is None:
        return Graphics("kitty", False, "TERM/TERM_PROGRAM names a kitty-graphics terminal")
    if _says_sixel(text):
        return Graphics(
            "sixel", False, "the terminal answered DA1 with sixel (4)", cell=cell, pane=pane
        )
    return Graphics("halfblock", False, "no graphics protocol answered")


def detect() -> Graphics:
    """`choose` for this process's terminal (asks it, outside tmux, when it is a terminal)."""
    env = os.environ
    terminal = sys.stdin.isatty() and sys.stdout.isatty()
    forced = env.get("REELCUT_GRAPHICS", "").strip().lower()
    if not terminal or forced in ("kitty", "halfblock"):
        return choose(env, None)
    size = shutil.get_terminal_size()
    if env.get("TMUX"):
        client_term = _tmux("display", "-p", "#{client_termname}")
        client_features = _tmux("display", "-p", "#{client_termfeatures}")
        # tmux answers DA1 itself (4: it draws sixel), asked only where sixel could show:
        # an answer later than `PROBE_SECONDS` would reach the editor as keys.
        maybe_sixel = forced == "sixel" or client_term.lower() in _SIXEL_TERMS
        maybe_sixel = maybe_sixel or "sixel" in client_features.split(",")
        answers = _probe(DEVICE_ATTRIBUTES) if maybe_sixel else None
        cell = _ints(_tmux("display", "-p", "#{client_cell_width} #{client_cell_height}"))
        pane = _ints(_tmux("display", "-p", "#{pane_left} #{pane_top}"))
        return choose(
            env,
            answers,
            tmux_passthrough=_tmux("show", "-gv", "allow-passthrough") in ("on", "all"),
            client_term=client_term,
            client_features=client_features,
            cell=cell if cell and min(cell) > 0 else DEFAULT_CELL,
            pane=pane or (0, 0),
        )
    answers = _probe(("" if forced else KITTY_QUERY) + CELL_SIZE_QUERY + DEVICE_ATTRIBUTES)
    cell = cell_pixels(answers or "", size.columns, size.lines)
    return choose(env, answers, cell=cell)


def _ints(text: str) -> tuple[int, int] | None:
    parts = text.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1])
    return None


def _tmux(*args: str) -> str:
    program = shutil.which("tmux")
    if program is None:
        return ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run([program, *args], capture_output=True, text=True, timeout=2)
        return out.stdout.strip()
    return ""


def _probe(queries: str) -> str | None:
    """The terminal's answers to ``queries``, which end with DA1 (None when it could not be
    asked)."""
    import termios
    import tty

    fd = sys.stdin.fileno()
    try:
        saved = termios.tcgetattr(fd)
    except termios.error:
        return None
    got = b""
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        os.write(sys.stdout.fileno(), queries.encode())
        deadline = time.monotonic() + PROBE_SECONDS
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                break
            got += os.read(fd, 4096)
            if _DA1.search(got.decode("latin-1")):
                break
    except OSError:
        return None
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    return got.decode("latin-1")


# -- the kitty graphics protocol ------------------------------------------------------------


def kitty_transmit(
    image_id: int, width: int, height: int, rgb: bytes, columns: int, rows: int, *, tmux: bool
) -> str:
    """The commands that replace image ``image_id`` with ``rgb`` (``width`` x ``height``) and
    give it a virtual placement of ``columns`` x ``rows`` cells."""
    data = base64.standard_b64encode(zlib.compress(rgb, 6)).decode("ascii")
    head = f"a=T,U=1,q=2,f=24,o=z,i={image_id},s={width},v={height},c={columns},r={rows}"
    parts = []
    for at in range(0, max(1, len(data)), CHUNK):
        more = 1 if at + CHUNK < len(data) else 0
        keys = f"{head},m={more}" if at == 0 else f"m={more}"
        parts.append(wrap_for_tmux(f"\x1b_G{keys};{data[at : at + CHUNK]}\x1b\\", tmux))
    return "".join(parts)


def kitty_delete(image_id: int, *, tmux: bool) -> str:
    """The command that deletes image ``image_id`` and its placements."""
    return wrap_for_tmux(f"\x1b_Ga=d,d=I,i={image_id},q=2\x1b\\", tmux)


def wrap_for_tmux(command: str, tmux: bool) -> str:
    """``command`` through tmux's passthrough when ``tmux`` (every ESC inside doubled)."""
    if not tmux:
        return command
    return "\x1bPtmux;" + command.replace("\x1b", "\x1b\x1b") + "\x1b\\"


def placeholder_row(row: int, columns: int) -> str:
    """Row ``row`` of a placement ``columns`` wide, as placeholder cells."""
    r = DIACRITICS[row]
    return "".join(PLACEHOLDER + r + DIACRITICS[c] for c in range(columns))


def image_id_colour(truecolor: bool) -> tuple[int, tuple[int, int, int]]:
    """The image id and the foreground colour that names it. In 24-bit colour the id is the
    colour's value; in 256 colours it is the palette index the colour becomes, so one of the
    6x6x6 cube's own colours is used (index 67: (95, 135, 175))."""
    rgb = (95, 135, 175)
    return ((rgb[0] << 16) | (rgb[1] << 8) | rgb[2]) if truecolor else 67, rgb
