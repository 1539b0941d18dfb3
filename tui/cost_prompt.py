"""The cost prompt: a paid TTS pass estimated over the project's budget asks before it spends.

`CostPrompt` shows what the door said (how many lines, the model, the estimate, the budget:
`engine.tts.jobs.NeedsConfirmation`) and answers True only for ``y`` (or the Spend button);
``n``, Esc or the Cancel button answer False, and nothing is queued.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label


class CostPrompt(ModalScreen[bool]):
    """Spend the estimate, or not (see the module's docstring)."""

    DEFAULT_CSS = """
    CostPrompt { align: center middle; }
    #cost-box {
        width: 90%; max-width: 76; height: auto;
        border: round $warning; background: $surface; padding: 0 1;
    }
    #cost-title { text-style: bold; margin-bottom: 1; }
    #cost-said { width: 100%; }
    #cost-buttons { height: auto; margin-top: 1; }
    #cost-buttons Button { margin-right: 2; }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Spend", id="cost.yes"),
        Binding("n,escape", "answer(False)", "Cancel", id="cost.no"),
    ]

    def __init__(self, said: str) -> None:
        super().__init__()
        self.said = said

    def compose(self) -> ComposeResult:
        with Vertical(id="cost-box"):
            yield Label("Over the budget: spend it?", id="cost-title")
            yield Label(self.said, id="cost-said")
            with Horizontal(id="cost-buttons"):
                yield Button("Spend (y)", id="cost-yes", variant="warning")
                yield Button("Cancel (n, Esc)", id="cost-no")

    def on_mount(self) -> None:
        self.query_one("#cost-no", Button).focus()  # Enter does not spend by accident

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "cost-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
