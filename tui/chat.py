"""The agent chat panel: a thread of runs, each streaming its answer (thoughts folded away),
its tool calls as one-line cards, and the changeset it made inline as a coloured diff per file
with a readable list of its timeline operations, to apply, revert (with an explicit force
after a hash mismatch), open in full, or replay step by step on the timeline.

The panel only shows and asks: it posts `ChatPanel.Send` and a card's `ApplyRequested`,
`RevertRequested`, `DiffRequested` or `ReplayRequested`, and the app's agent controller does the
work through the project's door; what happens comes back as events from the one stream
(`on_run_event`, `on_changeset_event`). Streamed text is
buffered and drawn at most ten times a second, so the screen does not re-layout on every token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Collapsible, Input, Label, Static

from engine.workspace import PROJECT_FILE
from tui.script_dialogs import diff_text

DRAW_EVERY = 0.1  # seconds between redraws of a streaming answer
JOB_STATES = 200  # jobs whose latest event the panel keeps (see ChatPanel.job_states)
DIFF_LINES = 40  # per file, inline; `d` shows the whole diff


@dataclass
class FileDiff:
    path: str
    diff: str
    added: int
    removed: int


@dataclass
class ChangesetView:
    """What a card shows of a changeset (read by the app from the ledger)."""

    id: int
    status: str
    files: list[FileDiff] = field(default_factory=list)
    ops: list[dict[str, Any]] = field(default_factory=list)  # {"summary", "op"} per timeline call


class ChangesetCard(Vertical, can_focus=True):
    """One changeset, inline; keys act on it."""

    BINDINGS = [
        Binding("a", "apply", "Apply", id="chat.apply"),
        Binding("v", "revert", "Revert", id="chat.revert"),
        Binding("f", "force", "Force next", id="chat.force"),
        Binding("d", "diff", "Full diff", id="chat.diff"),
        Binding("p", "replay", "Replay moves", id="chat.replay"),
    ]

    class Requested(Message):
        """Something asked of one changeset; ``control`` is its card."""

        def __init__(self, card: ChangesetCard) -> None:
            super().__init__()
            self.card = card
            self.changeset_id = card.view.id

        @property
        def control(self) -> ChangesetCard:
            return self.card

    class ApplyRequested(Requested):
        def __init__(self, card: ChangesetCard, *, force: bool) -> None:
            super().__init__(card)
            self.force = force

    class RevertRequested(Requested):
        def __init__(self, card: ChangesetCard, *, force: bool) -> None:
            super().__init__(card)
            self.force = force

    class DiffRequested(Requested):
        """The whole diff, in a screen of its own."""

    class ReplayRequested(Requested):
        """The timeline steps, one by one on the timeline and in the page."""

    def __init__(self, view: ChangesetView) -> None:
        super().__init__(classes="cs-card")
        self.view = view
        self.forcing = False
        self.note = ""

    def compose(self) -> ComposeResult:
        yield Label(self._title(), classes="cs-title")
        for f in self.view.files:
            if f.path == PROJECT_FILE and self.view.ops:
                continue  # the timeline steps below say it better than JSON lines (d shows it)
            lines = f.diff.splitlines()
            shown = "\n".join(lines[:DIFF_LINES])
            if len(lines) > DIFF_LINES:
                shown += f"\n… {len(lines) - DIFF_LINES} more lines (d shows all)"
            yield Static(diff_text(shown), classes="cs-diff")
        if self.view.ops:
            steps = "\n".join(f"{i}. {o['summary']}" for i, o in enumerate(self.view.ops, 1))
            yield Static(Text("Timeline:\n" + steps), classes="cs-ops")
        yield Label(self._keys(), classes="cs-keys")

    def _title(self) -> str:
        files = ", ".join(f"{f.path} +{f.added} -{f.removed}" for f in self.view.files)
        return f"Changeset {self.view.id} · {self.view.status} · {files or 'no files'}"

    def _keys(self) -> str:
        force = "  FORCE is on: the next apply/revert overwrites" if self.forcing else ""
        note = f"  {self.note}" if self.note else ""
        return f"a apply · v revert · f force · d diff · p replay{force}{note}"

    def refresh_view(self, status: str | None = None, note: str | None = None) -> None:
        if status is not None:
            self.view.status = status
        if note is not None:
            self.note = note
        if not self.is_mounted or not self.children:
            return  # drawn again meanwhile (a client's changeset grew): the new card shows it
        self.query_one(".cs-title", Label).update(self._title())
        self.query_one(".cs-keys", Label).update(self._keys())

    def action_force(self) -> None:
        self.forcing = not self.forcing
        self.refresh_view()

    def action_apply(self) -> None:
        self.post_message(self.ApplyRequested(self, force=self._take_force()))

    def action_revert(self) -> None:
        self.post_message(self.RevertRequested(self, force=self._take_force()))

    def action_diff(self) -> None:
        self.post_message(self.DiffRequested(self))

    def action_replay(self) -> None:
        self.post_message(self.ReplayRequested(self))

    def _take_force(self) -> bool:
        """Force applies to the next apply or revert only."""
        force, self.forcing = self.forcing, False
        if force:
            self.refresh_view()
        return force


class RunView(Vertical):
    """One run, in the order things happened: its header, its thoughts (folded), then each
    step's answer text and tool cards, then its changeset cards."""

    def __init__(self, run_id: int, header: str) -> None:
        super().__init__(classes="run-view")
        self.run_id = run_id
        self.header = header
        self.thought = ""
        self.answers: dict[int, str] = {}  # step -> its text so far
        self._answer_widgets: dict[int, Static] = {}
        self._dirty: set[int] = set()
        self._thought_dirty = False
        self.tools: list[Static] = []
        self.jobs: dict[int, Static] = {}
        """A line per job this run's tools started (tts_generate, transcribe, export), by job
        id, redrawn from the stream's job events."""
        self.cards: dict[int, ChangesetCard] = {}
        self.job_id: int | None = None
        self.meta = header
        self.finished = False

    @property
    def answer(self) -> str:
        return "".join(self.answers[k] for k in sorted(self.answers))

    def compose(self) -> ComposeResult:
        yield Label(self.header, classes="run-head")
        with Collapsible(title="Thinking", collapsed=True, classes="run-thoughts"):
            yield Static("", classes="run-thought")

    def on_mount(self) -> None:
        self.query_one(".run-thoughts", Collapsible).display = False
        self.set_interval(DRAW_EVERY, self._draw)

    async def delta(self, step: int, kind: str, text: str) -> None:
        if kind == "thought":
            self.thought += text
            self._thought_dirty = True
            return
        if step not in self._answer_widgets:
            widget = Static("", classes="run-answer")
            self._answer_widgets[step] = widget
            self.answers[step] = ""
            await self.mount(widget)
        self.answers[step] += text
        self._dirty.add(step)

    def restart_step(self, step: int) -> None:
        """A step is asked again: what it streamed so far is void."""
        if step in self.answers:
            self.answers[step] = ""
            self._dirty.add(step)

    def _draw(self) -> None:
        if self._thought_dirty:
            self._thought_dirty = False
            self.query_one(".run-thoughts", Collapsible).display = True
            self.query_one(".run-thought", Static).update(Text(self.thought, style="dim"))
        for step in self._dirty:
            # answers are markdown; drawn as such, at most every DRAW_EVERY seconds
            from rich.markdown import Markdown  # markdown-it loads with the first answer

            self._answer_widgets[step].update(Markdown(self.answers[step]))
        self._dirty.clear()

    def set_header(self, text: str) -> None:
        self.header = text
        self.query_one(".run-head", Label).update(text)

    async def tool(self, data: dict[str, Any]) -> None:
        self._draw()
        if data.get("state") == "called":
            args = str(data.get("args", {}))
            card = Static(Text(f"→ {data['name']} {args[:200]}", style="cyan"), classes="tool")
            self.tools.append(card)
            await self.mount(card)
            return
        result = data.get("result") or {}
        if not self.tools:
            return
        card = self.tools[-1]
        head = str(card.render())
        if result.get("ok"):
            summary = f" · {data['summary']}" if data.get("summary") else ""
            card.update(Text(f"{head}\n  ← ok{summary}", style="cyan"))
        else:
            card.update(Text(f"{head}\n  ← {result.get('error')}", style="yellow"))

    async def started(self, ids: list[int], known: dict[int, dict[str, Any]]) -> None:
        """The jobs a tool call started: a line each, drawn from ``known`` (their latest
        events so far: a job may run before its tool's answer is shown), else queued."""
        for job in ids:
            if job not in self.jobs:
                line = Static(Text(f"  job {job}: queued", style="dim"), classes="tool-job")
                self.jobs[job] = line
                await self.mount(line)
                if job in known:
                    self.job_event(known[job])

    def job_event(self, data: dict[str, Any]) -> None:
        """A job event (`engine.jobs.store.Job.brief`) of one of this run's jobs."""
        line = self.jobs.get(int(data.get("job", -1)))
        if line is None:
            return
        status = str(data.get("status", ""))
        said = f"  job {data['job']} {data.get('kind', '')}: {status}"
        if status == "running":
            said += f" {float(data.get('progress') or 0) * 100:.0f}%"
        if data.get("message") and status != "failed":
            said += f" · {data['message']}"
        if data.get("error") and status in ("failed", "dead", "queued"):
            said += f" · {data['error']}"
        style = {"succeeded": "green", "failed": "red", "dead": "red", "cancelled": "yellow"}
        line.update(Text(said, style=style.get(status, "dim")))

    async def add_card(self, view: ChangesetView) -> ChangesetCard:
        self._draw()
        old = self.cards.get(view.id)
        if old is not None:
            await old.remove()
        card = ChangesetCard(view)
        self.cards[view.id] = card
        await self.mount(card)
        return card


