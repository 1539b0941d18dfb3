"""The media bin and three-point editing: the source (a bin item with its own playhead and
marks), the target tracks (patching), the edits that put the source on the timeline (insert,
overwrite, replace, place on top, append) and the edits of the timeline's marked range (lift,
extract) and of a gap (close).

`Cutting` is a plain controller the editor screen holds (``screen.cutting``); the screen's
key actions call it, the bin shows its state. Every edit is one op through the app's door
(`ReelcutApp._session_call`), so each is one undo step. The arithmetic is
`tui/three_point.py`'s.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from textual.css.query import NoMatches
from textual.widgets import ContentSwitcher

from engine.errors import ReelcutError
from engine.model import Asset, Project, SourceMarks, Track
from engine.ops import CloseGap, Insert, LiftRange, Op, Overwrite, PlaceOnTop, RippleDeleteRange
from engine.timebase import format_timecode
from tui import navigate as nav
from tui import three_point
from tui.media_bin import Building, MediaBin
from tui.three_point import Source

if TYPE_CHECKING:
    from engine.workspace import AssetStatus, Event
    from tui.app import ReelcutApp
    from tui.editor_screen import EditorScreen

EditKind = Literal["insert", "overwrite", "replace", "place_on_top", "append"]
NO_SOURCE = "{what}: pick a clip in the media bin first (F5 shows it; a imports a file)"


class Cutting:
    """The source, the patching and the three-point edits of one editor screen."""

    def __init__(self, screen: EditorScreen) -> None:
        self.screen = screen
        self.source: Source | None = None
        """The bin item the next edit takes its media from (None until one is picked)."""
        self._sources: dict[str, Source] | None = None
        """Each bin item's playhead and marks (the source's too), as saved in the state
        database when the editor last quit (`engine.source_marks`); read on first use."""
        self._marks_dirty = False
        """A source playhead or mark moved since the marks were last saved."""
        self.monitoring = False
        """The media bin has the focus: the page shows the source instead of the timeline."""
        self.video_target: str | None = None
        """The track id video goes to (None: the lowest unlocked video track, V1)."""
        self.audio_target: str | None = None
        """The track id audio goes to (None: the first unlocked audio track)."""
        self.audio_on = True
        """Whether a video's own sound comes with it (its linked audio clip)."""
        self.statuses: dict[str, AssetStatus] = {}
        """The media state of each asset, as last read (`refresh_media`)."""

    @property
    def app(self) -> ReelcutApp:
        return self.screen.host

    # -- the bin ---------------------------------------------------------------------------

    def show(self) -> None:
        """Draw the bin from the project, the media states and the jobs running now."""
        app = self.app
        building: dict[str, list[Building]] = {}
        runner = app.workspace.runner
        for job in runner.running if runner is not None else ():
            asset = job.payload.get("asset") if isinstance(job.payload, dict) else None
            if isinstance(asset, str):
                progress = app.workspace.progress.get(job.id, job.progress)
                building.setdefault(asset, []).append(Building(job.kind, progress))
        with contextlib.suppress(NoMatches):
            self.screen.query_one(MediaBin).show(app.project, self.statuses, building, self.source)
        app._show_status()  # the source's marks are on the status line too

    async def refresh_media(self) -> None:
        """Read each asset's file and derivative state again (off the event loop), then draw."""
        self.statuses = await self.app.workspace.media_status(self.app.project)
        self.show()

    def _bin_shown(self) -> bool:
        try:
            return self.screen.query_one("#left", ContentSwitcher).current == "bin"
        except NoMatches:
            return False

    def project_changed(self) -> None:
        """A committed change: the bin reads the media state again (when it shows)."""
        if self._bin_shown():
            self.screen.run_worker(self.refresh_media(), group="bin", exclusive=True)

    def job_event(self, event: Event) -> None:
        """A derivative's progress redraws the bin; its end reads the media state again."""
        if event.topic != "job" or not self._bin_shown():
            return
        if event.kind == "progress":
            self.show()
        elif event.kind in ("succeeded", "failed", "dead", "cancelled", "started"):
            self.screen.run_worker(self.refresh_media(), group="bin", exclusive=True)

    def choose(self, asset_id: str) -> None:
        """``asset_id`` becomes the source (with the playhead and marks it had)."""
        self.source = self._saved().get(asset_id) or Source(asset_id)
        self.show()
        self.tell_page()

    def _saved(self) -> dict[str, Source]:
        if self._sources is None:
            saved = self.app.workspace.source_marks()
            self._sources = {
                k: Source(m.asset_id, m.position, m.mark_in, m.mark_out) for k, m in saved.items()
            }
        return self._sources

    def _source_moved(self, source: Source) -> None:
        """``source`` is the source now: kept for its asset, saved with the view once it
        settles (`save_marks`), drawn, and shown on the page."""
        self.source = source
        self._saved()[source.asset_id] = source
        self._marks_dirty = True
        self.app.disk.state_changed()
        self.show()
        self.tell_page()

    async def save_marks(self) -> None:
        """Save every source's playhead and marks in the state database, when they moved."""
        if not self._marks_dirty or self._sources is None:
            return
        self._marks_dirty = False
        marks = [
            SourceMarks(s.asset_id, s.position, s.mark_in, s.mark_out)
            for s in self._sources.values()
        ]
        await self.app.workspace.save_source_marks(marks)

    def monitor(self, on: bool) -> None:
        """The bin took the focus (``on``) or lost it: the page shows the source, or the
        timeline again."""
        if on != self.monitoring:
            self.monitoring = on
            self.tell_page()

    def tell_page(self) -> None:
        """Send the page the source to show (a ``playback`` ``source`` event), or none while
        the bin has not the focus; also for a page that has just connected."""
        app = self.app
        if app.workspace.events is None or app.preview is None:
            return
        source = self.source if self.monitoring else None
        data: dict[str, object] = {"asset_id": None, "from": "editor"}
        if source is not None:
            data.update(
                asset_id=source.asset_id,
                position=source.position,
                mark_in=source.mark_in,
                mark_out=source.mark_out,
            )
        app.run_worker(app.workspace.publish("playback", "source", data), group="playback")

    def _source_asset(self, what: str) -> tuple[Source, Asset] | None:
        highlighted = self.screen.query_one(MediaBin).highlighted
        if highlighted is not None and (self.source is None or self.source.asset_id != highlighted):
            # The bin's keys act on its highlighted item: a key pressed right after the
            # highlight moved can run before the bin's SourceChosen arrives (seen in tmux:
            # Home then Shift+Right stepped the previous item).
            self.choose(highlighted)
        source = self.source
        asset = self.app.project.asset(source.asset_id) if source is not None else None
        if source is None or asset is None:
            self.app.flash(NO_SOURCE.format(what=what))
            return None
        return source, asset

    def step(self, frames: int) -> None:
        """Move the source's playhead by ``frames`` (within its media)."""
        found = self._source_asset("source")
        if found is None:
            return
        source, asset = found
        self._source_moved(source.moved(source.position + frames, three_point.media_length(asset)))

    def mark(self, which: Literal["in", "out", "clear"]) -> None:
        """Set the source's in or out mark at its playhead (the out mark excluded), or clear
        both."""
        found = self._source_asset("source mark")
        if found is None:
            return
        source, _ = found
        if which == "clear":
            self._source_moved(replace(source, mark_in=None, mark_out=None))
        elif which == "in":
            out = source.mark_out if source.mark_out and source.mark_out > source.position else None
            self._source_moved(replace(source, mark_in=source.position, mark_out=out))
        else:
            start = source.mark_in
            if start is not None and source.position <= start:
                self.app.flash("source out: it must come after the source in; step later first")
                return
            self._source_moved(replace(source, mark_out=source.position))

    # -- patching --------------------------------------------------------------------------

    def targets(self, project: Project) -> tuple[Track | None, Track | None]:
        """The video and audio tracks an edit goes to."""

        def pick(ref: str | None, kind: str) -> Track | None:
            chosen = project.track(ref) if ref is not None else None
            if chosen is not None and chosen.kind == kind:
                return chosen
            # V1 and A1 by default: the video track at the bottom (the list runs top-down),
            # the audio track at the top.
            free = [t for t in project.tracks if t.kind == kind and not t.locked]
            return (free[-1] if kind == "video" else free[0]) if free else None

        return pick(self.video_target, "video"), pick(self.audio_target, "audio")

    def target_current_track(self) -> None:
        """The current track (Alt+Up/Down moves it) becomes the target of its kind."""
        project = self.app.project
        if not project.tracks:
            self.app.flash("no tracks: add one from the command palette")
            return
        track = project.tracks[self.app.track_index]
        if track.kind == "video":
            self.video_target = track.id
        else:
            self.audio_target = track.id
        self.app.flash(f"edits go to {self.patch_text(project)}")

    def toggle_audio(self) -> None:
        self.audio_on = not self.audio_on
        self.app.flash(f"source sound {'on' if self.audio_on else 'off'}: {self.patch_text()}")

    def patch_text(self, project: Project | None = None) -> str:
        """``dest V1 A1`` (``A-`` when the source's sound stays out)."""
        video, audio = self.targets(project or self.app.project)
        a = (audio.name if audio else "-") if self.audio_on else "-"
        return f"dest {video.name if video else '-'} {a}"

    # -- the edits -------------------------------------------------------------------------

    async def edit(self, kind: EditKind) -> None:
        """Put the source on the timeline: insert (ripple), overwrite, replace the clip under
        the playhead, place on top, or append after the target tracks' last clip. The playhead
        goes to the end of the new clip, ready for the next edit."""
        what = kind.replace("_", " ")
        found = self._source_asset(what)
        if found is None:
            return
        source, asset = found
        app = self.app
        project = app.project
        video, audio = self.targets(project)
        main = audio if asset.kind == "audio" else video
        if main is None:
            app.flash(f"{what}: no unlocked {'audio' if asset.kind == 'audio' else 'video'} track")
            return
        try:
            if kind == "replace":
                clip = nav.clip_at(main, app.playhead)
                if clip is None:
                    raise ReelcutError(
                        f"no clip under the playhead on {main.name} to replace; move onto one "
                        "or target another track (p)"
                    )
                spot = three_point.replace_range(project, source, asset, clip, app.playhead)
            else:
                spot = three_point.place(project, source, asset, app.playhead)
                if kind == "append":
                    ids = (main.id, audio.id if audio is not None and self.audio_on else None)
                    spot = replace(spot, at=three_point.track_end(project, ids))
        except ReelcutError as exc:
            app.flash(f"{what}: {exc}")
            return
        fields = {
            "asset_id": asset.id,
            "at": spot.at,
            "track": main.id,
            "source_in": spot.source_in,
            "duration": spot.duration,
            "with_audio": self.audio_on,
            "audio_track": audio.id if audio is not None else None,
        }
        op: Op
        if kind == "insert":
            op = Insert(**fields)  # type: ignore[arg-type]
        elif kind == "place_on_top":
            op = PlaceOnTop(**fields)  # type: ignore[arg-type]
        else:
            op = Overwrite(**fields)  # type: ignore[arg-type]
        change = await self.screen._apply(op, what)
        if change is not None:
            end = next(
                (
                    c.end
                    for t in app.project.tracks
                    for c in t.clips
                    if c.asset_id == asset.id and c.start == spot.at
                ),
                None,
            )
            if end is not None:
                app.playback.seek(end)

    async def lift_range(self, *, extract: bool) -> bool:
        """Lift (leave the gap) or extract (close it) the timeline's in/out range on every
        unlocked track; False (nothing done, nothing said) when no range is marked."""
        ed = self.app.project.editor
        if ed.mark_in is None or ed.mark_out is None:
            return False
        op: Op = RippleDeleteRange() if extract else LiftRange()
        await self.screen._apply(op, "extract" if extract else "lift")
        return True

    async def close_gap(self) -> bool:
        """Close the gap under the playhead on the current track; False when there is none."""
        app = self.app
        project = app.project
        if not project.tracks:
            return False
        track = project.tracks[app.track_index]
        if nav.clip_at(track, app.playhead) is not None:
            return False
        if not any(c.start > app.playhead for c in track.clips):
            return False
        await self.screen._apply(CloseGap(track=track.id, at=app.playhead), "close gap")
        return True

    # -- import and relink -----------------------------------------------------------------

    def import_media(self) -> None:
        """Ask for a file or a folder (every file in it) and import it into the bin, not onto
        the timeline (that is what the edits are for)."""
        from tui.path_prompt import PathPrompt

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.screen.run_worker(self._import(path), group="import")

        self.app.push_screen(
            PathPrompt(
                "Import media: a file, or a folder (every file in it)",
                str(Path.cwd()) + os.sep,
                folders=True,
            ),
            chosen,
        )

    async def _import(self, path: Path) -> None:
        app = self.app
        files = (
            sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            if path.is_dir()
            else [path]
        )
        if not files:
            app.flash(f"import: {path} holds no files")
            return
        app.flash(f"importing {len(files)} file(s)...")
        try:
            out = await app.workspace.call(
                "import", {"files": [str(f) for f in files], "place": False}
            )
        except ReelcutError as exc:
            app.flash(f"import: {exc}")
            return
        results = out.get("results", [])
        done = [r["source"] for r in results if not r.get("error")]
        failed = [f"{r['source']} ({r['error']})" for r in results if r.get("error")]
        parts = [f"imported {', '.join(done)}" if done else "imported nothing"]
        if failed:
            parts.append("refused " + "; ".join(failed))
        app.flash("; ".join(parts))
        await self.refresh_media()
        new = [a for r in results for a in r.get("assets", [])]
        if new and app.project.asset(new[0]) is not None:
            with contextlib.suppress(NoMatches):
                self.screen.query_one(MediaBin).highlight(new[0])  # it becomes the source

    def relink(self) -> None:
        """Ask for a file for the highlighted asset: a copy of its missing file puts it back,
        another file becomes its media (an undoable edit the door refuses, with one line, when
        the file cannot stand in: another kind, or shorter than what the clips play)."""
        from tui.path_prompt import PathPrompt

        asset_id = self.screen.query_one(MediaBin).highlighted
        asset = self.app.project.asset(asset_id) if asset_id else None
        if asset is None:
            self.app.flash("relink: highlight a clip in the media bin first")
            return
        if asset.filename is None:
            self.app.flash(f"relink: {asset.name} has no media file (a {asset.kind} asset)")
            return
        status = self.statuses.get(asset.id)
        missing = status is not None and status.file != "ok"

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.screen.run_worker(self._relink(asset.id, path), group="import")

        start = str(Path.cwd()) + os.sep
        title = (
            f"Relink {asset.name}: where is a copy of it?"
            if missing
            else f"Relink {asset.name} to another file (its clips keep their ranges)"
        )
        self.app.push_screen(
            PathPrompt(
                title,
                start,
                hint=f"imported from {asset.source_name or asset.name}; Tab completes",
            ),
            chosen,
        )

    async def _relink(self, asset_id: str, path: Path) -> None:
        try:
            self.app.flash(await self.app.workspace.relink(asset_id, path))
        except ReelcutError as exc:
            self.app.flash(f"relink: {exc}")
        await self.refresh_media()

    # -- what the status line says ---------------------------------------------------------

    def status_parts(self) -> list[str]:
        """The patching, and the source's marks when it has any; nothing until a source is
        picked or a track targeted (the line is short at 80 columns)."""
        source = self.source
        patched = self.video_target or self.audio_target or not self.audio_on
        parts = [self.patch_text()] if source is not None or patched else []
        if source is not None and (source.mark_in is not None or source.mark_out is not None):
            rate = self.app.project.rate
            i = "--" if source.mark_in is None else format_timecode(source.mark_in, rate)
            o = "--" if source.mark_out is None else format_timecode(source.mark_out, rate)
            parts.append(f"src in {i} out {o}")
        return parts
