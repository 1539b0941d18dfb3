"""Which way a terminal shows pictures (`tui.terminal_graphics.choose`, and `detect` asking a
pty this test answers), and the kitty commands read back: chunks joined, tmux's passthrough
unwrapped, pixels decompressed."""

from __future__ import annotations

import base64
import os
import pty
import random
import re
import select
import subprocess
import sys
import zlib

import pytest

from tui.terminal_graphics import (
    CELL_SIZE_QUERY,
    CHUNK,
    DEFAULT_CELL,
    DIACRITICS,
    KITTY_QUERY,
    PLACEHOLDER,
    cell_pixels,
    choose,
    image_id_colour,
    kitty_delete,
    kitty_transmit,
    placeholder_row,
)

KITTY_OK = "\x1b_Gi=31;OK\x1b\\"
DA1_SIXEL = "\x1b[?62;4;22c"
DA1_PLAIN = "\x1b[?1;2c"


@pytest.mark.parametrize(
    ("env", "answers", "passthrough", "client", "mode", "tmux", "why"),
    [
        ({}, KITTY_OK + DA1_PLAIN, None, "", "kitty", False, "answered"),
        ({}, DA1_PLAIN, None, "", "halfblock", False, "no graphics"),
        ({}, DA1_SIXEL, None, "", "sixel", False, "sixel"),
        ({}, KITTY_OK + DA1_SIXEL, None, "", "kitty", False, "answered"),  # kitty wins
        ({}, "", None, "", "halfblock", False, "no graphics"),
        # a hint counts only when the terminal could not be asked
        ({"TERM": "xterm-kitty"}, None, None, "", "kitty", False, "TERM"),
        ({"TERM_PROGRAM": "WezTerm"}, None, None, "", "kitty", False, "TERM"),
        ({"TERM": "xterm-kitty"}, DA1_PLAIN, None, "", "halfblock", False, "no graphics"),
        ({"TMUX": "/tmp/t,1,0"}, None, True, "xterm-kitty", "kitty", True, "through tmux"),
        ({"TMUX": "/tmp/t,1,0"}, None, False, "xterm-kitty", "halfblock", True, "passthrough"),
        ({"TMUX": "/tmp/t,1,0"}, None, True, "xterm-256color", "halfblock", True, "tmux in"),
        ({"TMUX": "x", "KITTY_WINDOW_ID": "3"}, None, True, "", "kitty", True, "tmux"),
        # sixel in tmux: tmux's own DA1 saying 4 means it draws sixel (no passthrough) ...
        ({"TMUX": "x"}, DA1_SIXEL, False, "xterm-256color", "sixel", False, "tmux draws"),
        # ... else an outer sixel terminal through the passthrough, when it is allowed
        ({"TMUX": "x"}, DA1_PLAIN, True, "foot", "sixel", True, "sixel through tmux"),
        ({"TMUX": "x"}, DA1_PLAIN, False, "foot", "halfblock", True, "passthrough"),
        ({"REELCUT_GRAPHICS": "sixel"}, None, None, "", "sixel", False, "REELCUT_GRAPHICS"),
        ({"REELCUT_GRAPHICS": "sixel", "TMUX": "x"}, None, None, "", "sixel", True,
         "REELCUT_GRAPHICS"),
        ({"REELCUT_GRAPHICS": "sixel", "TMUX": "x"}, DA1_SIXEL, None, "", "sixel", False,
         "REELCUT_GRAPHICS"),
        ({"REELCUT_GRAPHICS": "halfblock", "TERM": "xterm-kitty"}, KITTY_OK, None, "",
         "halfblock", False, "REELCUT_GRAPHICS"),
        ({"REELCUT_GRAPHICS": "kitty", "TMUX": "x"}, None, None, "", "kitty", True,
         "REELCUT_GRAPHICS"),
    ],
)  # fmt: skip
def test_choose(
    env: dict[str, str],
    answers: str | None,
    passthrough: bool | None,
    client: str,
    mode: str,
    tmux: bool,
    why: str,
) -> None:
    g = choose(env, answers, tmux_passthrough=passthrough, client_term=client)
    assert (g.mode, g.tmux) == (mode, tmux)
    assert why in g.why


@pytest.mark.parametrize(
    ("features", "rgb"), [("", True), ("256,RGB,title", True), ("256,title,usstyle", False)]
)
def test_through_tmux_the_id_colour_follows_its_rgb_feature(features: str, rgb: bool) -> None:
    g = choose({"TMUX": "x"}, None, tmux_passthrough=True, client_term="xterm-kitty",
               client_features=features)  # fmt: skip
    assert (g.mode, g.rgb_ids) == ("kitty", rgb)


def test_through_tmux_an_outer_terminal_with_the_sixel_feature_gets_sixel() -> None:
    g = choose({"TMUX": "x"}, DA1_PLAIN, tmux_passthrough=True, client_term="xterm-256color",
               client_features="256,RGB,sixel", cell=(9, 18), pane=(3, 1))  # fmt: skip
    assert (g.mode, g.tmux, g.cell, g.pane) == ("sixel", True, (9, 18), (3, 1))


