"""Keymap presets: the editor's keys laid out as Premiere Pro, DaVinci Resolve, Final Cut Pro or
Avid Media Composer lay them out, chosen in the keymap file (``{"preset": "avid"}``, see
`tui.keys.load_key_config`); the default layout stays ``reelcut``.

Each preset is a table of rows: the editor action, the key as the NLE's own list writes it,
the key(s) bound here, and a note when the two differ. They differ when the NLE's key cannot
reach a program in a terminal: Cmd never does (the terminal keeps it); Ctrl+Shift+letter
arrives as Ctrl+letter in most terminals; Ctrl+digit and Ctrl+= arrive as the bare character
or nothing; Ctrl+M is Enter and Ctrl+[ is Escape; Ctrl+Alt+letter arrives as Ctrl+letter
through tmux; Alt+[ starts an escape sequence. Such a row binds a stand-in and says so, or
binds nothing (the palette still runs it). The help screen shows these notes.

Every action keeps its default keys too, less any key the preset gives to an action, so a
preset adds the NLE's keys and no key does two things (tested for every preset).
"""

from __future__ import annotations

from typing import NamedTuple

from tui.keys import KEYS, Key


class PresetKey(NamedTuple):
    """One row of a preset's table."""

    action: str
    """The editor action (as in `tui.keys.KEYS`), e.g. ``place_source('insert')``."""
    nle: str
    """The key as the NLE's shortcut list writes it (Windows first where they differ)."""
    keys: str
    """Textual key names bound here, comma-separated; "" = none (the palette runs it)."""
    note: str = ""
    """Why ``keys`` is not the NLE's key, when it is not."""


class Preset(NamedTuple):
    name: str
    title: str
    rows: tuple[PresetKey, ...]


CMD = "Cmd never reaches a terminal"
CTRL_SHIFT = "Ctrl+Shift+letter arrives as Ctrl+letter in most terminals"
CTRL_ALT = "Ctrl+Alt+letter arrives as Ctrl+letter through tmux"
CTRL_EQUALS = "Ctrl+= and Ctrl+- arrive as the bare key in most terminals"

PREMIERE = Preset(
    "premiere",
    "Premiere Pro",
    (
        PresetKey("play_pause", "Space", "space"),
        PresetKey("shuttle(1)", "L", "l"),
        PresetKey("shuttle(-1)", "J", "j"),
        PresetKey("stop", "K", "k"),
        PresetKey("step(1)", "Right", "right"),
        PresetKey("step(-1)", "Left", "left"),
        PresetKey("edit_point(1)", "Down", "down"),
        PresetKey("edit_point(-1)", "Up", "up"),
        PresetKey("go_start", "Home", "home"),
        PresetKey("go_end", "End", "end"),
        PresetKey("mark_in", "I", "i"),
        PresetKey("mark_out", "O", "o"),
        PresetKey("clear_marks", "Ctrl+Shift+X / Opt+X", "alt+x", f"{CTRL_SHIFT}: Alt+X"),
        PresetKey("add_marker", "M", "m"),
        PresetKey("blade", "Ctrl+K (Add Edit)", "ctrl+k"),
        PresetKey("lift", "Delete / Backspace (Clear)", "delete,backspace"),
        PresetKey("ripple_delete", "Shift+Delete", "shift+delete"),
        PresetKey("lift_range", ";", "semicolon"),
        PresetKey("extract_range", "'", "apostrophe"),
        PresetKey("place_source('insert')", ",", "comma"),
        PresetKey("place_source('overwrite')", ".", "full_stop"),
        PresetKey("nudge(-1)", "Alt+Left", "alt+left"),
        PresetKey("nudge(1)", "Alt+Right", "alt+right"),
        PresetKey(
            "nudge(-10)", "Alt+Shift+Left", "alt+shift+left", "five frames in Premiere, ten here"
        ),
        PresetKey(
            "nudge(10)", "Alt+Shift+Right", "alt+shift+right", "five frames in Premiere, ten here"
        ),
        PresetKey("ripple_trim('in')", "Q", "q"),
        PresetKey("ripple_trim('out')", "W", "w"),
        PresetKey(
            "trim('in')", "Ctrl+Alt+Q", "left_square_bracket", f"{CTRL_ALT} (Ctrl+Q quits): ["
        ),
        PresetKey(
            "trim('out')", "Ctrl+Alt+W", "right_square_bracket", f"{CTRL_ALT} (Ctrl+W: panes): ]"
        ),
        PresetKey("trim_mode", "Shift+T", "T"),
        PresetKey("undo", "Ctrl+Z", "ctrl+z"),
        PresetKey("redo", "Ctrl+Shift+Z", "ctrl+y", f"{CTRL_SHIFT}: Ctrl+Y"),
        PresetKey("toggle_snapping", "S", "s"),
        PresetKey("zoom(1)", "=", "equals_sign"),
        PresetKey("zoom(-1)", "-", "minus"),
        PresetKey("zoom_fit", "\\", "backslash"),
        PresetKey("toggle_link", "Ctrl+L", "ctrl+l"),
        PresetKey("add_title", "Ctrl+T", "ctrl+t"),
        PresetKey("export", "Ctrl+M", "ctrl+e", "Ctrl+M is Enter to a terminal: Ctrl+E"),
        PresetKey(
            "show_bin", "Shift+1 (Project panel)", "exclamation_mark", "Shift+1 arrives as !"
        ),
    ),
)

