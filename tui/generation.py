"""The editor's side of generated audio (TTS): what each placeholder clip shows, and the
speak / cancel / retry actions. Not a widget: the app holds one, the screen's actions call it.

What a clip shows is worked out from the door's ``tts.status`` (each line's asset, job, stage,
progress and error) and kept current from the job events: a progress event updates its clip's
percent in place; any other event of a ``tts`` job (queued, running, succeeded, failed...)
asks for the status again. The timeline draws it on the clip's second line (`labels`).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from engine.errors import ReelcutError

if TYPE_CHECKING:
    from engine.workspace import Event
    from tui.app import ReelcutApp

KIND = "tts"


def label(stage: str, progress: float, error: str | None) -> str:
    """What a generated clip's block says: ``ready`` clips show their length instead."""
    if stage == "queued":
        return "⧗ queued"
    if stage == "running":
        filled = int(progress * 8)
        return f"▶ {progress:4.0%} " + "█" * filled + "░" * (8 - filled)
    if stage in ("failed", "dead"):
        return f"✗ failed (r retries): {error or 'no reason given'}"
    if stage == "cancelled":
        return "✗ cancelled (r retries)"
    if stage == "made":
        return "made, not placed (t places it)"
    return stage


class Generations:
    """The placeholders' states by asset id, and the actions on them."""

    def __init__(self, app: ReelcutApp) -> None:
        self.app = app
        self.lines: dict[str, dict[str, Any]] = {}
        """``tts.status`` lines by asset id."""
        self._by_job: dict[int, str] = {}

    def labels(self) -> dict[str, str]:
        """The label of every clip whose take is not ready, by asset id."""
        return {
            asset: label(ln["stage"], ln["progress"], ln["error"])
            for asset, ln in self.lines.items()
            if ln["stage"] != "ready"
        }

    def job_event(self, event: Event) -> None:
        if event.topic != "job" or event.data.get("kind") != KIND:
            return
        job = int(event.data["job"])
        asset = self._by_job.get(job)
        if event.kind == "progress" and asset is not None:
            line = self.lines[asset]
            line["stage"], line["progress"] = "running", float(event.data["progress"])
            self._show()
            return
        self.refresh()

    def refresh(self) -> None:
        self.app.run_worker(self._refresh(), group="generations", exclusive=True)

    async def _refresh(self) -> None:
        try:
            doc = await self.app.workspace.call("tts.status", {})
        except ReelcutError:
            return
        self.lines = {ln["asset"]: ln for ln in doc["lines"]}
        self._by_job = {ln["job"]: ln["asset"] for ln in doc["lines"] if ln["job"] is not None}
        self._show()

    def _show(self) -> None:
        from textual.css.query import NoMatches

        with contextlib.suppress(NoMatches):  # the editor is closing
            self.app.timeline.set_generations(self.labels())

    # -- actions ------------------------------------------------------------------------------

    async def speak(self, *, yes: bool = False) -> None:
        """Speak the scenario's lines without a current take; a paid pass over the budget
        asks first (`tui.cost_prompt.CostPrompt`: the estimate and the budget, spend or not),
        and runs confirmed only on yes."""
        app = self.app
        try:
            doc = await app.workspace.call("tts.start", {"yes": yes})
        except ReelcutError as exc:
            if type(exc).__name__ == "NeedsConfirmation":
                from tui.cost_prompt import CostPrompt

                def answered(spend: bool | None) -> None:
                    if spend:
                        app.run_worker(self.speak(yes=True), group="generations-speak")
                    else:
                        app.flash("not spoken: the estimate is over the budget")

                app.push_screen(CostPrompt(str(exc)), answered)
            else:
                app.flash(f"speak: {exc}")
            return
        n, made = len(doc["generate"]), len(doc["land"])
        app.flash(
            f"speaking {n} line(s) with {doc['provider']}"
            + (f", {made} made before" if made else "")
            if n or made
            else "every scenario line has its take"
        )
        self.refresh()

    async def cancel(self) -> None:
        try:
            doc = await self.app.workspace.call("tts.cancel", {})
        except ReelcutError as exc:
            self.app.flash(f"cancel: {exc}")
            return
        self.app.flash(f"cancelled {len(doc['cancelled'])} line(s)")
        self.refresh()

    async def retry(self, asset_id: str | None) -> None:
        """Queue the failed or cancelled take of the selected clip again."""
        line = self.lines.get(asset_id or "")
        if line is None or line["stage"] not in ("failed", "cancelled") or line["job"] is None:
            self.app.flash("select a clip whose take failed or was cancelled to retry it")
            return
        try:
            await self.app.workspace.call("jobs.retry", {"id": line["job"]})
        except ReelcutError as exc:
            self.app.flash(f"retry: {exc}")
            return
        self.app.flash(f"retrying line {line['line']}")
        self.refresh()