@pytest.mark.parametrize(
    ("answers", "cell"),
    [
        ("\x1b[6;20;9t\x1b[4;480;720t", (9, 20)),  # the cell size itself
        ("\x1b[4;480;720t", (9, 20)),  # the text area over 80 x 24
        ("\x1b[6;0;0t", DEFAULT_CELL),
        ("", DEFAULT_CELL),
    ],
)
def test_the_cell_size_comes_from_the_terminals_answers(
    answers: str, cell: tuple[int, int]
) -> None:
    assert cell_pixels(answers + DA1_SIXEL, 80, 24) == cell


def test_the_query_is_the_protocols_own() -> None:
    assert KITTY_QUERY == "\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"
    assert CELL_SIZE_QUERY == "\x1b[16t\x1b[14t"


def _commands(text: str) -> list[tuple[dict[str, str], str]]:
    return [
        (dict(kv.split("=", 1) for kv in m.group(1).split(",")), m.group(2) or "")
        for m in re.finditer(r"\x1b_G([^;\x1b]*)(?:;([^\x1b]*))?\x1b\\", text)
    ]


@pytest.mark.parametrize("tmux", [False, True])
def test_a_transmission_is_chunked_and_decodes_to_its_pixels(tmux: bool) -> None:
    width, height = 90, 50
    rgb = random.Random(1).randbytes(width * height * 3)  # does not compress
    text = kitty_transmit(7, width, height, rgb, 30, 12, tmux=tmux)
    if tmux:
        pieces = re.findall(r"\x1bPtmux;(.*?)\x1b\\(?=\x1bPtmux;|$)", text, re.S)
        assert pieces and "".join(f"\x1bPtmux;{p}\x1b\\" for p in pieces) == text
        text = "".join(p.replace("\x1b\x1b", "\x1b") for p in pieces)
    commands = _commands(text)
    assert len(commands) > 1
    first = commands[0][0]
    assert first | {"m": "1"} == {
        "a": "T", "U": "1", "q": "2", "f": "24", "o": "z", "i": "7",
        "s": "90", "v": "50", "c": "30", "r": "12", "m": "1",
    }  # fmt: skip
    assert [k for k, _ in commands[1:]] == [{"m": "1"}] * (len(commands) - 2) + [{"m": "0"}]
    assert all(len(data) <= CHUNK for _, data in commands)
    data = "".join(d for _, d in commands)
    assert zlib.decompress(base64.standard_b64decode(data)) == rgb


def test_delete_and_placeholders() -> None:
    assert kitty_delete(5, tmux=False) == "\x1b_Ga=d,d=I,i=5,q=2\x1b\\"
    assert kitty_delete(5, tmux=True) == "\x1bPtmux;\x1b\x1b_Ga=d,d=I,i=5,q=2\x1b\x1b\\\x1b\\"
    row = placeholder_row(2, 3)
    assert row == "".join(PLACEHOLDER + DIACRITICS[2] + DIACRITICS[c] for c in range(3))
    assert DIACRITICS[:3] == ("\u0305", "\u030d", "\u030e") and len(set(DIACRITICS)) == 64


def test_the_id_colour_is_the_id_in_either_colour_mode() -> None:
    true_id, rgb = image_id_colour(True)
    assert true_id == rgb[0] << 16 | rgb[1] << 8 | rgb[2]
    index, rgb256 = image_id_colour(False)
    levels = (0, 95, 135, 175, 215, 255)
    cube = 16 + 36 * levels.index(rgb256[0]) + 6 * levels.index(rgb256[1]) + levels.index(rgb256[2])
    assert index == cube


def _probe_in_pty(answer: bytes | None) -> tuple[bytes, str]:
    """`detect` in a child whose terminal is a pty; this side plays the terminal: it reads
    what the child asks and writes ``answer`` (nothing when None). What was asked, and the
    mode the child chose."""
    code = (
        "from tui.terminal_graphics import detect; g = detect(); "
        "print('MODE', g.mode, g.why, g.cell)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "REELCUT_GRAPHICS")}
    env |= {"TERM": "xterm-256color", "TERM_PROGRAM": ""}
    primary, secondary = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=secondary, stdout=secondary, stderr=secondary, env=env
    )
    os.close(secondary)
    asked = b""
    out = b""
    try:
        while b"MODE" not in out or not out.endswith(b"\n"):
            ready, _, _ = select.select([primary], [], [], 10)
            assert ready, f"no answer from the child: {asked!r} {out!r}"
            try:
                chunk = os.read(primary, 4096)
            except OSError:
                break
            if not chunk:
                break
            if b"MODE" in chunk or out:
                out += chunk
            else:
                asked += chunk
                if answer is not None and asked.endswith(b"\x1b[c"):
                    os.write(primary, answer)
    finally:
        child.wait(timeout=10)
        os.close(primary)
    return asked, out.decode(errors="replace").split("MODE", 1)[1].strip()


def test_the_probe_asks_the_terminal_and_reads_its_answers() -> None:
    asked, chosen = _probe_in_pty(KITTY_OK.encode() + DA1_PLAIN.encode())
    assert asked == (KITTY_QUERY + CELL_SIZE_QUERY).encode() + b"\x1b[c"
    assert chosen.startswith("kitty the terminal answered")
    _, chosen = _probe_in_pty(b"\x1b[6;18;8t" + DA1_SIXEL.encode())
    assert chosen == "sixel the terminal answered DA1 with sixel (4) (8, 18)"
    _, chosen = _probe_in_pty(None)  # a terminal that answers nothing: the wait ends
    assert chosen.startswith("halfblock no graphics")
