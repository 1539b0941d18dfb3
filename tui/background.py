"""Background work for a front end that has no editor (the preview tests, tools): the project's
workspace started without a session (`Workspace.start_jobs`), with the old attribute names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.model import Project
from engine.workspace import Event, Workspace


class BackgroundJobs:
    def __init__(self, root: Path, on_event: Callable[[Event], None]) -> None:
        self.root = root
        self.on_event = on_event
        self.workspace = Workspace(root)

    async def start(self, project: Project) -> None:
        """Open the queue, queue derivatives that are missing or stale, start working."""
        await self.workspace.start_jobs(project, self.on_event)

    @property
    def db(self) -> Any:
        return self.workspace.db

    @property
    def events(self) -> Any:
        return self.workspace.events

    @property
    def runner(self) -> Any:
        return self.workspace.runner

    @property
    def progress(self) -> dict[int, float]:
        return self.workspace.progress

    async def stop(self) -> None:
        """Stop the runner (running jobs go back to the queue), the stream and the database."""
        await self.workspace.close()
