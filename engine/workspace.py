"""The one door of an open project: every change to it, from any client, goes through here.

A `Workspace` is made around the `Session` of the process that holds the project (its writer
lock): the editor, ``reelcut serve``, or a command that opened the project on its own. It owns,
for that project, the session, the state database, the event stream, the changeset ledger and
(when the holder runs one) the job runner, and it is the only writer of project.json: timeline
edits, undo and redo, imports, changesets applied or reverted and tool calls all run here, one
at a time (`writing`), with the session's calls on a worker thread. A changeset applied by
anyone in this process (the agent's auto-apply included) is picked up from its event on the
stream: the session reloads project.json and announces the revision, so no client polls the
disk for reelcut's own writes.

`call(method, params)` is the door's one entrance for requests: the control socket
(`engine.control`) serves it to other processes, and a command that opens the project itself
calls the same function, so a command's output and exit status are the same either way.
Results are JSON values; refusals are `ReelcutError`s.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.changes.ledger import HashMismatch, Ledger
from engine.changes.store import Changeset, FileChange
from engine.control import ControlServer
from engine.errors import ReelcutError, UsageError
from engine.events import Event, EventStream
from engine.jsoncheck import Problem
from engine.model import Project, SourceMarks
from engine.projectfile import PROJECT_FILE
from engine.requests import METHODS
from engine.scripts import (
    FileConflict,
    FileExists,
    NotAScript,
    NotText,
    create_text,
    current_hash,
    delete_text,
    read_text,
    rename_text,
    save_text,
    script_files,
)
from engine.session import Change, Session
from engine.state.adb import AsyncDB
from engine.textdiff import diff_stats, unified_diff

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

    from engine.agent.store import Run
    from engine.changes.replay import Replay
    from engine.lock import WriterLock
    from engine.media.display import Peaks, Tiles
    from engine.media.status import AssetStatus as AssetStatus
    from engine.media.still import FramePicture as FramePicture

# An agent run's end states (engine.agent.store.TERMINAL, said without importing the agent).
RUN_ENDS = ("complete", "error", "cancelled")

# What front ends use of the door's types, from the door (so they import only this module).
__all__ = [
    "PROJECT_FILE",
    "RUN_ENDS",
    "Change",
    "Changeset",
    "Event",
    "FileChange",
    "FileConflict",
    "FileExists",
    "HashMismatch",
    "NotAScript",
    "NotText",
    "Problem",
    "ReelcutError",
    "Run",
    "Session",
    "Workspace",
    "diff_stats",
    "script_files",
    "unified_diff",
]


class Workspace:
    """One open project, for every client of it.

    Made around the holder's session; a command that only reviews, applies or reverts
    changesets makes one without a session (holding the writer lock itself), because those
    must work while project.json is broken."""

    def __init__(
        self, root: Path, session: Session | None = None, *, lock: WriterLock | None = None
    ) -> None:
        self._session = session
        self._lock = lock  # held by a holder without a session: one opens on the first edit
        self.root = Path(root)
        self.db: AsyncDB | None = None
        self.events: EventStream | None = None
        self.runner: Any = None  # engine.jobs.Runner, when the holder runs jobs
        self._ledger: Ledger | None = None
        self._owned: list[Callable[[], Awaitable[None]]] = []
        self._writing: asyncio.Lock | None = None
        self._unlisten: Callable[[], None] | None = None
        self.progress: dict[int, float] = {}  # the latest progress of each job seen running
        self._reloads: set[asyncio.Task[None]] = set()

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def session(self) -> Session:
        """The timeline's session; a holder that runs without one (`reelcut chat`, `reelcut
        jobs run`) opens it under its lock on the first request that needs it."""
        if self._session is None and self._lock is not None and self._lock.held:
            self._session = Session(self.root, author="cli", lock=self._lock)
            self._owned.append(self._close_session)
        if self._session is None:
            raise ReelcutError("this request needs the project's session, which is not open")
        return self._session

    async def _close_session(self) -> None:
        if self._session is not None:
            self._session.close()

    @property
    def has_session(self) -> bool:
        return self._session is not None

    @property
    def project(self) -> Project:
        return self.session.project

    @property
    def revision(self) -> int | None:
        return self._session.revision if self._session is not None else None

    @property
    def writing(self) -> asyncio.Lock:
        """Held for every change: the session is used by one call at a time."""
        if self._writing is None:
            self._writing = asyncio.Lock()
        return self._writing

    def attach(self, db: AsyncDB, events: EventStream, runner: Any = None) -> None:
        """Use the holder's database, stream and runner (the editor starts them after its
        first paint). Changesets applied in this process reload the session from then on."""
        self.db, self.events, self.runner = db, events, runner
        self._unlisten = events.listen(self._on_event)

    async def services(self) -> tuple[AsyncDB, EventStream]:
        """The database and the stream, opened here when no holder attached them."""
        if self.db is None or self.events is None:
            db = await AsyncDB.open(self.root / ".reelcut")
            events = EventStream(db)
            await events.start()
            self.attach(db, events)
            self._owned.append(events.close)
            self._owned.append(db.close)
        assert self.db is not None and self.events is not None
        return self.db, self.events

    async def start_jobs(
        self, project: Project, on_event: Callable[[Event], None] | None = None
    ) -> None:
        """The holder's background work: the database, the stream (its events to
        ``on_event``), and a runner for media derivatives (missing or stale ones queued now)
        and for the agent runs this holder starts or resumes. The agent's modules load off the
        event loop: the editor starts this after its first paint and goes on drawing."""
        from engine.jobs import Runner, media

        db = await AsyncDB.open(self.root / ".reelcut")
        events = EventStream(db)
        await events.start()
        unlisten = events.listen(on_event) if on_event is not None else None
        agent_run = await asyncio.to_thread(importlib.import_module, "engine.agent.run")
        export = await asyncio.to_thread(importlib.import_module, "engine.export.render")
        handlers = {
            **media.handlers(),
            **agent_run.handlers(db, events, door=self),  # the job tools go through the door
            **export.handlers(db, events),
        }
        limits = {**media.limits(), agent_run.KIND: 2, **export.limits()}
        from engine.tts import jobs as tts

        handlers.update(tts.handlers(self))
        limits[tts.KIND] = tts.limit()
        from engine.transcripts import jobs as transcribe

        transcribe.register(self, handlers, limits)
        runner = Runner(
            db, events, self.root, handlers, limits, adopted_only=frozenset({agent_run.KIND})
        )
        self.attach(db, events, runner)

        async def stop() -> None:
            if unlisten is not None:
                unlisten()  # the screen is going away: tell it nothing more
            await runner.stop()  # running jobs go back to the queue

        self._owned += [stop, events.close, db.close]
        if await media.queue_derivatives(db, self.root, project):
            events.committed()
        await runner.start()

    async def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = await Ledger.open(self.root)
        return self._ledger

    async def close(self) -> None:
        from engine.tts.landing import settled

        with contextlib.suppress(Exception):
            await settled(self)  # the takes made: on the timeline before the door shuts
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self._ledger is not None:
            await self._ledger.close()
            self._ledger = None
        for close in self._owned:
            with contextlib.suppress(Exception):
                await close()
        self._owned.clear()

    # -- the one entrance ------------------------------------------------------------------

    async def call(self, name: str, params: dict[str, Any]) -> Any:
        handler = METHODS.get(name)
        if handler is None:
            raise UsageError(f"the door has no request {name!r}; it takes {', '.join(METHODS)}")
        return await handler(self, params)

    # -- changes ---------------------------------------------------------------------------

    async def change(self, fn: Callable[[], Change | None]) -> Change | None:
        """Run one session call on a worker thread, after every other change."""
        async with self.writing:
            return await asyncio.to_thread(fn)

    def source_marks(self) -> dict[str, SourceMarks]:
        """Each bin item's source playhead and marks, as saved (`engine.source_marks`)."""
        return self.session.source_marks()

    async def save_source_marks(self, marks: Iterable[SourceMarks]) -> None:
        """Save the source marks in the state database (not an edit: no undo step, no
        revision), after every other change."""
        session = self.session
        async with self.writing:
            await asyncio.to_thread(session.set_source_marks, marks)

    async def reload(self) -> Change | None:
        """Pick up project.json when something in this process changed it (a changeset)."""
        if self._session is None:
            return None
        return await self.change(self._session.reload)

    def _on_event(self, event: Event) -> None:
        if event.topic == "changeset" and event.kind in ("applied", "reverted"):
            paths = event.data.get("paths")
            if paths is None or PROJECT_FILE in paths:
                task = asyncio.ensure_future(self._reload_quietly())
                self._reloads.add(task)
                task.add_done_callback(self._reloads.discard)

    async def _reload_quietly(self) -> None:
        with contextlib.suppress(ReelcutError):  # a broken file: the session keeps its project
            await self.reload()

    async def apply_changeset(self, changeset_id: int, *, force: bool = False) -> Changeset:
        ledger = await self.ledger()
        async with self.writing:
            done = await ledger.apply(changeset_id, force=force)
        await self._after_changeset(changeset_id)
        return done

    async def revert_changeset(self, changeset_id: int, *, force: bool = False) -> Changeset:
        ledger = await self.ledger()
        async with self.writing:
            done = await ledger.revert(changeset_id, force=force)
        await self._after_changeset(changeset_id)
        return done

    async def _after_changeset(self, changeset_id: int) -> None:
        files = await self.changeset_files(changeset_id)
        if any(f.path == PROJECT_FILE for f in files):
            with contextlib.suppress(ReelcutError):
                await self.reload()

    # -- typed reads (what front ends show) --------------------------------------------------

    async def changeset(self, changeset_id: int) -> Changeset:
        return await (await self.ledger()).get(changeset_id)

    async def changeset_files(self, changeset_id: int) -> list[FileChange]:
        return await (await self.ledger()).store.files(changeset_id)

    async def tool_calls(self, changeset_id: int) -> list[dict[str, Any]]:
        return await (await self.ledger()).store.tool_events(changeset_id)

    async def replay(self, changeset_id: int) -> Replay:
        """A changeset's timeline steps from the project as it was before them."""
        from engine.changes.replay import replay_steps

        files = await self.changeset_files(changeset_id)
        return replay_steps(changeset_id, files, await self.tool_calls(changeset_id))

    @staticmethod
    def agent_choices() -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The models and thinking levels the agent offers."""
        from engine.agent import run

        return run.MODELS, run.THINKING_LEVELS

    def workflows(self) -> list[str]:
        from engine.workflows import list_workflows

        return list_workflows(self.root)

    async def file_saved(self, rel: str, sha256: str | None) -> None:
        """Tell the stream a front end saved a project file (pages recompile a manifest)."""
        from engine.events import publish_file_changed

        if self.events is not None:
            await publish_file_changed(self.events, rel, sha256, "editor")

    async def publish(self, topic: str, kind: str, data: dict[str, Any]) -> None:
        if self.events is not None:
            await self.events.publish(topic, kind, data)  # type: ignore[arg-type]

    async def open_door(
        self, on_request: Callable[[str, dict[str, Any], Any], None] | None = None
    ) -> ControlServer:
        """Serve other processes' requests on the project's control socket; the server (its
        ``stop()`` closes it)."""
        server = ControlServer(self, on_request=on_request)
        await server.start()
        return server

    # -- script files (the panes' reads and saves) -------------------------------------------

    async def list_scripts(self) -> list[str]:
        """The project's text files a person edits, sorted (`engine.scripts.script_files`)."""
        return await asyncio.to_thread(script_files, self.root)

    async def read_script(self, rel: str) -> tuple[str, str]:
        """The text of the project file ``rel`` and the sha256 of its bytes (the hash to save
        it over). `NotText` for a binary, non-UTF-8 or huge file; a `ReelcutError` for a path
        that leaves the project or names no file."""
        return await asyncio.to_thread(read_text, self.root, rel)

    async def script_hash(self, rel: str) -> str | None:
        """The sha256 of the file ``rel`` as it is now, or None when there is none."""
        return await asyncio.to_thread(current_hash, self.root, rel)

    async def save_script(
        self, rel: str, text: str, base_hash: str | None, *, announce: bool = True
    ) -> str:
        """Write ``text`` to the script ``rel`` (atomically) if the file still hashes to
        ``base_hash`` (None: it must not exist yet); return the new hash.

        `FileConflict` (nothing written) when the file moved on since it was read; `NotAScript`
        for project.json, media folders and names without a text suffix. Written after every
        other change (`writing`); the stream hears of it (`file_saved`) unless ``announce`` is
        false, for a client that announces its saves itself (the editor does, when its panes
        say `Saved`)."""
        async with self.writing:
            digest = await asyncio.to_thread(save_text, self.root, rel, text, base_hash)
        if announce:
            await self.file_saved(rel, digest)
        return digest

    async def create_script(self, rel: str, text: str = "") -> str:
        """A new script ``rel`` holding ``text`` (folders on the way made); its hash.
        `FileExists` when the name is taken, `NotAScript` outside the script area."""
        async with self.writing:
            digest = await asyncio.to_thread(create_text, self.root, rel, text)
        await self.file_saved(rel, digest)
        return digest

    async def rename_script(self, old: str, new: str, base_hash: str) -> None:
        """Move the script ``old`` to ``new`` if it still hashes to ``base_hash``.
        `FileConflict` if it changed or is gone, `FileExists` if ``new`` is taken."""
        async with self.writing:
            await asyncio.to_thread(rename_text, self.root, old, new, base_hash)
        await self.file_saved(old, None)
        await self.file_saved(new, base_hash)

    async def delete_script(self, rel: str, base_hash: str) -> None:
        """Remove the script ``rel`` if it still hashes to ``base_hash``; `FileConflict`
        (the file left alone) if it changed or is already gone."""
        async with self.writing:
            await asyncio.to_thread(delete_text, self.root, rel, base_hash)
        await self.file_saved(rel, None)

    async def check_script(self, rel: str, text: str) -> Problem | None:
        """The first problem in ``text`` as the contents of ``rel`` (strict JSON, the formats
        reelcut reads: `engine.filechecks.check_text`), or None. Off the event loop: a
        schema check of a long file takes a while."""
        from engine.filechecks import check_text

        return await asyncio.to_thread(check_text, rel, text)

    @staticmethod
    async def merge_texts(base: str, mine: str, theirs: str) -> str | None:
        """Both sides' edits on ``base`` (a line-based three-way merge,
        `engine.textmerge.merge3`), or None when they overlap or touch."""
        from engine.textmerge import merge3

        return await asyncio.to_thread(merge3, base, mine, theirs)

    # -- derivatives for display (filmstrips, waveforms) ---------------------------------------

    async def waveform_peaks(self, project: Project) -> dict[str, Peaks]:
        """The loudness over time of every asset of ``project`` whose peaks file is built, by
        asset id (`engine.media.display.waveform_peaks`, read on a worker thread)."""
        from engine.media import display

        return await asyncio.to_thread(display.waveform_peaks, self.root, project)

    async def filmstrip_tiles(
        self, project: Project, known: Collection[str] = (), *, height: int | None = None
    ) -> dict[str, Tiles]:
        """The thumbnails of every video or image asset of ``project`` whose strip is built,
        shrunk to ``height`` pixel rows (``display.TILE_HEIGHT`` by default), by asset id;
        the assets in ``known`` are left out (`engine.media.display.filmstrip_tiles`, decoded by
        ffmpeg on a worker thread)."""
        from engine.media import display

        rows = display.TILE_HEIGHT if height is None else height
        return await asyncio.to_thread(
            display.filmstrip_tiles, self.root, project, frozenset(known), rows
        )

    async def frame_picture(
        self, project: Project, frame: int, width: int, height: int
    ) -> FramePicture:
        """What the page shows at timeline ``frame`` of ``project``, as ``width`` x ``height``
        RGB pixels decoded from the proxies, and a line saying what it is (the terminal
        viewer's picture: `engine.media.still.frame_picture`, on a worker thread)."""
        from engine.media import still

        return await asyncio.to_thread(
            still.frame_picture, self.root, project, frame, width, height
        )

    # -- the media bin: the state of each asset's file, relink ---------------------------------

    async def media_status(self, project: Project) -> dict[str, AssetStatus]:
        """Each asset of ``project`` by id: its file (there, missing, changed) and which of its
        derivatives are built (`engine.media.status.media_status`, on a worker thread)."""
        from engine.media import status

        return await asyncio.to_thread(status.media_status, self.root, project)

    async def relink(self, asset_id: str, source: Path) -> str:
        """Point asset ``asset_id`` at the file ``source``: the same bytes put its missing file
        back, other bytes become its media as one undoable edit (refused, with nothing
        written, when they cannot stand in); a one-line summary (the door's ``relink``
        request, `engine.requests`)."""
        out = await self.call("relink", {"asset": asset_id, "file": str(Path(source))})
        return str(out["summary"])

    # -- the agent (typed reads and the runs this holder starts) -------------------------------

    def _db(self) -> AsyncDB:
        if self.db is None:
            raise ReelcutError("the project's database is not open yet (still starting?)")
        return self.db

    async def threads(self) -> list[tuple[int, str, float]]:
        from engine.agent import store

        return await self._db().read(store.threads)

    async def thread_runs(self, thread_id: int) -> list[Run]:
        from engine.agent import store

        return await self._db().read(lambda c: store.runs(c, thread_id))

    async def thread_messages(self, thread_id: int) -> list[dict[str, Any]]:
        from engine.agent import store

        return await self._db().read(lambda c: store.messages(c, thread_id))

    async def run(self, run_id: int) -> Run:
        from engine.agent import store

        return await self._db().read(lambda c: store.get_run(c, run_id))

    async def run_usage(self, run_id: int) -> tuple[Any, float | None, int]:
        from engine.agent import store

        return await self._db().read(lambda c: store.run_usage(c, run_id))

    async def thread_usage(self, thread_id: int) -> tuple[Any, float | None, int]:
        from engine.agent import store

        return await self._db().read(lambda c: store.thread_usage(c, thread_id))

    async def run_changesets(self, run_id: int) -> list[int]:
        from engine.agent import store

        return await self._db().read(lambda c: store.changesets(c, run_id))

    async def orphaned(self, run: Run) -> bool:
        from engine.agent.orphans import orphaned

        return bool(await self._db().read(lambda c: orphaned(c, run)))

    async def start_run(self, message: str, **settings: Any) -> Run:
        """An agent run that this holder's runner runs (it adopts the run's job)."""
        from engine.agent.store import Run as RunType

        doc = await METHODS["chat.start"](self, {"message": message, **settings})
        return RunType(**doc)

    async def cancel_run(self, run_id: int) -> Run:
        """Cancel a run: at once when this holder runs it, else whoever holds it."""
        from engine.agent.store import Run as RunType

        doc = await METHODS["chat.cancel"](self, {"run": run_id})
        return RunType(**doc)

    # -- transcripts: the timeline's words as text (engine.transcripts) -------------------------

    TRANSCRIPT_VIEW = "transcripts/timeline.txt"
    """Where `show_transcript` writes the timeline's words for a script pane."""

    async def show_transcript(self) -> str:
        """Write the words under the timeline, clip by clip, to `TRANSCRIPT_VIEW` (replacing
        the last view written there) and return its path, for a pane to open."""
        doc = await self.call("transcript.view", {})

        def write() -> str:
            return save_text(self.root, self.TRANSCRIPT_VIEW, doc["view"], None, force=True)

        async with self.writing:
            digest = await asyncio.to_thread(write)
        await self.file_saved(self.TRANSCRIPT_VIEW, digest)
        return self.TRANSCRIPT_VIEW

    async def cut_transcript(self, view: str) -> dict[str, Any]:
        """Propose cutting the words missing from ``view`` (the view, edited) as one changeset
        (the ``transcript_cut`` tool): its answer, with ``changeset`` and ``result.summary``,
        or ``ok`` false and the ``error`` (line and column) when the view was not only cut."""
        out: dict[str, Any] = await self.call(
            "tool", {"name": "transcript_cut", "arguments": {"view": view}, "author": "editor"}
        )
        return out

    async def transcribe(self, assets: list[str] | None = None) -> dict[str, Any]:
        """Queue offline transcriptions (pocketsphinx) of ``assets`` (default: every asset with
        sound that has no transcript of its bytes); the holder's runner runs them."""
        out: dict[str, Any] = await self.call(
            "transcribe.start", {"assets": assets or [], "provider": "local"}
        )
        return out
