"""Every editor key in one table: the bindings, the help screen and the command palette are all
built from it, so they cannot disagree. Each binding has an id (``editor.blade``...) that a
keymap file remaps, and the file may pick a preset layout (`load_key_config`,
`tui.keymap_presets`)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from textual.binding import Binding, BindingType


class Key(NamedTuple):
    area: str
    keys: str  # Textual key names, comma-separated; "" = palette only
    action: str
    title: str
    show: bool = False  # in the footer


KEYS: tuple[Key, ...] = (
    # playback and the playhead
    Key("Playback", "space", "play_pause", "Play / pause", True),
    Key("Playback", "l", "shuttle(1)", "Play forward (again: 2x, 4x)"),
    Key("Playback", "j", "shuttle(-1)", "Play backward (again: 2x, 4x)"),
    Key("Playback", "k", "stop", "Stop"),
    Key("Playhead", "right", "step(1)", "Next frame"),
    Key("Playhead", "left", "step(-1)", "Previous frame"),
    Key("Playhead", "shift+right", "step_seconds(1)", "One second forward"),
    Key("Playhead", "shift+left", "step_seconds(-1)", "One second back"),
    Key("Playhead", "down", "edit_point(1)", "Next edit point"),
    Key("Playhead", "up", "edit_point(-1)", "Previous edit point"),
    Key("Playhead", "home", "go_start", "Go to start"),
    Key("Playhead", "end", "go_end", "Go to end"),
    Key("Playhead", "g", "goto", "Go to timecode...", True),
    # marks
    Key("Marks", "i", "mark_in", "Mark in"),
    Key("Marks", "o", "mark_out", "Mark out"),
    Key("Marks", "alt+x,X", "clear_marks", "Clear in and out"),
    Key("Marks", "m", "add_marker", "Add marker at the playhead"),
    Key("Marks", "M", "marker_list", "Marker list: go to, rename, note, delete..."),
    # selection
    Key("Select", "tab", "select_clip(1)", "Select next clip"),
    Key("Select", "shift+tab", "select_clip(-1)", "Select previous clip"),
    Key("Select", "alt+down,ctrl+down", "select_track(1)", "Next track"),
    Key("Select", "alt+up,ctrl+up", "select_track(-1)", "Previous track"),
    Key("Select", "escape", "deselect", "Clear the selection"),
    # cutting
    Key("Edit", "ctrl+b,ctrl+k", "blade", "Blade at the playhead", True),
    Key("Edit", "delete", "lift", "Lift (leave a gap)", True),
    Key("Edit", "shift+delete,backspace", "ripple_delete", "Ripple delete", True),
    Key("Edit", "comma", "nudge(-1)", "Nudge one frame left"),
    Key("Edit", "full_stop", "nudge(1)", "Nudge one frame right"),
    Key("Edit", "less_than_sign", "nudge(-10)", "Nudge ten frames left"),
    Key("Edit", "greater_than_sign", "nudge(10)", "Nudge ten frames right"),
    Key("Edit", "q", "ripple_trim('in')", "Ripple-trim start to the playhead"),
    Key("Edit", "w", "ripple_trim('out')", "Ripple-trim end to the playhead"),
    Key("Edit", "left_square_bracket", "trim('in')", "Trim start to the playhead"),
    Key("Edit", "right_square_bracket", "trim('out')", "Trim end to the playhead"),
    Key("Edit", "ctrl+z", "undo", "Undo", True),
    Key("Edit", "ctrl+y,ctrl+shift+z", "redo", "Redo"),
    Key("View", "n", "toggle_snapping", "Snapping on/off"),
    Key("View", "equals_sign,plus", "zoom(1)", "Zoom in"),
    Key("View", "minus", "zoom(-1)", "Zoom out"),
    Key("View", "backslash", "zoom_fit", "Zoom to fit"),
    Key("View", "f7", "toggle_viewer", "Picture viewer: the frame under the playhead (on/off)"),
    Key("View", "f6", "focus_region(1)", "Next region"),
    Key("View", "shift+f6", "focus_region(-1)", "Previous region"),
    # the layout (tui/layout.py, issue 19)
    Key("View", "f4", "region_keys", "Regions: F4 then f s a v t hides / shows, Shift maximises"),
    Key("View", "f8", "maximise_region", "Maximise the focused region (again: back)"),
    Key("View", "", "toggle_region('left')", "Project files / media bin: hide or show"),
    Key("View", "", "toggle_region('panes')", "Scripts: hide or show"),
    Key("View", "", "toggle_region('chat')", "Agent: hide or show"),
    Key("View", "", "toggle_region('timeline')", "Timeline: hide or show"),
    Key("View", "", "maximise_region('timeline')", "Timeline: maximise (again: back)"),
    Key("View", "", "restore_regions", "Every region back"),
    Key("App", "question_mark,f1", "help", "Keys", True),
    Key("App", "ctrl+e", "export", "Export the timeline to a file..."),
    Key("Generate", "t", "speak", "Speak the scenario (TTS; a paid pass over budget asks first)"),
    Key("Generate", "T", "speak_cancel", "Cancel the scenario lines being spoken"),
    Key("Generate", "r", "speak_retry", "Retry the selected clip's failed take"),
    Key("Transcript", "", "transcribe", "Transcribe the project's sound (offline)"),
    Key("Transcript", "", "transcript_show", "Transcript: show the timeline's words"),
    Key("Transcript", "", "transcript_cut", "Transcript: cut the deleted words (a changeset)"),
    Key("Transcript", "", "captions_place", "Captions: place the timeline's words (undoable)"),
    Key("Scripts", "ctrl+o", "find_file", "Open a file by name...", True),
    Key("Agent", "", "agent_model", "Next model"),
    Key("Agent", "", "agent_workflow", "Next workflow"),
    Key("Agent", "", "agent_thinking", "Next thinking level"),
    Key("Agent", "", "agent_auto_apply", "Review / auto-apply"),
    Key("Agent", "", "agent_cancel", "Cancel the run"),
    Key("Agent", "", "agent_thread(-1)", "Previous thread"),
    Key("Agent", "", "agent_thread(1)", "Next thread"),
    # the media bin, three-point editing, trim mode, tracks, text (issue 19)
    Key("Source", "f5", "show_bin", "Media bin: show and focus it (again: project files)"),
    Key("Source", "", "import_media", "Import media into the bin..."),
    Key("Source", "", "relink_media", "Relink the highlighted bin item to a file..."),
    Key("Three-point", "v,f9", "place_source('insert')", "Insert the source (ripple)"),
    Key("Three-point", "b,f10", "place_source('overwrite')", "Overwrite with the source"),
    Key("Three-point", "f11", "place_source('replace')", "Replace the clip under the playhead"),
    Key("Three-point", "f12", "place_source('place_on_top')", "Place the source on top"),
    Key("Three-point", "e,shift+f12", "place_source('append')", "Append the source at the end"),
    Key("Three-point", "p", "target_track", "Target the current track (patch)"),
    Key("Three-point", "P", "toggle_source_audio", "Source sound on/off"),
    Key("Three-point", "semicolon", "lift_range", "Lift the in/out range (leave the gap)"),
    Key("Three-point", "apostrophe", "extract_range", "Extract the in/out range (close it)"),
    Key("Three-point", "", "close_gap", "Close the gap under the playhead"),
    Key("Trim", "u", "trim_mode", "Trim mode (again: roll, ripple out/in, slip, slide)"),
    Key("Tracks", "shift+up", "move_to_track(-1)", "Move the selection one track up"),
    Key("Tracks", "shift+down", "move_to_track(1)", "Move the selection one track down"),
    Key("Tracks", "ctrl+l", "toggle_link", "Link / unlink the selection"),
    Key("Edit", "I", "inspect", "Clip inspector: properties, gain and fades, text..."),
    Key("Tracks", "", "add_track('video')", "Add a video track"),
    Key("Tracks", "", "add_track('audio')", "Add an audio track"),
    Key("Tracks", "", "remove_track", "Remove the current track and its clips"),
    Key("Tracks", "", "track_flag('locked')", "Lock / unlock the current track"),
    Key("Tracks", "", "track_flag('muted')", "Mute / unmute the current track"),
    Key("Tracks", "", "track_flag('solo')", "Solo / unsolo the current track"),
    Key("Tracks", "", "rename_track", "Rename the current track..."),
    Key("Text", "ctrl+t", "add_title", "Add a title at the in mark or playhead..."),
    Key("Text", "", "edit_text('text')", "Text clip: edit its text..."),
    Key("Text", "", "edit_text('size')", "Text clip: font size..."),
    Key("Text", "", "edit_text('color')", "Text clip: colour..."),
    Key("Marks", "", "rename_marker", "Rename the marker at the playhead..."),
    Key("Marks", "", "remove_marker", "Delete the marker at the playhead"),
    Key("App", "", "preview_url", "Preview page: show its address (and copy it)"),
    Key("App", "", "reload", "Reload project.json from disk"),
    Key("App", "", "save_state", "Save the playhead and selection now"),
)


# What the timeline's keys do; none of it runs while the focus is in a text field.
TIMELINE_ACTIONS = frozenset(
    k.action.split("(")[0]
    for k in KEYS
    if k.area
    in ("Playback", "Playhead", "Marks", "Select", "Edit", "Three-point", "Trim", "Tracks", "Text")
)


def binding_id(key: Key) -> str:
    """``nudge(-10)`` -> ``editor.nudge.back10``, ``trim('in')`` -> ``editor.trim.in``."""
    return "editor." + re.sub(r"[^a-z0-9]+", ".", key.action.replace("-", "back")).strip(".")


def bindings(keys: tuple[Key, ...] = KEYS) -> list[BindingType]:
    """The editor's bindings: `KEYS`, or a preset's layout of them (`tui.keymap_presets`)."""
    return [
        Binding(k.keys, k.action, k.title, show=k.show, id=binding_id(k)) for k in keys if k.keys
    ]


def display(keys: str) -> str:
    """``shift+delete,backspace`` -> ``Shift+Delete / Backspace``."""
    names = {
        "full_stop": ".",
        "comma": ",",
        "less_than_sign": "<",
        "greater_than_sign": ">",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
        "equals_sign": "=",
        "plus": "+",
        "minus": "-",
        "backslash": "\\",
        "question_mark": "?",
        "space": "Space",
        "semicolon": ";",
        "apostrophe": "'",
    }
    out = []
    for key in keys.split(","):
        parts = key.split("+") if key != "plus" else ["plus"]
        shown = [names.get(p, p if len(p) == 1 else p.capitalize()) for p in parts]
        if len(shown) > 1 and len(shown[-1]) == 1:  # Ctrl+S, as menus write it
            shown[-1] = shown[-1].upper()
        out.append("+".join(shown))
    return " / ".join(out)


@dataclass(frozen=True)
class KeyConfig:
    """What the keymap file asks for: a preset layout and single keys remapped on top."""

    preset: str = "reelcut"
    keymap: dict[str, str] = field(default_factory=dict)


def keymap_path() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "reelcut" / "keymap.json"


def load_key_config() -> KeyConfig:
    """``$XDG_CONFIG_HOME/reelcut/keymap.json``, if any: ``{"preset": "avid"}`` picks a layout
    (`tui.keymap_presets`: premiere, resolve, finalcut, avid; reelcut is the default) and
    binding ids remap single keys on top of it (``{"editor.blade": "ctrl+x"}``). A bad file
    stops the editor with one line saying what is wrong."""
    from tui.keymap_presets import preset_names

    path = keymap_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return KeyConfig()
    except (OSError, ValueError) as exc:
        raise SystemExit(f"reelcut: {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise SystemExit(
            f'reelcut: {path} must map binding ids to keys, e.g. {{"editor.blade": "ctrl+x"}}'
        )
    preset = data.pop("preset", "reelcut")
    if preset not in preset_names():
        raise SystemExit(
            f"reelcut: {path}: unknown preset {preset!r}; choose one of "
            + ", ".join(preset_names())
        )
    return KeyConfig(preset, data)
