"""The editor's side of the agent: runs started from the chat panel, their events shown in
it in order, changeset cards acted on (apply, revert, force, the full diff, replay on the
timeline and in the page), threads shown again, and the agent settings from the palette.

`AgentController` is a plain object the app holds (``app.agent``); the app's actions and
message handlers call it, and it reaches the screen through the app. The panel itself
(`tui.chat`) only shows and asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from engine.workspace import RUN_ENDS as TERMINAL
from engine.workspace import Event, HashMismatch, ReelcutError, diff_stats
from tui.chat import ChangesetCard, ChangesetView, ChatPanel, FileDiff
from tui.script_dialogs import diff_text

if TYPE_CHECKING:
    from engine.model import Project
    from engine.workspace import Run, Workspace
    from tui.app import ReelcutApp


REPLAY_STEP = 1.0  # seconds each replayed timeline operation stays on screen


class DiffScreen(ModalScreen[None]):
    """A whole diff, scrollable."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, title: str, diff: str) -> None:
        super().__init__(classes="script-dialog")
        self.title_text, self.diff = title, diff

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(f"{self.title_text} (Esc closes)", classes="dialog-title")
            with VerticalScroll(id="conflict-diff"):
                yield Static(diff_text(self.diff) if self.diff else "(no changes)")


CLIENT_PREFIX = "mcp:"  # the author of a changeset an MCP client proposed (`mcp_server`)


