"""A path on this machine, typed with completion: the media bin's import and relink prompt.

Tab (or Right at the end of the line) takes the completion shown after the cursor: the rest of
the one name that fits, or what every fitting name shares; the names that fit are listed under
the field. Reads the local file system only to list folders (the import itself goes through
the door).
"""

from __future__ import annotations

import os
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Label

SHOWN = 8
"""Names listed under the field at most."""


def completions(value: str) -> list[str]:
    """The entries that complete ``value`` (a path being typed), as full values, sorted, folders
    with a trailing ``/``; hidden entries only when the typed name starts with a dot."""
    expanded = os.path.expanduser(value)
    folder, _, stem = expanded.rpartition("/")
    base = Path(folder or ("/" if expanded.startswith("/") else "."))
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return []
    prefix = value[: len(value) - len(stem)]
    out = []
    for name in names:
        if not name.startswith(stem) or (name.startswith(".") and not stem.startswith(".")):
            continue
        out.append(prefix + name + ("/" if (base / name).is_dir() else ""))
    return out


def common_completion(value: str) -> str | None:
    """What every completion of ``value`` shares (longer than ``value``), or None."""
    found = completions(value)
    if not found:
        return None
    shared = os.path.commonprefix(found)  # noqa: RUF071 (a name being typed, by character)
    return shared if len(shared) > len(value) else None


class PathSuggester(Suggester):
    """Suggests `common_completion` (no cache: the folder may change while the prompt is up)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return common_completion(value)


class PathPrompt(ModalScreen[Path | None]):
    """A file (or, with ``folders``, a folder) to use: dismisses with its absolute path."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("tab", "complete", "Complete", priority=True),
    ]

    def __init__(self, title: str, value: str, *, folders: bool = False, hint: str = "") -> None:
        super().__init__(classes="script-dialog")
        self.title_text, self.value, self.folders, self.hint = title, value, folders, hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box", id="path-box"):
            yield Label(self.title_text, classes="dialog-title")
            yield Input(self.value, id="path-input", suggester=PathSuggester())
            yield Label("", id="path-error", classes="dialog-error")
            yield Label("", id="path-matches", classes="dim")
            yield Label(self.hint or "Tab completes, Enter takes it, Esc cancels", classes="dim")

    def on_mount(self) -> None:
        self._list(self.value)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self.query_one("#path-error", Label).update("")
        self._list(event.value)

    def _list(self, value: str) -> None:
        found = completions(value)
        names = [f.rstrip("/").rpartition("/")[2] + ("/" if f.endswith("/") else "") for f in found]
        more = f"  (+{len(names) - SHOWN} more)" if len(names) > SHOWN else ""
        self.query_one("#path-matches", Label).update("  ".join(names[:SHOWN]) + more)

    def action_complete(self) -> None:
        field = self.query_one(Input)
        shared = common_completion(field.value)
        if shared is not None:
            field.value = shared
            field.cursor_position = len(shared)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        typed = event.value.strip()
        path = Path(os.path.expanduser(typed)) if typed else None
        if path is not None and not path.is_absolute():
            path = Path.cwd() / path
        ok = path is not None and (path.is_file() or (self.folders and path.is_dir()))
        if not ok:
            what = "a file or a folder" if self.folders else "a file"
            self.query_one("#path-error", Label).update(
                f"{typed or '(nothing)'} is not {what} here; Tab completes names"
            )
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)
