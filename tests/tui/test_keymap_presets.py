"""Keymap presets (issue 19, item 4): each NLE's table, checked row by row.

Table level: every row names an editor action; no key does two things in any layout; every key
bound can be typed in a terminal (the bytes an xterm sends for it parse back to that key);
every row whose NLE key cannot reach a terminal says so. In the editor (Pilot): with the preset
chosen in the keymap file, every documented key is bound to its row's action where the timeline
has the focus; a few keys are pressed and do what the row says; the help lists the notes.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path

import pytest
from textual import events
from textual._xterm_parser import XTermParser
from textual.widgets import ContentSwitcher

from engine.session import Session
from tests.tui.test_editor import clips, settle, status
from tui.app import ReelcutApp
from tui.keymap_presets import PRESETS, Preset, preset_keys, split
from tui.keys import KEYS, load_key_config
from tui.screens import HelpScreen, help_rows

# What an xterm (and tmux) sends for the named keys; single characters are sent as themselves.
XTERM = {
    "space": " ",
    "left": "\x1b[D",
    "right": "\x1b[C",
    "up": "\x1b[A",
    "down": "\x1b[B",
    "home": "\x1b[H",
    "end": "\x1b[F",
    "delete": "\x1b[3~",
    "shift+delete": "\x1b[3;2~",
    "backspace": "\x7f",
    "tab": "\t",
    "shift+tab": "\x1b[Z",
    "escape": "\x1b",
    "alt+left": "\x1b[1;3D",
    "alt+right": "\x1b[1;3C",
    "alt+up": "\x1b[1;3A",
    "alt+down": "\x1b[1;3B",
    "ctrl+up": "\x1b[1;5A",
    "ctrl+down": "\x1b[1;5B",
    "shift+up": "\x1b[1;2A",
    "shift+down": "\x1b[1;2B",
    "shift+left": "\x1b[1;2D",
    "shift+right": "\x1b[1;2C",
    "alt+shift+left": "\x1b[1;4D",
    "alt+shift+right": "\x1b[1;4C",
    "f1": "\x1bOP",
    "f4": "\x1bOS",
    "f5": "\x1b[15~",
    "f6": "\x1b[17~",
    "shift+f6": "\x1b[17;2~",
    "f7": "\x1b[18~",
    "f8": "\x1b[19~",
    "f9": "\x1b[20~",
    "f10": "\x1b[21~",
    "f11": "\x1b[23~",
    "f12": "\x1b[24~",
    "shift+f12": "\x1b[24;2~",
    "ctrl+right_square_bracket": "\x1d",
}
CHARS = {
    "comma": ",",
    "full_stop": ".",
    "less_than_sign": "<",
    "greater_than_sign": ">",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "equals_sign": "=",
    "plus": "+",
    "minus": "-",
    "backslash": "\\",
    "slash": "/",
    "question_mark": "?",
    "semicolon": ";",
    "apostrophe": "'",
    "exclamation_mark": "!",
}


def terminal_bytes(key: str) -> str | None:
    """What a terminal sends for ``key``, or None for a key this table does not know."""
    if key in XTERM:
        return XTERM[key]
    if key in CHARS:
        return CHARS[key]
    if len(key) == 1:
        return key
    if m := re.fullmatch(r"ctrl\+([a-z])", key):
        return chr(ord(m.group(1)) - 96)
    if m := re.fullmatch(r"alt\+([a-z])", key):
        return "\x1b" + m.group(1)
    return None


def parsed(data: str) -> list[str]:
    """The keys Textual reads from ``data`` (then the end of input: a lone Esc prefix waits)."""
    parser = XTermParser()
    got = [*parser.feed(data), *parser.feed("")]
    return [e.key for e in got if isinstance(e, events.Key)]


# The NLE keys that no terminal delivers as themselves (the first of a row's alternatives).
UNREACHABLE = re.compile(r"Cmd|Ctrl\+Shift|Ctrl\+Alt|Ctrl\+[-=\[M0-9]|Opt\+\[|Shift\+Backspace")

ALL = sorted(PRESETS)


@pytest.mark.parametrize("name", ALL)
def test_each_row_names_an_action_and_no_key_does_two_things(name: str) -> None:
    preset = PRESETS[name]
    actions = {k.action for k in KEYS}
    assert [r.action for r in preset.rows if r.action not in actions] == []
    assert len({r.action for r in preset.rows}) == len(preset.rows)  # one row per action
    layout = preset_keys(name)
    assert [k.action for k in layout] == [k.action for k in KEYS]  # every action still there
    counts = Counter(key for k in layout for key in split(k.keys))
    assert [key for key, n in counts.items() if n > 1] == []
    by_action = {k.action: split(k.keys) for k in layout}
    for row in preset.rows:
        assert by_action[row.action][: len(split(row.keys))] == split(row.keys), row


@pytest.mark.parametrize("name", ALL)
def test_every_bound_key_can_be_typed_in_a_terminal(name: str) -> None:
    for key in {key for k in preset_keys(name) for key in split(k.keys)}:
        data = terminal_bytes(key)
        if key == "ctrl+shift+z":  # the default's redo alias: says so in the README
            continue
        assert data is not None, f"{name}: no terminal sequence known for {key!r}"
        assert parsed(data) == [key], (name, key, data)


@pytest.mark.parametrize("name", ALL)
def test_rows_whose_key_cannot_reach_a_terminal_say_so(name: str) -> None:
    for row in PRESETS[name].rows:
        first = row.nle.split(" / ")[0]
        if UNREACHABLE.search(first):
            assert row.note, f"{name}: {row.nle} cannot reach a terminal; the row must say so"


def test_the_probe_for_unreachable_keys_can_fail() -> None:
    """Ctrl+Shift+Z arrives as Ctrl+Z (the same byte): what makes those rows need a note."""
    assert parsed("\x1a") == ["ctrl+z"]
    assert UNREACHABLE.search("Ctrl+Shift+Z") and not UNREACHABLE.search("Ctrl+K")
    assert UNREACHABLE.search("Ctrl+[") and not UNREACHABLE.search("Ctrl+]")


def test_a_keymap_file_picks_a_preset_and_refuses_an_unknown_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert load_key_config().preset == "reelcut"
    (tmp_path / "reelcut").mkdir()
    path = tmp_path / "reelcut" / "keymap.json"
    path.write_text('{"preset": "avid", "editor.blade": "x"}')
    config = load_key_config()
    assert (config.preset, config.keymap) == ("avid", {"editor.blade": "x"})
    path.write_text('{"preset": "vegas"}')
    with pytest.raises(SystemExit) as exc:
        load_key_config()
    assert "unknown preset 'vegas'" in str(exc.value) and "premiere" in str(exc.value)


# The timeline widget answers = - \ itself (zooming, as the editor's zoom keys do).
SAME = {"zoom_in": "zoom(1)", "zoom_out": "zoom(-1)", "zoom_to_fit": "zoom_fit"}


def run_with_preset(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, scenario: object
) -> None:
    config = tmp_path / "config"
    (config / "reelcut").mkdir(parents=True)
    (config / "reelcut" / "keymap.json").write_text(f'{{"preset": "{name}"}}')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))

    async def go() -> None:
        with Session(root) as session:
            app = ReelcutApp(session, background_jobs=False)
            async with app.run_test(size=(160, 48)) as pilot:
                await pilot.pause()
                await scenario(app, pilot)  # type: ignore[operator]

    asyncio.run(go())


def documented_keys_reach_their_actions(app: ReelcutApp, preset: Preset) -> None:
    assert app.focused is app.timeline
    active = app.screen.active_bindings
    for row in preset.rows:
        for key in split(row.keys):
            action = active[key].binding.action
            assert SAME.get(action, action) == row.action, (preset.name, key, action)


def test_premiere(demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        documented_keys_reach_their_actions(app, PRESETS["premiere"])
        press = pilot.press  # type: ignore[attr-defined]
        await press("exclamation_mark")  # Shift+1: the project panel (the bin)
        assert app.editor.query_one("#left", ContentSwitcher).current == "bin"
        app.timeline.focus()
        app.track_index = 1  # V1
        await press("tab", "alt+right")  # the pattern, nudged one frame (Alt+Right)
        await settle(pilot)
        assert "nudge" in status(app).lower() or "moved" in status(app).lower()

    run_with_preset(demo_dir, tmp_path, monkeypatch, "premiere", scenario)


def test_resolve(demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        documented_keys_reach_their_actions(app, PRESETS["resolve"])
        app.track_index = 1
        app.seek(120)
        await pilot.press("t")  # type: ignore[attr-defined]  # Trim Edit mode
        assert "TRIM roll" in status(app)

    run_with_preset(demo_dir, tmp_path, monkeypatch, "resolve", scenario)


def test_final_cut(demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        documented_keys_reach_their_actions(app, PRESETS["finalcut"])
        await pilot.press("f1")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        assert isinstance(app.screen, HelpScreen)
        rows = help_rows(app.keys, "finalcut")
        notes = [r for r in rows if r[0] == "Final Cut Pro keys"]
        assert (
            "Final Cut Pro keys",
            "Cmd+B -> Ctrl+B",
            "Blade at the playhead: Cmd never reaches a terminal: Ctrl+B",
        ) in notes
        assert app.screen.query_one("#help-table").row_count == len(rows)  # type: ignore[attr-defined]

    run_with_preset(demo_dir, tmp_path, monkeypatch, "finalcut", scenario)


def test_avid(demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        documented_keys_reach_their_actions(app, PRESETS["avid"])
        press = pilot.press  # type: ignore[attr-defined]
        await press("4", "4", "4")  # step forward
        assert app.playhead == 3
        await press("3")
        assert app.playhead == 2
        before = len(clips(app.project))
        await press("h")  # Add Edit
        await settle(pilot)
        assert len(clips(app.project)) > before

    run_with_preset(demo_dir, tmp_path, monkeypatch, "avid", scenario)


def test_the_default_layout_is_unchanged_without_a_preset() -> None:
    assert preset_keys("reelcut") is KEYS