RESOLVE = Preset(
    "resolve",
    "DaVinci Resolve",
    (
        PresetKey("play_pause", "Space", "space"),
        PresetKey("shuttle(1)", "L", "l"),
        PresetKey("shuttle(-1)", "J", "j"),
        PresetKey("stop", "K", "k"),
        PresetKey("step(1)", "Right", "right"),
        PresetKey("step(-1)", "Left", "left"),
        PresetKey("edit_point(1)", "Down", "down"),
        PresetKey("edit_point(-1)", "Up", "up"),
        PresetKey("go_start", "Home", "home"),
        PresetKey("go_end", "End", "end"),
        PresetKey("mark_in", "I", "i"),
        PresetKey("mark_out", "O", "o"),
        PresetKey("clear_marks", "Alt+X", "alt+x"),
        PresetKey("add_marker", "M", "m"),
        PresetKey("blade", "Ctrl+B / Cmd+B", "ctrl+b"),
        PresetKey("lift", "Backspace", "backspace"),
        PresetKey(
            "ripple_delete",
            "Delete / Shift+Backspace",
            "delete",
            "Shift+Backspace arrives as Backspace in most terminals: Delete",
        ),
        PresetKey("place_source('insert')", "F9", "f9"),
        PresetKey("place_source('overwrite')", "F10", "f10"),
        PresetKey("place_source('replace')", "F11", "f11"),
        PresetKey("place_source('place_on_top')", "F12", "f12"),
        PresetKey("place_source('append')", "Shift+F12", "shift+f12"),
        PresetKey("nudge(-1)", ",", "comma"),
        PresetKey("nudge(1)", ".", "full_stop"),
        PresetKey("nudge(-10)", "Shift+,", "less_than_sign", "five frames in Resolve, ten here"),
        PresetKey("nudge(10)", "Shift+.", "greater_than_sign", "five frames in Resolve, ten here"),
        PresetKey("trim_mode", "T (Trim Edit mode)", "t"),
        PresetKey("undo", "Ctrl+Z", "ctrl+z"),
        PresetKey("redo", "Ctrl+Shift+Z", "ctrl+y", f"{CTRL_SHIFT}: Ctrl+Y"),
        PresetKey("toggle_snapping", "N", "n"),
        PresetKey("toggle_link", "Ctrl+Alt+L", "ctrl+l", f"{CTRL_ALT}: Ctrl+L"),
        PresetKey("zoom(1)", "Ctrl+=", "equals_sign", f"{CTRL_EQUALS}: ="),
        PresetKey("zoom(-1)", "Ctrl+-", "minus", f"{CTRL_EQUALS}: -"),
        PresetKey("zoom_fit", "Shift+Z", "Z"),
    ),
)

FINAL_CUT = Preset(
    "finalcut",
    "Final Cut Pro",
    (
        PresetKey("play_pause", "Space", "space"),
        PresetKey("shuttle(1)", "L", "l"),
        PresetKey("shuttle(-1)", "J", "j"),
        PresetKey("stop", "K", "k"),
        PresetKey("step(1)", "Right", "right"),
        PresetKey("step(-1)", "Left", "left"),
        PresetKey("edit_point(1)", "Down", "down"),
        PresetKey("edit_point(-1)", "Up", "up"),
        PresetKey("go_start", "Home", "home"),
        PresetKey("go_end", "End", "end"),
        PresetKey("goto", "Ctrl+P", "g", "Ctrl+P opens the command palette here: G"),
        PresetKey("mark_in", "I", "i"),
        PresetKey("mark_out", "O", "o"),
        PresetKey("clear_marks", "Opt+X", "alt+x"),
        PresetKey("add_marker", "M", "m"),
        PresetKey("blade", "Cmd+B", "ctrl+b", f"{CMD}: Ctrl+B"),
        PresetKey("ripple_delete", "Delete", "backspace", "the Mac's Delete is Backspace"),
        PresetKey(
            "lift",
            "Shift+Delete (Replace with Gap)",
            "delete",
            "Shift+Delete arrives as Delete in most terminals: forward Delete",
        ),
        PresetKey("place_source('place_on_top')", "Q (Connect)", "q"),
        PresetKey("place_source('insert')", "W", "w"),
        PresetKey("place_source('append')", "E", "e"),
        PresetKey("place_source('overwrite')", "D", "d"),
        PresetKey("place_source('replace')", "Shift+R", "R"),
        PresetKey(
            "ripple_trim('in')",
            "Opt+[ (Trim Start)",
            "left_square_bracket",
            "Alt+[ starts a terminal escape sequence: [",
        ),
        PresetKey(
            "ripple_trim('out')",
            "Opt+] (Trim End)",
            "right_square_bracket",
            "Alt+] is unreliable after Alt+[: ]",
        ),
        PresetKey(
            "trim('in')", "(none)", "", "the magnetic timeline trims with ripple: palette only"
        ),
        PresetKey(
            "trim('out')", "(none)", "", "the magnetic timeline trims with ripple: palette only"
        ),
        PresetKey("nudge(-1)", ",", "comma"),
        PresetKey("nudge(1)", ".", "full_stop"),
        PresetKey("nudge(-10)", "Shift+,", "less_than_sign"),
        PresetKey("nudge(10)", "Shift+.", "greater_than_sign"),
        PresetKey("trim_mode", "T (Trim tool)", "t"),
        PresetKey("undo", "Cmd+Z", "ctrl+z", f"{CMD}: Ctrl+Z"),
        PresetKey("redo", "Shift+Cmd+Z", "ctrl+y", f"{CMD}: Ctrl+Y"),
        PresetKey("toggle_snapping", "N", "n"),
        PresetKey("zoom(1)", "Cmd+=", "equals_sign", f"{CMD}: ="),
        PresetKey("zoom(-1)", "Cmd+-", "minus", f"{CMD}: -"),
        PresetKey("zoom_fit", "Shift+Z", "Z"),
        PresetKey("add_title", "Ctrl+T", "ctrl+t"),
        PresetKey("export", "Cmd+E", "ctrl+e", f"{CMD}: Ctrl+E"),
        PresetKey(
            "show_bin", "Cmd+1 (Browser)", "f5", f"{CMD}, and Ctrl+digit reaches few terminals: F5"
        ),
    ),
)

