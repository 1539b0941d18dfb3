"""The small screens the script panes open: the conflict between a pane's edits and a newer
file on disk (with the diff, and a choice), go to line, a one-line prompt (new file, rename)
and a yes/no confirmation (delete).

Each is a `ModalScreen` that dismisses with the answer; the caller does the work.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from engine.workspace import diff_stats, unified_diff

MINE, THEIRS, MERGED = "mine", "theirs", "merged"


def diff_text(diff: str) -> Text:
    """A unified diff coloured the usual way (additions green, removals red, hunks dim)."""
    out = Text()
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("@@"):
            style = "cyan"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        else:
            style = ""
        out.append(line + "\n", style=style)
    return out


class ConflictScreen(ModalScreen[str | None]):
    """A pane's unsaved text against the file now on disk: the diff from the disk version to
    the pane's, then merge (both sides' edits, when they do not touch: into the pane, to review
    and save), keep mine (write it over exactly that disk version), take theirs (drop the
    edits) or decide later (Escape: keep editing; saving asks again)."""

    BINDINGS = [
        Binding("m", "choose('merged')", "Merge"),
        Binding("k", "choose('mine')", "Keep mine"),
        Binding("t", "choose('theirs')", "Take theirs"),
        Binding("escape", "choose(None)", "Later"),
    ]

    def __init__(self, path: str, mine: str, theirs: str | None, merged: str | None) -> None:
        super().__init__(classes="script-dialog")
        self.path, self.mine, self.theirs, self.merged = path, mine, theirs, merged

    def compose(self) -> ComposeResult:
        diff = unified_diff(self.theirs, self.mine, self.path)
        added, removed = diff_stats(diff) if diff else (0, 0)
        on_disk = "was deleted on disk" if self.theirs is None else "changed on disk"
        with Vertical(id="conflict-box", classes="dialog-box"):
            yield Label(f"{self.path} {on_disk} while you edited it", classes="dialog-title")
            yield Label(f"From the disk version to yours: +{added} -{removed} lines", classes="dim")
            with VerticalScroll(id="conflict-diff"):
                yield Static(diff_text(diff) if diff else Text("(the same text)"))
            keep = "k  keep mine (write it over the disk version)"
            take = (
                "t  take theirs (drop your edits)"
                if self.theirs is not None
                else ("t  take theirs (drop your edits and close the file)")
            )
            if self.merged is not None:
                merge = "m  merge: both edits into the pane (then Ctrl+S)"
            else:
                merge = "(the edits touch the same lines: no merge)"
            yield Label(merge, classes="dialog-keys")
            yield Label(f"{keep}    {take}    Esc  decide later", classes="dialog-keys")

    def action_choose(self, choice: str | None) -> None:
        if choice == MERGED and self.merged is None:
            return
        self.dismiss(choice)


class GoToLineScreen(ModalScreen[tuple[int, int] | None]):
    """``line`` or ``line:column`` (1-based) in a file of ``lines`` lines."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, lines: int, current: int) -> None:
        super().__init__(classes="script-dialog")
        self.lines, self.current = lines, current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box small"):
            yield Label(f"Go to line (1–{self.lines}, or line:column)", classes="dialog-title")
            yield Input(placeholder=str(self.current), id="goto-line")
            yield Label("", classes="dialog-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        line_s, _, col_s = value.partition(":")
        try:
            line = int(line_s)
            column = int(col_s) if col_s else 1
            if line < 1 or column < 1:
                raise ValueError
        except ValueError:
            self.query_one(".dialog-error", Label).update(
                f"{value!r} is not a line number: type e.g. 12 or 12:5"
            )
            return
        self.dismiss((min(line, self.lines), column))

    def action_cancel(self) -> None:
        self.dismiss(None)


class PromptScreen(ModalScreen[str | None]):
    """One line of text (a file name), prefilled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str, hint: str = "") -> None:
        super().__init__(classes="script-dialog")
        self.title_text, self.value, self.hint = title, value, hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box small"):
            yield Label(self.title_text, classes="dialog-title")
            yield Input(self.value, id="prompt-input")
            yield Label(self.hint, classes="dim")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        self.dismiss(value or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; only ``y`` says yes."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__(classes="script-dialog")
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box small"):
            yield Label(self.question, classes="dialog-title")
            yield Label("y  yes    n / Esc  no", classes="dialog-keys")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class PaneKeysScreen(ModalScreen[str | None]):
    """After Ctrl+W (the pane prefix, as in vim and helix): the next key picks a pane command.
    Plain keys, so it works in every terminal and through tmux (Alt+digit and Ctrl+Alt+letter
    do not survive many of them)."""

    PANE_COMMANDS = (
        ("1", "focus_pane(1)", "pane 1"),
        ("2", "focus_pane(2)", "pane 2"),
        ("3", "focus_pane(3)", "pane 3"),
        ("4", "focus_pane(4)", "pane 4"),
        ("w", "next", "next pane"),
        ("s", "split", "split: the file in a second pane"),
        ("h", "move_pane(-1)", "move the file one pane left"),
        ("l", "move_pane(1)", "move the file one pane right"),
        ("c", "close", "close the pane"),
    )
    BINDINGS = [
        *(
            Binding(key, f"pick({command!r})", text, show=False)
            for key, command, text in PANE_COMMANDS
        ),
        Binding("left", "pick('move_pane(-1)')", show=False),
        Binding("right", "pick('move_pane(1)')", show=False),
        Binding("q", "pick('close')", show=False),
        Binding("escape", "pick(None)", "Cancel"),
    ]

    def __init__(self) -> None:
        super().__init__(classes="script-dialog")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box small", id="pane-keys"):
            yield Label("Pane (Ctrl+W, then)", classes="dialog-title")
            for key, _, text in self.PANE_COMMANDS:
                yield Label(f"{key}  {text}")
            yield Label("Esc  nothing", classes="dim")

    def action_pick(self, command: str | None) -> None:
        self.dismiss(command)