class ChatPanel(Vertical, can_focus=True):
    """The thread, the runs, the prompt (focusing the panel focuses the prompt)."""

    BINDINGS = [
        Binding("ctrl+t", "new_thread", "New thread", id="chat.new_thread"),
        Binding("escape", "screen.agent_cancel", "Cancel run", id="chat.cancel"),
        Binding("tab", "cycle(1)", "Next card", show=False, id="chat.next"),
        Binding("shift+tab", "cycle(-1)", "Previous card", show=False, id="chat.previous"),
    ]

    class Send(Message):
        def __init__(self, text: str, thread: int | None) -> None:
            super().__init__()
            self.text, self.thread = text, thread

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.thread: int | None = None
        self.runs: dict[int, RunView] = {}
        self.job_states: dict[int, dict[str, Any]] = {}
        """The latest event of the most recent `JOB_STATES` jobs, by id (oldest first): a tool's
        jobs may have run before its answer reached the panel."""
        self.clients: dict[str, RunView] = {}  # other programs' changesets, by author
        self.early: dict[int, list[Any]] = {}  # events of a run not shown yet
        self.settings = ""
        self.usage = ""  # the thread's calls and cost so far

    def compose(self) -> ComposeResult:
        yield Label("Agent", id="chat-head")
        yield VerticalScroll(id="chat-log")
        yield Input(placeholder="Ask the agent (Enter sends)", id="chat-input")

    @property
    def log_view(self) -> VerticalScroll:
        return self.query_one("#chat-log", VerticalScroll)

    def on_focus(self) -> None:
        self.query_one("#chat-input", Input).focus()

    def show_settings(self, text: str) -> None:
        self.settings = text
        thread = f"thread {self.thread}" if self.thread is not None else "new thread"
        usage = f" ({self.usage})" if self.usage and self.thread is not None else ""
        self.query_one("#chat-head", Label).update(f"Agent · {thread}{usage} · {text}")

    def show_usage(self, text: str) -> None:
        """The thread's totals (calls, cost) beside its number in the head."""
        self.usage = text
        self.show_settings(self.settings)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            return
        event.input.value = ""
        self.post_message(self.Send(text, self.thread))

    def action_cycle(self, step: int) -> None:
        """Tab: from the prompt to the newest changeset card, on through older ones, and back
        (Shift+Tab the other way)."""
        stops: list[Any] = [self.query_one("#chat-input", Input)]
        stops += list(reversed(list(self.query(ChangesetCard))))
        current = self.app.focused
        i = stops.index(current) if current in stops else 0
        target = stops[(i + step) % len(stops)]
        target.focus()
        if isinstance(target, ChangesetCard):
            target.scroll_visible(animate=False)

    async def action_new_thread(self) -> None:
        await self.clear()
        self.query_one("#chat-input", Input).focus()

    async def clear(self) -> None:
        """An empty log for a new thread (the focus stays where it is)."""
        self.thread = None
        self.usage = ""
        self.runs.clear()
        self.clients.clear()
        self.early.clear()
        await self.log_view.remove_children()
        self.show_settings(self.settings)

    async def say(self, text: str, style: str = "") -> None:
        await self.log_view.mount(Static(Text(text, style=style), classes="chat-line"))
        self.log_view.scroll_end(animate=False)

    async def add_run(self, run_id: int, thread: int, prompt: str, header: str) -> RunView:
        if self.thread != thread:
            self.thread = thread
            self.show_settings(self.settings)
        await self.say(f"You: {prompt}", "bold")
        view = RunView(run_id, header)
        self.runs[run_id] = view
        await self.log_view.mount(view)
        self.log_view.scroll_end(animate=False)
        return view

    async def show_past_run(
        self, run_id: int, prompt: str, header: str, steps: list[dict[str, Any]]
    ) -> RunView:
        """A finished run of an earlier session, from its stored messages: ``steps`` are the
        model turns' parts and the tool results, in order."""
        await self.say(f"You: {prompt}", "bold")
        view = RunView(run_id, header)
        view.finished = True
        self.runs[run_id] = view
        await self.log_view.mount(view)
        for step, message in enumerate(steps, 1):
            for part in message["parts"]:
                if "text" in part and message["role"] == "model":
                    await view.delta(
                        step, "thought" if part.get("thought") else "text", part["text"]
                    )
                call = part.get("function_call")
                if call is not None:
                    await view.tool(
                        {"state": "called", "name": call.get("name"), "args": call.get("args", {})}
                    )
                response = part.get("function_response")
                if response is not None:
                    await view.tool(
                        {
                            "state": "done",
                            "name": response.get("name"),
                            "result": response.get("response"),
                        }
                    )
        view._draw()
        return view

    async def add_client_card(self, author: str, view: ChangesetView) -> ChangesetCard:
        """A changeset another program proposed (an MCP client), under that client's name,
        with the same keys as an agent run's cards (apply, revert, diff, replay)."""
        holder = self.clients.get(author)
        if holder is None:
            holder = RunView(0, f"{author} · proposed from outside reelcut")
            holder.finished = True
            self.clients[author] = holder
            await self.log_view.mount(holder)
        card = await holder.add_card(view)
        self.log_view.scroll_end(animate=False)
        return card

    def take_early(self, run_id: int) -> list[Any]:
        return self.early.pop(run_id, [])

    def on_job_event(self, data: dict[str, Any]) -> None:
        """A job's event: drawn on the run whose tools started that job, if any, and kept as
        the job's latest state (`job_states`)."""
        job = int(data.get("job", -1))
        self.job_states.pop(job, None)
        self.job_states[job] = data
        while len(self.job_states) > JOB_STATES:
            del self.job_states[next(iter(self.job_states))]
        for view in self.runs.values():
            if int(data.get("job", -1)) in view.jobs:
                view.job_event(data)

    async def on_run_event(self, kind: str, data: dict[str, Any]) -> None:
        view = self.runs.get(int(data.get("run", -1)))
        if view is None:
            return
        if kind == "streaming":
            for key in ("thought", "text"):
                if key in data:
                    await view.delta(int(data.get("step", 0)), key, data[key])
        elif kind == "retrying":
            view.restart_step(int(data.get("step", 0)))
            await self.say(
                f"retrying in {data['wait']:.1f} s (attempt {data['attempt']}): {data['reason']}",
                "yellow",
            )
        elif kind == "tools":
            await view.tool(data)
            if data.get("jobs"):
                await view.started([int(j) for j in data["jobs"]], self.job_states)
        elif kind == "error":
            await self.say(f"error: {data.get('error')}", "red")
        elif kind == "cancelled":
            await self.say("cancelled", "yellow")
        elif kind == "interrupted":
            await self.say("(the run was interrupted; resuming)", "yellow")
        self.log_view.scroll_end(animate=False)
