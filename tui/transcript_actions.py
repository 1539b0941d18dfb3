"""The editor's transcript actions: transcribe, show the timeline's words, cut deleted words,
place captions.

A controller, not a widget: the editor screen's actions call it, and it works through the
project's door (`Workspace.transcribe`, `show_transcript`, `cut_transcript`). Showing writes
the words under the timeline to ``transcripts/timeline.txt`` and opens it in a script pane;
a person deletes words there, and cutting reads the pane's text and proposes one changeset,
whose card waits in the agent panel for review (apply, diff, replay, revert) like an agent's.
After the cut is applied the pane's words are the timeline's words. Placing captions puts
the timeline's words on the Captions track as text clips, one undoable edit (Ctrl+Z).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.workspace import ReelcutError, Workspace

if TYPE_CHECKING:
    from tui.app import ReelcutApp
    from tui.scripts import ScriptPanes

REVIEWER = "transcript"
"""The name the cut's card is shown under in the agent panel."""


class TranscriptActions:
    """See the module's docstring."""

    def __init__(self, app: ReelcutApp, panes: ScriptPanes) -> None:
        self.app, self.panes = app, panes

    @property
    def door(self) -> Workspace:
        return self.app.workspace

    async def transcribe(self) -> None:
        try:
            doc = await self.door.transcribe()
        except ReelcutError as exc:
            self.app.flash(f"not transcribed: {exc}")
            return
        n, skipped = len(doc["jobs"]), len(doc["skipped"])
        if n:
            self.app.flash(f"transcribing {n} asset(s) offline; the jobs list shows them")
        else:
            self.app.flash(
                f"{skipped} transcript(s) up to date" if skipped else "no asset has sound"
            )

    async def show(self) -> None:
        try:
            path = await self.door.show_transcript()
        except ReelcutError as exc:
            self.app.flash(f"no transcript view: {exc}")
            return
        await self.panes.open(path)
        self.app.flash(f"{path}: delete words, then 'Transcript: cut the deleted words'")

    async def cut(self) -> None:
        view = Workspace.TRANSCRIPT_VIEW
        pane = self.panes.focused_pane()
        if pane is None or pane.path != view:
            pane = next((p for p in self.panes.panes if p.path == view), None)
        if pane is None:
            self.app.flash("show the transcript first ('Transcript: show the timeline's words')")
            return
        try:
            out = await self.door.cut_transcript(pane.area.text)
        except ReelcutError as exc:
            self.app.flash(f"not cut: {exc}")
            return
        if not out.get("ok"):
            self.app.flash(f"not cut: {view}:{out.get('error')}")
            return
        cs = out.get("changeset")
        summary = out["result"]["summary"]
        if cs is None:
            self.app.flash(summary)
            return
        agent = self.app.agent
        await agent.chat.add_client_card(REVIEWER, await agent.changeset_view(int(cs)))
        self.app.flash(f"changeset {cs}: {summary}; review it in the agent panel")

    async def place_captions(self) -> None:
        try:
            doc = await self.door.call("captions.place", {"author": "editor"})
        except ReelcutError as exc:
            self.app.flash(f"no captions: {exc}")
            return
        self.app.flash(
            f"{doc['cues']} caption clip(s) on the Captions track; Ctrl+Z takes them back"
        )
