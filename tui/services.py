"""The editor's services: the workspace's background jobs, the preview server and the door for
other terminals, started after the first paint and stopped when the app unmounts, and what the
jobs make (their progress on the status line, waveforms and filmstrips on the timeline).

`Services` is a plain object the app holds (``app.services``); the app's lifecycle handlers and
its engine-event handler call it. What the services are (``app.preview``, ``app.control``,
``app.jobs_started``) stays the app's state: playback, the agent and the tests read it there.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from typing import TYPE_CHECKING, Any

from textual.css.query import NoMatches

from engine.workspace import Event, ReelcutError
from tui.timeline.thumbnails import filmstrips_from
from tui.timeline.waveform import waveforms_from

if TYPE_CHECKING:
    from tui.app import ReelcutApp


class Services:
    """The background jobs, the preview server and the door: their start, their stop, and the
    jobs' products shown. Not a widget: the app holds one (``app.services``)."""

    def __init__(self, app: ReelcutApp) -> None:
        self.app = app

    async def start(self) -> None:
        """The workspace's jobs, then the preview server (its modules, Starlette, load after
        the first paint, off the event loop), then the door; the agent's latest thread last."""
        app = self.app
        await app.workspace.start_jobs(app.session.project, app.post_engine_event)
        app.jobs_started = True
        app.generations.refresh()
        serve_cli = await asyncio.to_thread(importlib.import_module, "tui.serve_cli")
        start_preview = serve_cli.start_preview
        try:
            app.preview = await start_preview(
                app.session,
                app.workspace,
                project=lambda: app.agent.replaying or app.session.project,
            )
        except ReelcutError as exc:
            app.preview_text = f"preview: off ({exc})"
        else:
            app.preview_text = f"preview: {app.preview.url}"
        await self._open_door()
        with contextlib.suppress(NoMatches):
            await app.agent.show_latest_thread()

    async def _open_door(self) -> None:
        """Serve other processes' requests (`reelcut edit`, `import`, `changes apply`...)."""
        try:
            self.app.control = await self.app.workspace.open_door(self._door_request)
        except OSError as exc:
            self.app.flash(
                f"other terminals cannot edit this project while it is open here ({exc})"
            )

    def _door_request(self, method: str, params: dict[str, Any], result: Any) -> None:
        """Say what another process did (the change itself arrives as `ProjectChanged`)."""
        summary = result.get("summary") if isinstance(result, dict) else None
        if method in ("edit", "undo", "redo") and summary:
            self.app.flash(f"from another terminal: {summary}")
        elif method == "import" and isinstance(result, dict):
            self.app.flash(
                f"from another terminal: imported {len(result.get('results', []))} file(s)"
            )
        elif method.startswith("changes.") and isinstance(result, dict):
            self.app.flash(
                f"from another terminal: changeset {result.get('id')} {result.get('status')}"
            )

    async def stop(self) -> None:
        """The door, the preview server, then the workspace: its runner (running jobs go back
        to the queue), its stream and its database."""
        app = self.app
        if app.control is not None:
            await app.control.stop()
            app.control = None
        if app.preview is not None:
            await app.preview.stop()
            app.preview = None
        await app.workspace.close()

    def job_event(self, event: Event) -> None:
        """A job's progress or end: the status line's job list, and a finished waveform or
        filmstrip drawn."""
        runner = self.app.workspace.runner
        if event.topic != "job" or runner is None:
            return
        progress = self.app.workspace.progress
        progress[int(event.data["job"])] = float(event.data["progress"])
        text = ", ".join(f"{j.kind} {progress.get(j.id, 0):.0%}" for j in runner.running)
        self.app.job_text = f"jobs: {text}" if text else ""
        if event.kind == "succeeded" and event.data.get("kind") == "peaks":
            self.load_waveforms()
        if event.kind == "succeeded" and event.data.get("kind") == "thumbs":
            self.load_thumbnails()

    # -- the jobs' products on the timeline ------------------------------------------------

    def load_waveforms(self) -> None:
        """Read the peaks derivatives in an app worker; audio clips then draw them."""
        self.app.run_worker(self._load_waveforms(), group="waveforms")

    def load_thumbnails(self) -> None:
        """Decode the new thumbnail strips in an app worker (a newer load replaces one under
        way); video clips then draw them."""
        self.app.run_worker(self._load_thumbnails(), group="thumbnails", exclusive=True)

    async def _load_waveforms(self) -> None:
        """Read the peaks derivatives through the door (off the event loop)."""
        app = self.app
        waves = waveforms_from(await app.workspace.waveform_peaks(app.session.project))
        with contextlib.suppress(NoMatches):  # the editor closed meanwhile
            app.timeline.set_waveforms(waves)

    async def _load_thumbnails(self) -> None:
        """Decode the new thumbnail strips through the door (off the event loop)."""
        app = self.app
        project = app.session.project
        try:
            known = app.timeline.thumbnails  # decoded already: kept, not decoded again
        except NoMatches:
            return
        tiles = await app.workspace.filmstrip_tiles(project, known)
        strips = filmstrips_from(project, tiles, known)
        with contextlib.suppress(NoMatches):  # the editor closed meanwhile
            app.timeline.set_thumbnails(strips)
