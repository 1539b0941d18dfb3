"""The reelcut editor (Textual): the main screen and keyboard-only cutting.

The app is a client of the `Session` it is given (the CLI opens it, taking the writer lock).
Widgets never touch the project: keys and the timeline's requests become session calls, run
one at a time on a worker thread (a save fsyncs), and the new project comes back down to the
widgets. An edit the engine refuses shows its one-line reason in the status bar.

Navigation state (the playhead, the selection, the current track, the zoom) lives here while
you work and is written to project.json's editor state a second after it stops changing, and on
quit (`tui/disk_sync.py`). The app is the holder of its project's door
(`engine.workspace.Workspace`): every change, its own and those other processes send through the
control socket (`engine.control`), runs there one at a time, and every committed change comes
back as a `ProjectChanged` message, so an edit made with `reelcut edit` in another terminal
shows at once and undoes here. Only edits made by other programs (a text editor on project.json)
are found by a poll of the file's status. The jobs, the preview server and the door start after
the first paint (`tui/services.py`); the project's event stream arrives as `EngineEvent`s.

Regions: the project tree and the script panes (`tui/project_tree.py`, `tui/scripts.py`), the
agent chat (`tui/chat.py`, driven from `tui/agent_actions.py`) and the timeline; F6 / Shift+F6
move the focus between them. The playhead, playback and the preview page's side of them are in
`tui/playback.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen

from engine.model import Project
from engine.timebase import format_timecode
from engine.workspace import PROJECT_FILE, Change, Event, ReelcutError, Session, Workspace
from tui.agent_actions import AgentController
from tui.disk_sync import DiskSync
from tui.finder import FileCommands
from tui.generation import Generations
from tui.keymap_presets import preset_keys
from tui.keys import display, load_key_config
from tui.navigate import find_clip
from tui.output_pacing import install as install_output_pacing
from tui.playback import Playback
from tui.project_tree import ProjectTree
from tui.scripts import ScriptPanes
from tui.services import Services
from tui.span_writes import install as install_span_writes
from tui.terminal_graphics import Graphics
from tui.terminal_graphics import detect as detect_graphics
from tui.timeline.widget import TimelineView
from tui.tmux_settings import check as check_tmux_settings

if TYPE_CHECKING:
    from preview_web.server import PreviewServer

# Installed from a wheel the stylesheets are tui/styles/; in a checkout, styles/ at the top.
_HERE = Path(__file__).resolve().parent
STYLES = _HERE / "styles" if (_HERE / "styles").is_dir() else _HERE.parent / "styles"
POLL_DISK_EVERY = 1.0  # seconds between looks for changes made outside (`DiskSync.poll`)
QUIT_AGAIN_WITHIN = 3.0


def run_editor(app: ReelcutApp, **run_args: Any) -> int:
    """Run the editor as ``reelcut open`` does; its exit status.

    First everything loaded so far (the modules, the session's project) moves to the cycle
    collector's permanent generation: it lives as long as the editor, and otherwise every full
    collection would walk those ~45,000 objects again, a 20-35 ms pause each time (one during
    start-up, one at exit, more while editing).
    """
    # Partly changed lines are written from their dirty span only (Textual issue #5625). Done
    # here, not when the module is imported, so importing the editor changes nothing in Textual.
    install_span_writes()
    install_output_pacing()  # a repaint waits while the last one is queued (slow links)
    if not run_args.get("headless"):  # no terminal to ask (or to draw on) when headless
        app.graphics = detect_graphics()  # asked before Textual reads its input
    gc.freeze()
    app.run(**run_args)
    return app.return_code or 0


class ReelcutApp(App[int]):
    """The editor on one open session."""

    TITLE = "reelcut"
    COMMANDS = App.COMMANDS | {FileCommands}
    CSS_PATH = [STYLES / "app.tcss"]
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True, id="app.quit")]

    class ProjectChanged(Message):
        """A change committed through the door (from any client); sent from the thread that
        made it."""

        def __init__(self, change: Change) -> None:
            super().__init__()
            self.change = change

    # The navigation state and what the status line says: each change redraws what shows it
    # (their watchers), so nothing has to remember to. None repaints the app: an app
    # reactive's default repaint is the whole screen, and the playhead changes 30 times a
    # second while playing (the terminal was sent every cell of the screen for each frame,
    # `bench/bench_terminal_output.py`).
    playhead: reactive[int] = reactive(0, init=False, repaint=False)
    selection: reactive[tuple[str, ...]] = reactive((), init=False, repaint=False)
    track_index: reactive[int] = reactive(0, init=False, repaint=False)
    message: reactive[str] = reactive("", init=False, repaint=False)
    preview_text: reactive[str] = reactive("preview: off", init=False, repaint=False)
    pages_open: reactive[int] = reactive(0, init=False, repaint=False)  # pages holding the stream
    job_text: reactive[str] = reactive("", init=False, repaint=False)
    playing: reactive[int] = reactive(0, init=False, repaint=False)  # the speed, as shown
    graphics: Graphics | None = None
    """How the picture viewer draws (`tui.terminal_graphics.detect`); half-block when None."""

    def __init__(self, session: Session, *, background_jobs: bool = True) -> None:
        super().__init__()
        self.session = session
        self.workspace = Workspace(session.dir.root, session)
        self.control: Any = None  # the door's control server, once the jobs have started
        self.background_jobs = background_jobs
        self.jobs_started = False  # the workspace's database, stream and runner (after paint)
        ed = session.project.editor
        self.set_reactive(ReelcutApp.playhead, ed.playhead)
        self.set_reactive(ReelcutApp.selection, ed.selection)
        if ed.selection and (found := find_clip(session.project, ed.selection[0])):
            # The current track is the selection's, not V1's, when the editor reopens.
            self.set_reactive(ReelcutApp.track_index, found[0])
        keys = load_key_config()
        self._keymap = keys.keymap
        self.key_preset = keys.preset
        """The keymap file's layout (`tui.keymap_presets`); "reelcut" is the default."""
        self.keys = preset_keys(keys.preset)
        """The editor's keys in that layout: its bindings, the help and the palette."""
        self.preview: PreviewServer | None = None
        self._quit_asked = float("-inf")
        self.playback = Playback(self)
        self.agent = AgentController(self)
        self.services = Services(self)
        self.generations = Generations(self)
        self.disk = DiskSync(self)

    # -- lifecycle -------------------------------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        from tui.editor_screen import EditorScreen

        """The editor is the base of the screen stack, so it is composed and sized with the
        app (a screen pushed on top of Textual's default one is laid out twice at start)."""
        self.editor = EditorScreen(
            self.session.dir.root, self._view_project(), self.session.revision, keys=self.keys
        )
        return self.editor

    @property
    def _edit_lock(self) -> asyncio.Lock:
        """The door's: one change at a time, whichever client asked for it."""
        return self.workspace.writing

    def on_mount(self) -> None:
        self._unsubscribe = self.session.subscribe(self._committed)
        if self._keymap:
            self.set_keymap(self._keymap)
        self.sub_title = self.session.project.name
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self._on_sigterm)

    def on_ready(self) -> None:
        timeline = self.timeline
        ed = self.session.project.editor
        timeline.set_project(self._view_project(), self.session.revision)
        timeline.zoom_to(ed.frames_per_cell)
        timeline.set_playhead(self.playhead)
        timeline.focus()
        self.set_interval(POLL_DISK_EVERY, self.disk.poll)
        self.run_worker(self.editor.query_one(ProjectTree).reload(), group="tree")
        self.set_interval(0.25, self.disk.maybe_save_state)
        self.playback.timer = self.set_interval(1 / 30, self.playback.tick, pause=True)
        self._show_status()
        if self.background_jobs:
            self.run_worker(self.services.start(), exclusive=True, group="jobs")
        self.services.load_waveforms()
        self.services.load_thumbnails()
        self.agent.show_settings()
        self.run_worker(self._say_tmux_settings(), group="tmux")

    async def _say_tmux_settings(self) -> None:
        """Once, at start: the tmux settings that break keys or pictures (`tui.tmux_settings`)
        on the status line, until the next message replaces it. A headless app (tests) has no
        terminal of its own to warn about, even when run inside tmux."""
        if self.is_headless:
            return
        line = await asyncio.to_thread(check_tmux_settings)
        if line:
            self.flash(line)

    def _committed(self, change: Change) -> None:
        """A session listener: runs in whichever thread committed the change."""
        self.post_message(self.ProjectChanged(change))

    def on_reelcut_app_project_changed(self, message: ProjectChanged) -> None:
        """Show a committed change (the app's own `_session_call` has shown it already)."""
        with contextlib.suppress(NoMatches):
            if self.timeline._revision != message.change.revision:
                self._refresh()
        if message.change.kind == "import":
            self.services.load_thumbnails()
            self.services.load_waveforms()
        self.editor.cutting.project_changed()  # the media bin, when it shows
        if self.jobs_started and message.change.kind in ("edit", "undo", "redo"):
            self.generations.refresh()  # a take placed, landed or undone

    async def on_unmount(self) -> None:
        await self.services.stop()

    def _on_sigterm(self) -> None:
        self.run_worker(self.action_quit(force=True))

    async def action_quit(self, force: bool = False) -> None:
        """Quit; with unsaved script edits only when asked twice (a second Ctrl+Q within a
        few seconds)."""
        unsaved = [] if force else self.editor.query_one(ScriptPanes).unsaved()
        now = time.monotonic()
        if unsaved and now - self._quit_asked > QUIT_AGAIN_WITHIN:
            self._quit_asked = now
            names = ", ".join(unsaved)
            self.flash(
                f"unsaved changes in {names}: Ctrl+S saves; Ctrl+Q again within "
                f"{QUIT_AGAIN_WITHIN:.0f} s quits without them"
            )
            return
        await self.disk.save_state()
        self.exit(0)

    @property
    def timeline(self) -> TimelineView:
        return self.editor.query_one("#timeline", TimelineView)

    @property
    def project(self) -> Project:
        return self.session.project

    # -- the command palette ---------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for key in self.keys:
            # What a person can use: the key, not the action's internal name (issue 19).
            shown = f"Key: {display(key.keys)}" if key.keys else "No key: from here only"
            yield SystemCommand(
                f"{key.area}: {key.title}", shown, self._palette_callback(key.action)
            )

    def _palette_callback(self, action: str) -> Callable[[], Any]:
        async def run() -> None:
            await self.run_action(f"screen.{action}")  # the editor's keys are its screen's

        return run

    # -- state down to the widgets ---------------------------------------------------------

    def _view_project(self) -> Project:
        """The session's project with this screen's live playhead and selection."""
        p = self.session.project
        ed = msgspec.structs.replace(p.editor, playhead=self.playhead, selection=self.selection)
        return msgspec.structs.replace(p, editor=ed)

    def _refresh(self) -> None:
        with contextlib.suppress(NoMatches):  # an edit that lands as the editor closes
            self._refresh_now()

    def _refresh_now(self) -> None:
        p = self.session.project
        known = {c.id for t in p.tracks for c in t.clips}
        self.selection = tuple(c for c in self.selection if c in known)
        self.track_index = min(self.track_index, max(0, len(p.tracks) - 1))
        self.timeline.set_project(self._view_project(), self.session.revision)
        self._show_status()

    def _show_status(self) -> None:
        with contextlib.suppress(NoMatches):  # the screen is going away (a late message)
            self._show_status_now()

    def _show_status_now(self) -> None:
        p = self.session.project
        parts = [
            format_timecode(self.playhead, p.rate),
            f"{self.timeline.frames_per_col}f/col",
            f"snap {'on' if p.editor.snapping else 'off'}",
            f"tool {p.editor.tool}",
        ]
        if p.tracks:
            # Clamped here too: the status can be drawn (a message, the selection) before
            # `_refresh_now` clamps the index after an undo that removed the last track.
            parts.append(f"track {p.tracks[min(self.track_index, len(p.tracks) - 1)].name}")
        if self.selection:
            parts.append(
                f"sel {', '.join(self.selection[:3])}" + ("..." if len(self.selection) > 3 else "")
            )
        if p.editor.mark_in is not None or p.editor.mark_out is not None:
            i = "--" if p.editor.mark_in is None else format_timecode(p.editor.mark_in, p.rate)
            o = "--" if p.editor.mark_out is None else format_timecode(p.editor.mark_out, p.rate)
            parts.append(f"in {i} out {o}")
        if speed := self.playing:
            parts.append(f"{'▶' if speed > 0 else '◀'} {abs(speed)}x")
        parts.extend(self.editor.status_parts())  # patching, source marks, trim mode
        pages = self.pages_open
        shown = "" if not pages else " (page connected)" if pages == 1 else f" ({pages} pages)"
        if self.job_text:
            parts.append(self.job_text)
        line = "  ".join(parts)
        if self.message:
            line = f"{self.message}  |  {line}"
        # One line, always (its CSS), the preview's state kept whole at its right end.
        self.editor.show_status(line, self.preview_text + shown)

    def flash(self, text: str) -> None:
        self.message = text

    def _watch_status(self) -> None:
        self._show_status()

    watch_track_index = watch_message = watch_preview_text = _watch_status
    watch_pages_open = watch_job_text = watch_playing = _watch_status

    def watch_playhead(self, frame: int) -> None:
        with contextlib.suppress(NoMatches):
            self.timeline.set_playhead(frame)
        self.disk.state_changed()
        self._show_status()

    def watch_selection(self, ids: tuple[str, ...]) -> None:
        with contextlib.suppress(NoMatches):
            self.timeline.set_project(self._view_project(), self.session.revision)
        self.disk.state_changed()
        self._show_status()

    # -- edits through the session ---------------------------------------------------------

    async def _session_call(self, fn: Callable[[], Change | None], what: str) -> Change | None:
        """Run one session call on a worker thread, one at a time; refusals go to the status
        bar as their one-line reason."""
        refused: str | None = None
        async with self._edit_lock:
            try:
                change = await asyncio.to_thread(fn)
            except ReelcutError as exc:
                refused = f"{what}: {exc}"
        if refused is not None:
            # Refused because project.json changed on disk meanwhile? Then follow the disk now
            # (the next key works), instead of at the next poll or never.
            if await self.disk.poll(force=True):
                refused = f"{what}: not done, {PROJECT_FILE} had changed on disk; reloaded it"
            self.flash(refused)
            return None
        self.message = change.summary if change is not None else f"nothing to {what}"
        self._refresh()
        return change

    # -- reads the screen and the controllers use ----------------------------------

    @property
    def project_root(self) -> Path:
        return self.session.dir.root

    @property
    def speed(self) -> int:
        return self.playback.speed

    def seek(self, frame: int) -> None:
        self.playback.seek(frame)

    # -- the project's event stream --------------------------------------------------------

    class EngineEvent(Message):
        """An event of the project's stream, handed to the app in the stream's order."""

        def __init__(self, event: Event) -> None:
            super().__init__()
            self.event = event

    class Progress(EngineEvent):
        """A job's progress, or the frame the page shows: only the latest one matters, so a
        newer one replaces one not handled yet."""

        def can_replace(self, message: Message) -> bool:
            if not isinstance(message, ReelcutApp.Progress):
                return False
            mine, theirs = self.event, message.event
            return (mine.topic, mine.kind, mine.data.get("job")) == (
                theirs.topic,
                theirs.kind,
                theirs.data.get("job"),
            )

    def post_engine_event(self, event: Event) -> None:
        """The stream's listener (on the app's loop): the event becomes a message."""
        replaceable = (event.topic == "job" and event.kind == "progress") or (
            event.topic == "playback" and event.kind == "shown" and not event.data.get("hello")
        )
        self.post_message((self.Progress if replaceable else self.EngineEvent)(event))

    async def on_reelcut_app_progress(self, message: Progress) -> None:
        await self.on_reelcut_app_engine_event(message)

    async def on_reelcut_app_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        if event.topic in ("run", "changeset"):
            await self.agent.on_event(event)
            return
        if event.topic == "project" and event.kind == "file":
            # an applied changeset (or a save): panes and tree now, not at the next poll
            if event.data.get("from") != "editor":
                self.run_worker(self.disk.files_changed(), group="files-changed")
            return
        if event.topic == "playback" and event.kind == "shown":
            self.playback.page_shown(int(event.data.get("frame", 0)), bool(event.data.get("hello")))
            return
        if event.topic == "playback" and event.kind == "pages":
            # A tab opened or closed (or the connection dropped): the status line says so now.
            self.pages_open = int(event.data.get("count", 0))
            return
        self.generations.job_event(event)
        self.agent.job_event(event)  # the jobs an agent run started, in the chat
        self.services.job_event(event)
        self.editor.cutting.job_event(event)  # derivatives building, in the media bin