AVID = Preset(
    "avid",
    "Avid Media Composer",
    (
        PresetKey("play_pause", "Space / 5", "space,5"),
        PresetKey("shuttle(1)", "L", "l"),
        PresetKey("shuttle(-1)", "J", "j"),
        PresetKey("stop", "K", "k"),
        PresetKey("step(1)", "4 / Right", "4,right"),
        PresetKey("step(-1)", "3 / Left", "3,left"),
        PresetKey("edit_point(1)", "S (Fast Forward)", "s,down"),
        PresetKey("edit_point(-1)", "A (Rewind)", "a,up"),
        PresetKey("go_start", "Home", "home"),
        PresetKey("go_end", "End", "end"),
        PresetKey(
            "goto",
            "(timecode on the numeric keypad)",
            "ctrl+g",
            "digits are step and play keys here: Ctrl+G opens go-to",
        ),
        PresetKey("mark_in", "I / E", "i,e"),
        PresetKey("mark_out", "O / R", "o,r"),
        PresetKey("clear_marks", "G (Clear Both Marks)", "g"),
        PresetKey(
            "add_marker",
            "(a marker key of your mapping)",
            "",
            "M trims ten frames left in Avid: the palette, or remap editor.add.marker",
        ),
        PresetKey("blade", "H (Add Edit)", "h"),
        PresetKey("lift_range", "Z (Lift)", "z"),
        PresetKey("extract_range", "X (Extract)", "x"),
        PresetKey("place_source('insert')", "V (Splice-in)", "v"),
        PresetKey("place_source('overwrite')", "B (Overwrite)", "b"),
        PresetKey("trim_mode", "U (Trim mode)", "u"),
        PresetKey("nudge(-10)", "M (trim 10 left)", "m"),
        PresetKey("nudge(-1)", ", (trim 1 left)", "comma"),
        PresetKey("nudge(1)", ". (trim 1 right)", "full_stop"),
        PresetKey("nudge(10)", "/ (trim 10 right)", "slash"),
        PresetKey("undo", "Ctrl+Z", "ctrl+z"),
        PresetKey("redo", "Ctrl+R", "ctrl+r"),
        PresetKey("zoom(1)", "Ctrl+]", "ctrl+right_square_bracket"),
        PresetKey("zoom(-1)", "Ctrl+[", "minus", "Ctrl+[ is Escape to a terminal: -"),
    ),
)

PRESETS: dict[str, Preset] = {p.name: p for p in (PREMIERE, RESOLVE, FINAL_CUT, AVID)}
DEFAULT_PRESET = "reelcut"


def split(keys: str) -> list[str]:
    return [k for k in keys.split(",") if k]


def preset_keys(name: str = DEFAULT_PRESET) -> tuple[Key, ...]:
    """`tui.keys.KEYS` with the keys of preset ``name``: each action gets the preset's keys
    for it (first), then its default keys less those the preset gives to any action."""
    if name == DEFAULT_PRESET:
        return KEYS
    rows = {row.action: row for row in PRESETS[name].rows}
    taken = {k for row in rows.values() for k in split(row.keys)}
    out = []
    for key in KEYS:
        row = rows.get(key.action)
        keys = split(row.keys) if row is not None else []
        keys += [k for k in split(key.keys) if k not in taken]
        out.append(key._replace(keys=",".join(keys)))
    return tuple(out)


def preset_names() -> list[str]:
    return [DEFAULT_PRESET, *PRESETS]