class AgentController:
    """The agent's side of the editor: runs started from the chat panel, their events shown in
    it in order, changeset cards acted on, threads shown again, and the agent settings. Not a
    widget: the app holds one (``app.agent``) and its actions and message handlers call it."""

    def __init__(self, app: ReelcutApp) -> None:
        self.app = app
        self.model: str | None = os.environ.get("REELCUT_MODEL") or None  # None: the workflow's
        self.workflow: str | None = None
        self.thinking: str | None = None
        self.auto_apply = False
        self.replaying: Project | None = None  # what the page plays during a replay

    @property
    def chat(self) -> ChatPanel:
        return self.app.editor.query_one(ChatPanel)

    def show_settings(self) -> None:
        mode = "auto-apply" if self.auto_apply else "review"
        parts = [mode, self.model or "workflow's model"]
        if self.workflow:
            parts.append(Path(self.workflow).stem)
        if self.thinking:
            parts.append(f"thinking {self.thinking}")
        with contextlib.suppress(NoMatches):
            self.chat.show_settings(" · ".join(parts))

    def next_model(self) -> None:
        models = [None, *self.door.agent_choices()[0]]
        self.model = (
            models[(models.index(self.model) + 1) % len(models)] if (self.model in models) else None
        )
        self.show_settings()
        self.app.flash(f"agent model: {self.model or 'from the workflow'}")

    def next_thinking(self) -> None:
        levels = [None, *self.door.agent_choices()[1]]
        self.thinking = levels[(levels.index(self.thinking) + 1) % len(levels)]
        self.show_settings()
        self.app.flash(f"agent thinking: {self.thinking or 'from the workflow'}")

    def next_workflow(self) -> None:
        names = [None, *self.door.workflows()]
        i = names.index(self.workflow) if self.workflow in names else 0
        self.workflow = names[(i + 1) % len(names)]
        self.show_settings()
        self.app.flash(f"agent workflow: {self.workflow or 'the default'}")

    def toggle_auto_apply(self) -> None:
        self.auto_apply = not self.auto_apply
        self.show_settings()
        self.app.flash(
            "agent: "
            + (
                "each change is applied as it is made"
                if self.auto_apply
                else "changes wait for review"
            )
        )

    @property
    def door(self) -> Workspace:
        return self.app.workspace

    def _ready(self) -> bool:
        """The door's database and runner start after the first paint."""
        return self.door.db is not None and self.door.runner is not None

    async def cancel(self) -> None:
        running = [run_id for run_id, v in self.chat.runs.items() if not v.finished]
        if not self._ready() or not running:
            self.app.flash("no agent run to cancel")
            return
        for run_id in running:
            await self.door.cancel_run(run_id)
        self.app.flash("cancelling the agent run")

    async def step_thread(self, step: int) -> None:
        """Show the previous (-1) or next (1) thread, with its runs and changesets."""
        if not self._ready():
            return
        threads = [t[0] for t in await self.door.threads()]
        if not threads:
            self.app.flash("no agent threads yet")
            return
        current = self.chat.thread
        if current in threads:
            i = threads.index(current) + step
        else:
            i = len(threads) - 1 if step < 0 else 0
        if not 0 <= i < len(threads):
            self.app.flash("no earlier thread" if step < 0 else "no later thread")
            return
        await self.show_thread(threads[i])

    async def show_latest_thread(self) -> None:
        """Where the user left off: the latest thread, if there is one (quietly if not)."""
        if not self._ready():
            return
        threads = await self.door.threads()
        if threads:
            await self.show_thread(threads[-1][0])

    async def show_thread(self, thread_id: int) -> None:
        door = self.door
        runs = await door.thread_runs(thread_id)
        messages = await door.thread_messages(thread_id)
        chat = self.chat
        await chat.clear()
        chat.thread = thread_id
        self.show_settings()
        for run in runs:
            mine = [m for m in messages if m["run"] == run.id]
            prompt = next(
                (p.get("text", "") for m in mine if m["step"] == 0 for p in m["parts"]), ""
            )
            steps = [m for m in mine if m["step"]]
            meta = f"run {run.id} · {run.model} · {run.workflow_name}"
            orphan = await door.orphaned(run)
            status = f"{run.status} (orphaned)" if orphan else run.status
            view = await chat.show_past_run(run.id, prompt, f"{meta} · {status}", steps)
            view.meta, view.job_id = meta, run.job_id
            if run.status in TERMINAL:
                await self._run_finished(run.id)
            else:
                view.finished = False  # still going (or to be resumed): its events continue
                if orphan:
                    await chat.say(
                        f"run {run.id} stopped when its process did; resume it with "
                        f"`reelcut chat DIR --attach {run.id}`, or Esc here cancels it",
                        "yellow",
                    )
        await self._show_thread_usage(thread_id)
        chat.log_view.scroll_end(animate=False)
        self.app.flash(f"agent thread {thread_id}: {len(runs)} run(s)")

    async def send(self, message: ChatPanel.Send) -> None:
        if not self._ready():
            await self.chat.say("the agent needs the background jobs (still starting?)", "red")
            return
        try:
            run = await self.door.start_run(
                message.text,
                thread=message.thread,
                model=self.model,
                workflow=self.workflow,
                thinking=self.thinking,
                auto_apply=self.auto_apply,
            )
        except ReelcutError as exc:
            await self.chat.say(f"not sent: {exc}", "red")
            self.app.flash(f"agent: {exc}")
            return
        await self._add_run(run, message.text)

    async def on_event(self, event: Event) -> None:
        """A run or changeset event from the project's stream, in the stream's order (the app
        hands them over one message at a time)."""
        with contextlib.suppress(NoMatches):  # the editor is closing
            if event.topic == "run":
                await self._run_event(event)
            else:
                await self._changeset_event(event)

    def job_event(self, event: Event) -> None:
        """A job's event: the chat redraws the line of a job an agent run started."""
        if event.topic != "job":
            return
        with contextlib.suppress(NoMatches):  # the editor is closing
            self.chat.on_job_event(event.data)

    async def _add_run(self, run: Run, prompt: str) -> None:
        """A run this editor started, with the events that came before it was shown."""
        meta = f"run {run.id} · {run.model} · {run.workflow_name}"
        view = await self.chat.add_run(run.id, run.thread_id, prompt, f"{meta} · {run.status}")
        view.job_id, view.meta = run.job_id, meta
        for early in self.chat.take_early(run.id):
            await self._run_event(early)

    async def _run_event(self, event: Event) -> None:
        chat = self.chat
        run_id = int(event.data.get("run", -1))
        if run_id not in chat.runs:
            chat.early.setdefault(run_id, []).append(event)
            return
        await chat.on_run_event(event.kind, event.data)
        view = chat.runs[run_id]
        if event.kind in ("running", "pending", "interrupted"):
            view.set_header(f"{view.meta} · {event.kind}")
        if event.kind in TERMINAL:
            view.finished = True
            await self._run_finished(run_id)

    async def _run_finished(self, run_id: int) -> None:
        if self.door.db is None:
            return
        run = await self.door.run(run_id)
        usage, cost, calls = await self.door.run_usage(run_id)
        changesets = await self.door.run_changesets(run_id)
        view = self.chat.runs[run_id]
        price = f"${cost:.4f}" if cost is not None else "cost unknown"
        view.set_header(
            f"{view.meta} · {run.status} · {calls} calls · {usage.prompt} in / {usage.output} "
            f"out / {usage.thoughts} thinking · {price}"
        )
        for cs in changesets:
            await view.add_card(await self._changeset_view(cs))
        await self._show_thread_usage(run.thread_id)
        self.chat.log_view.scroll_end(animate=False)

    async def _show_thread_usage(self, thread_id: int) -> None:
        if self.door.db is None or self.chat.thread != thread_id:
            return
        _, cost, calls = await self.door.thread_usage(thread_id)
        price = f"${cost:.4f}" if cost is not None else "cost unknown"
        self.chat.show_usage(f"{calls} calls · {price}")

    async def changeset_view(self, cs_id: int) -> ChangesetView:
        """A changeset as its card shows it (for a card proposed by another controller)."""
        return await self._changeset_view(cs_id)

    async def _changeset_view(self, cs_id: int) -> ChangesetView:
        door = self.app.workspace
        cs = await door.changeset(cs_id)
        files = await door.changeset_files(cs_id)
        calls = await door.tool_calls(cs_id)
        diffs = [FileDiff(f.path, f.diff, *diff_stats(f.diff)) for f in files]
        ops = [
            {"summary": c["audit"]["meta"]["summary"], "op": c["audit"]["meta"]["op"]}
            for c in calls
            if c["ok"] and "op" in (c["audit"].get("meta") or {})
        ]
        return ChangesetView(cs_id, cs.status, diffs, ops)

    async def _changeset_event(self, event: Event) -> None:
        cs_id = event.data.get("changeset")
        status = event.data.get("status")
        if cs_id is None or not isinstance(status, str):
            return
        for view in [*self.chat.runs.values(), *self.chat.clients.values()]:
            card = view.cards.get(int(cs_id))
            if card is not None:
                card.refresh_view(status=status)
        author = str(event.data.get("author") or "")
        shown = author in self.chat.clients and int(cs_id) in self.chat.clients[author].cards
        if author.startswith(CLIENT_PREFIX) and (
            event.kind == "proposed" or (event.kind == "ready" and not shown)
        ):
            # Proposed by another program (an MCP client): it waits here for review too, its
            # card drawn again when a later call adds to it.
            await self.chat.add_client_card(author, await self._changeset_view(int(cs_id)))

    async def show_diff(self, cs_id: int) -> None:
        view = await self._changeset_view(cs_id)
        diff = "".join(f.diff for f in view.files)
        self.app.push_screen(DiffScreen(f"Changeset {cs_id}", diff))

    def replay(self, cs_id: int) -> None:
        self.app.run_worker(self._replay(cs_id), group="replay", exclusive=True)

    async def move(self, card: ChangesetCard, *, revert: bool, force: bool) -> None:
        """Apply (or revert) the card's changeset through the door: the session reloads
        project.json and announces it; the panes follow the changeset's file events."""
        cs_id, door = card.view.id, self.app.workspace
        done_word, key = ("reverted", "v") if revert else ("applied", "a")
        try:
            if revert:
                done = await door.revert_changeset(cs_id, force=force)
            else:
                done = await door.apply_changeset(cs_id, force=force)
        except HashMismatch as exc:
            note = (
                f"{exc.path} changed since: expected {(exc.expected or 'no file')[:12]}, found "
                f"{(exc.actual or 'no file')[:12]}; f then {key} to force"
            )
            card.refresh_view(note=note)
            self.app.flash(f"not {done_word}: {exc}")
            return
        except ReelcutError as exc:
            card.refresh_view(note=str(exc))
            self.app.flash(f"not {done_word}: {exc}")
            return
        card.refresh_view(status=done.status, note="")
        self.app.flash(f"changeset {cs_id} {done.status}")
        self.app._refresh()  # the timeline now (the reload's own message comes a moment later)

    async def _replay(self, cs_id: int) -> None:
        """The changeset's timeline operations one by one on the timeline (from the project as
        it was before them), the playhead and the page following each; then back to now.

        A step that does not fit (the changeset was forced over a newer project.json, or a text
        edit in it renamed a clip a later op moves) stops the replay there; the file diff, which
        always holds, is shown instead."""

        door = self.app.workspace
        files = await door.changeset_files(cs_id)
        replay = await door.replay(cs_id)
        if not replay.steps:
            self.app.flash(f"changeset {cs_id} has no timeline operations to replay")
            return
        n = len(replay.steps)
        try:
            for step in replay.steps:
                if step.project is None:
                    break  # it does not fit: the diff below instead
                i, at = step.index, step.frame
                self.app.timeline.set_project(step.project, -i)
                self.replaying = step.project
                await self._page_reload("replay", i)
                if at is not None:
                    self.app.timeline.set_playhead(at)
                    self.app.playback.last_sent = 0.0  # the seek goes now, after the reload
                    self.app.playback.tell_page("seek", at)
                self.app.flash(f"replay {i}/{n}: {step.summary}")
                await asyncio.sleep(REPLAY_STEP)
        finally:
            self.replaying = None
            with contextlib.suppress(Exception):
                await asyncio.shield(self._page_reload("replay-end", 0))
            with contextlib.suppress(NoMatches):
                self.app.timeline.set_project(self.app._view_project(), self.app.session.revision)
                self.app.timeline.set_playhead(self.app.playhead)
        failed = replay.failed
        if failed is None:
            self.app.flash(f"replayed changeset {cs_id}: {n} step(s)")
            return
        self.app.flash(
            f"replay stopped at step {failed.index}/{n}: {failed.error}; showing the file diff"
        )
        self.app.push_screen(DiffScreen(f"Changeset {cs_id}", "".join(f.diff for f in files)))

    async def _page_reload(self, why: str, step: int) -> None:
        """Make the page fetch the project again (a replay step, or the end of one)."""
        if self.app.preview is not None:
            await self.door.publish("project", why, {"step": step})
