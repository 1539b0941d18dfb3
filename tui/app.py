"""The reelcut editor (Textual).

For now the main screen shows the open project's tracks and clips as a table with a status line;
the timeline widget, script panes and agent chat replace it in later steps. The app holds the
project's writer lock for its whole life (taken by the CLI before it starts).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static

from engine.events import Event
from engine.model import Project
from engine.projectdir import ProjectDir
from engine.timebase import format_timecode
from tui.background import BackgroundJobs

STYLES = Path(__file__).resolve().parent.parent / "styles"


class ReelcutApp(App[int]):
    """The editor, opened on one project directory."""

    TITLE = "reelcut"
    CSS_PATH = [STYLES / "app.tcss"]
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True, id="app.quit"),
    ]

    def __init__(self, project_dir: ProjectDir, *, background_jobs: bool = True) -> None:
        super().__init__()
        self.project_dir = project_dir
        self.project: Project = project_dir.load()
        self.background_jobs = background_jobs
        self.jobs: BackgroundJobs | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="clips", cursor_type="row", zebra_stripes=True)
        yield Static(id="status")
        yield Static(id="jobs")
        yield Footer()

    async def on_mount(self) -> None:
        self.sub_title = self.project.name
        # SIGTERM leaves like Ctrl+Q, restoring the terminal. Not possible off the main thread.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self._on_sigterm)
        self._fill_table()
        if self.background_jobs:
            self.jobs = BackgroundJobs(self.project_dir.root, self._job_event)
            await self.jobs.start(self.project)

    async def on_unmount(self) -> None:
        if self.jobs is not None:
            await self.jobs.stop()
            self.jobs = None

    def _job_event(self, event: Event) -> None:
        if event.topic != "job" or self.jobs is None:
            return
        self.jobs.progress[int(event.data["job"])] = float(event.data["progress"])
        running = self.jobs.runner.running if self.jobs.runner else []
        text = ", ".join(f"{j.kind} {self.jobs.progress.get(j.id, 0):.0%}" for j in running)
        self.query_one("#jobs", Static).update(f"jobs: {text}" if text else "")

    def _on_sigterm(self) -> None:
        self.exit(0)

    def _fill_table(self) -> None:
        p = self.project
        table = self.query_one("#clips", DataTable)
        table.add_columns("track", "clip", "kind", "name", "start", "duration", "linked")
        for track in p.tracks:
            for clip in track.clips:
                table.add_row(
                    track.name,
                    clip.id,
                    clip.kind,
                    clip.name,
                    format_timecode(clip.start, p.rate),
                    format_timecode(clip.duration, p.rate),
                    clip.linked_id or "",
                    key=clip.id,
                )
        status = self.query_one("#status", Static)
        status.update(
            f"{p.name}  {p.width}x{p.height} @ {p.rate} fps  "
            f"playhead {format_timecode(p.editor.playhead, p.rate)}  "
            f"duration {format_timecode(p.duration, p.rate)}  "
            f"{sum(len(t.clips) for t in p.tracks)} clips on {len(p.tracks)} tracks"
        )
