"""The editor's background work: the state database, the event stream and a job runner, all
on the app's own event loop (handlers run ffmpeg as subprocesses; SQLite runs on its thread)."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from pathlib import Path

from engine.events import Event, EventStream
from engine.jobs import Runner, media
from engine.model import Project
from engine.state.adb import AsyncDB


class BackgroundJobs:
    def __init__(self, root: Path, on_event: Callable[[Event], None]) -> None:
        self.root = root
        self.on_event = on_event
        self.db: AsyncDB | None = None
        self.events: EventStream | None = None
        self.runner: Runner | None = None
        self.progress: dict[int, float] = {}
        self._unlisten: Callable[[], None] | None = None

    async def start(self, project: Project) -> None:
        """Open the queue, queue derivatives that are missing or stale, start working."""
        self.db = await AsyncDB.open(self.root / ".reelcut")
        self.events = EventStream(self.db)
        await self.events.start()
        self._unlisten = self.events.listen(self.on_event)
        # The agent's modules (the tool registry, JSON schema) load off the event loop: the
        # editor starts this after its first paint and goes on drawing meanwhile.
        agent_run = await asyncio.to_thread(importlib.import_module, "engine.agent.run")
        handlers = {**media.handlers(), **agent_run.handlers(self.db, self.events)}
        limits = {**media.limits(), agent_run.KIND: 2}
        # Agent runs are claimed only when this editor started (or resumes) them.
        self.runner = Runner(
            self.db,
            self.events,
            self.root,
            handlers,
            limits,
            adopted_only=frozenset({agent_run.KIND}),
        )
        if await media.queue_derivatives(self.db, self.root, project):
            self.events.committed()
        await self.runner.start()

    async def stop(self) -> None:
        """Stop the runner (running jobs go back to the queue), the stream and the database."""
        if self._unlisten is not None:
            self._unlisten()  # the screen is going away: tell it nothing more
            self._unlisten = None
        if self.runner is not None:
            await self.runner.stop()
        if self.events is not None:
            await self.events.close()
        if self.db is not None:
            await self.db.close()
        self.runner = self.events = self.db = None
