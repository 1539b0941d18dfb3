"""The editor's screen: the regions (the project tree, the script panes, the agent chat, the
timeline, the status line and the key bar), every editor key and the handlers of what the
widgets ask for. Edits become ops sent through the app's door (`ReelcutApp._session_call`, one
at a time); navigation moves the app's reactives (playhead, selection, track), and the widgets
follow their watchers. Playback and the agent are the app's controllers (`app.playback`,
`app.agent`); their keys' actions live here and call them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import BindingsMap
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Header, Input, Static, TextArea

from engine.model import Project
from engine.ops import (
    Blade,
    Lift,
    Move,
    Nudge,
    Op,
    RippleDelete,
    RippleTrim,
    SetMarks,
    Trim,
)
from tui import navigate as nav
from tui.bin_actions import Cutting, EditKind
from tui.chat import ChangesetCard, ChatPanel
from tui.finder import FileFinder
from tui.keybar import KeyBar
from tui.keys import KEYS, TIMELINE_ACTIONS, Key, bindings
from tui.layout import RegionKeysScreen, Regions, compact_preview
from tui.media_bin import MediaBin
from tui.project_tree import ProjectTree
from tui.scripts import ScriptPanes
from tui.status_line import StatusLine
from tui.timeline.widget import TimelineView
from tui.track_actions import Flag, TrackEdits
from tui.trim_mode import TrimMode
from tui.viewer import FrameViewer

if TYPE_CHECKING:
    from engine.workspace import Change
    from tui.app import ReelcutApp
    from tui.transcript_actions import TranscriptActions


class EditorScreen(Screen[None]):
    """The editor's one screen: its regions, its keys (every binding of `tui.keys`) and the
    handlers of what its widgets ask for. The state it works on (the playhead, the selection,
    the session behind the door) is the app's; playback and the agent are the app's
    controllers."""

    BINDINGS = bindings()
    AUTO_FOCUS = "#timeline"

    def __init__(
        self,
        root: Path,
        project: Project | None = None,
        revision: int = 0,
        *,
        keys: tuple[Key, ...] = KEYS,
    ) -> None:
        """``project`` (at session ``revision``) is on the timeline from its first paint;
        ``keys`` are the editor's keys in the keymap file's preset (`tui.keymap_presets`)."""
        super().__init__()
        if keys is not KEYS:  # a preset: these bindings instead of the class's defaults
            base = Screen._merged_bindings or BindingsMap()
            self._bindings = BindingsMap.merge([base, BindingsMap(bindings(keys))])
        self.keys = keys
        self.root = root
        self._project = project
        self._revision = revision
        self.cutting = Cutting(self)
        """The media bin's source, the patching and the three-point edits."""
        self.trim_mode = TrimMode(self)
        self.tracks = TrackEdits(self)
        self.regions = Regions(self)
        """Which regions show, one maximised, the timeline's rows (`tui.layout`)."""

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="top"):
            with ContentSwitcher(initial="tree", id="left"):
                yield ProjectTree(self.root, id="tree", classes="region")
                yield MediaBin(id="bin", classes="region")
            yield ScriptPanes(self.root, id="panes", classes="region")
            yield ChatPanel(id="chat", classes="region")
            yield FrameViewer(self.host.graphics, id="viewer")
        yield TimelineView(self._project, self._revision, id="timeline")
        yield StatusLine(id="status")
        yield KeyBar(id="keys")

    @property
    def host(self) -> ReelcutApp:
        """The app, as the editor's (its state, its door, its controllers)."""
        return cast("ReelcutApp", self.app)

    def on_mount(self) -> None:
        # The first paint is a whole one: the status line is filled before it.
        self.host._show_status()
        # Tracks added or removed change what the timeline needs: the rows follow.
        self.watch(self.query_one("#timeline"), "virtual_size", self._fit_layout, init=False)

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self.regions.fit)

    def _fit_layout(self) -> None:
        self.regions.fit()

    def on_key(self, event: events.Key) -> None:
        """The status line's message says what the last key did (or why it did nothing); the
        next key makes it stale, so it goes before that key's binding runs (issue 19)."""
        self.host.message = ""

    async def _apply(self, op: Op, what: str) -> Change | None:
        return await self.host._session_call(lambda: self.host.session.apply(op), what)

    def _need_selection(self, what: str) -> tuple[str, ...] | None:
        if not self.host.selection:
            self.host.flash(f"{what}: select a clip first (Tab selects the next one)")
            return None
        return self.host.selection

    async def action_blade(self) -> None:
        at = self.host.playhead
        under = [
            c
            for c in self.host.selection
            if (f := nav.find_clip(self.host.project, c)) and f[1].start < at < f[1].end
        ]
        await self._apply(Blade(at=at, clip_ids=tuple(under)), "blade")

    async def action_lift(self) -> None:
        """The selection; with none, the in/out range (as NLEs lift it)."""
        if not self.host.selection and await self.cutting.lift_range(extract=False):
            return
        if sel := self._need_selection("lift"):
            await self._apply(Lift(clip_ids=sel), "lift")

    async def action_ripple_delete(self) -> None:
        """The selection; with none, the in/out range (extract), else the gap under the
        playhead on the current track."""
        if not self.host.selection and (
            await self.cutting.lift_range(extract=True) or await self.cutting.close_gap()
        ):
            return
        if not self.host.selection:
            self.host.flash(
                "ripple delete: select a clip (Tab), mark a range (I, O), or stand in a gap"
            )
            return
        if sel := self._need_selection("ripple delete"):
            await self._apply(RippleDelete(clip_ids=sel), "ripple delete")

    async def action_nudge(self, by: int) -> None:
        if self.trim_mode.mode is not None:
            await self.trim_mode.trim(by)
            return
        if sel := self._need_selection("nudge"):
            await self._apply(Nudge(clip_ids=sel, by=by), "nudge")

    async def action_trim(self, edge: str) -> None:
        await self._trim(Trim, edge, "trim")

    async def action_ripple_trim(self, edge: str) -> None:
        await self._trim(RippleTrim, edge, "ripple trim")

    async def _trim(self, cls: type[Trim] | type[RippleTrim], edge: str, what: str) -> None:
        clip = nav.target_clip(
            self.host.project, self.host.selection, self.host.track_index, self.host.playhead
        )
        if clip is None:
            self.host.flash(f"{what}: no clip under the playhead on this track; select one")
            return
        await self._apply(cls(clip_id=clip.id, edge=edge, to=self.host.playhead), what)  # type: ignore[arg-type]

    async def action_add_marker(self) -> None:
        await self.tracks.add_or_rename_marker()

    async def action_mark_in(self) -> None:
        await self._apply(
            SetMarks(mark_in=self.host.playhead, mark_out=self.host.project.editor.mark_out),
            "mark in",
        )

    async def action_mark_out(self) -> None:
        await self._apply(
            SetMarks(mark_in=self.host.project.editor.mark_in, mark_out=self.host.playhead),
            "mark out",
        )

    async def action_clear_marks(self) -> None:
        await self._apply(SetMarks(clear=True), "clear marks")

    async def action_undo(self) -> None:
        await self.host._session_call(self.host.session.undo, "undo")

    async def action_redo(self) -> None:
        await self.host._session_call(self.host.session.redo, "redo")

    async def action_toggle_snapping(self) -> None:
        on = not self.host.project.editor.snapping
        await self.host._session_call(lambda: self.host.session.set_editor(snapping=on), "snapping")
        self.host.flash(f"snapping {'on' if on else 'off'}")

    async def action_reload(self) -> None:
        await self.host._session_call(self.host.session.reload, "reload")

    async def action_save_state(self) -> None:
        await self.host.disk.save_state()
        self.host.flash("playhead and selection saved")

    # -- selection -------------------------------------------------------------------------

    def action_select_clip(self, step: int) -> None:
        host = self.host
        tracks = host.project.tracks
        if step > 0 and not host.selection and 0 <= host.track_index < len(tracks):
            under = nav.clip_at(tracks[host.track_index], host.playhead)
            if under is not None:  # Tab takes the clip under the playhead first
                self._select((under.id,))
                return
        current = self.host.selection[-1] if self.host.selection else None
        clip_id = nav.step_clip(self.host.project, current, self.host.playhead, step)
        if clip_id is None:
            self.host.flash("no clips")
            return
        found = nav.find_clip(self.host.project, clip_id)
        if found:
            self.host.track_index = found[0]
        self._select((clip_id,))

    def action_select_track(self, step: int) -> None:
        n = len(self.host.project.tracks)
        if n:
            self.host.track_index = (self.host.track_index + step) % n
            clip = nav.clip_at(self.host.project.tracks[self.host.track_index], self.host.playhead)
            self._select((clip.id,) if clip else ())

    def action_deselect(self) -> None:
        if self.trim_mode.leave():
            return
        self._select(())

    def _select(self, ids: tuple[str, ...]) -> None:
        self.host.message = ""
        self.host.selection = ids

    # -- view ------------------------------------------------------------------------------

    def action_zoom(self, direction: int) -> None:
        if direction > 0:
            self.host.timeline.zoom_in()
        else:
            self.host.timeline.zoom_out()
        self.host.disk.state_changed()
        self.host._show_status()

    def action_zoom_fit(self) -> None:
        self.host.timeline.zoom_to_fit()
        self.host.disk.state_changed()
        self.host._show_status()

    def action_toggle_viewer(self) -> None:
        """The picture under the playhead (`tui.viewer`): shown or hidden, whatever the page."""
        shown = self.query_one(FrameViewer).toggle()
        self.host.flash(f"picture viewer {'on' if shown else 'off'}")

    def action_focus_region(self, step: int) -> None:
        left = self.query_one("#left", ContentSwitcher).current or "tree"
        order = [left, "panes", "chat", "timeline"]
        node = self.focused
        while node is not None and node.id not in order:
            node = node.parent  # type: ignore[assignment]
        i = order.index(node.id) if node is not None and node.id else len(order) - 1
        for k in range(1, len(order) + 1):  # the next region shown
            target = order[(i + step * k) % len(order)]
            if self.regions.shown("left" if target == left else target):
                self.focus_region_named(target)
                return

    def focus_region_named(self, name: str) -> None:
        """Focus region ``name`` (``left`` is the tree or the bin, whichever shows)."""
        if name == "left":
            name = self.query_one("#left", ContentSwitcher).current or "tree"
        self.query_one("#bin-list" if name == "bin" else f"#{name}").focus()

    # -- the layout (tui/layout.py) ----------------------------------------------------------

    def action_region_keys(self) -> None:
        def picked(command: str | None) -> None:
            if command is not None:
                self.regions.run(command)

        self.host.push_screen(RegionKeysScreen(), picked)

    def action_toggle_region(self, name: str) -> None:
        self.regions.toggle(name)

    def action_maximise_region(self, name: str | None = None) -> None:
        self.regions.maximise(name)

    def action_restore_regions(self) -> None:
        self.regions.restore()

    def show_status(self, left: str, right: str) -> None:
        """The status line: ``right`` (the preview's state) whole at the right end, ``left``
        cut with an ellipsis to fit beside it (at 80 columns the preview state used to fall
        off the end); the preview's address is whole whenever both fit."""
        status = self.query_one("#status", Static)
        width = status.content_size.width
        line = Text(left)
        if width > 0:
            # The whole address when the line has room for it beside ``left`` (the page is
            # opened from it); a third of the line at least, shortened, when it has not.
            right = compact_preview(right, max(20, width // 3, width - line.cell_len - 2))
            room = max(0, width - cell_len(right) - 2)
            line.truncate(room, overflow="ellipsis")
            line.pad_right(width - cell_len(right) - line.cell_len)
            line.append(right)
        else:
            line.append("  " + right)
        status.update(line, layout=False)

    def action_help(self) -> None:
        from tui.screens import HelpScreen  # loaded when first asked for (a DataTable)

        self.host.push_screen(HelpScreen(self.keys, self.host.key_preset))

    async def action_speak(self) -> None:
        """Speak the scenario: placeholders now, their progress live (`tui.generation`)."""
        await self.host.generations.speak()

    async def action_speak_cancel(self) -> None:
        await self.host.generations.cancel()

    async def action_speak_retry(self) -> None:
        host = self.host
        clip_id = host.selection[0] if host.selection else None
        asset = None
        if clip_id is not None:
            for track in host.project.tracks:
                for clip in track.clips:
                    if clip.id == clip_id:
                        asset = clip.asset_id
        await host.generations.retry(asset)

    async def action_transcribe(self) -> None:
        await self._transcripts().transcribe()

    async def action_transcript_show(self) -> None:
        await self._transcripts().show()

    async def action_transcript_cut(self) -> None:
        await self._transcripts().cut()

    async def action_captions_place(self) -> None:
        await self._transcripts().place_captions()

    def _transcripts(self) -> TranscriptActions:
        from tui.transcript_actions import TranscriptActions

        return TranscriptActions(self.host, self.query_one(ScriptPanes))

    def action_export(self) -> None:
        """Render the timeline to a file: a dialog, then a job on the status line."""
        from tui.export_dialog import ExportScreen

        host = self.host
        name = "".join(c if c.isalnum() or c in "-_" else "-" for c in host.project.name)
        default = host.project_root / f"{name or 'export'}.mp4"

        def done(job: dict[str, object] | None) -> None:
            if job is not None:
                payload = job.get("payload")
                out = payload.get("out") if isinstance(payload, dict) else "?"
                host.flash(f"exporting to {out} (job {job.get('id')}): progress on this line")

        host.push_screen(ExportScreen(host.workspace, default), done)

    # -- the project tree and the script panes ---------------------------------------------

    def open_script(self, path: str) -> None:
        panes = self.query_one(ScriptPanes)
        panes.run_worker(panes.open(path), group="open")

    async def on_project_tree_open_requested(self, message: ProjectTree.OpenRequested) -> None:
        await self.query_one(ScriptPanes).open(message.path)

    def on_project_tree_new_file_requested(self, message: ProjectTree.NewFileRequested) -> None:
        panes = self.query_one(ScriptPanes)
        panes.run_worker(panes.files.new_file(message.path), group="files")

    def on_project_tree_rename_file_requested(
        self, message: ProjectTree.RenameFileRequested
    ) -> None:
        panes = self.query_one(ScriptPanes)
        panes.run_worker(panes.files.rename_file(message.path), group="files")

    def on_project_tree_delete_file_requested(
        self, message: ProjectTree.DeleteFileRequested
    ) -> None:
        panes = self.query_one(ScriptPanes)
        panes.run_worker(panes.files.delete_file(message.path), group="files")

    def on_project_tree_changed(self, message: ProjectTree.Changed) -> None:
        self.run_worker(self.query_one(ProjectTree).reload(), group="tree")

    def on_script_panes_said(self, message: ScriptPanes.Said) -> None:
        self.host.flash(message.text)
        self.regions.fit()  # a pane opened or closed: the top row keeps half while any is

    def on_script_panes_saved(self, message: ScriptPanes.Saved) -> None:
        """Tell the page (a saved Remotion manifest recompiles there)."""
        self.run_worker(self.host.workspace.file_saved(message.path, message.sha256), group="files")

    async def action_find_file(self) -> None:
        tree = self.query_one(ProjectTree)
        await tree.reload()  # what is there now (the first listing may still be on its way)
        files = tree.files

        def done(path: str | None) -> None:
            if path is not None:
                self.open_script(path)

        self.host.push_screen(FileFinder(files), done)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Timeline keys do nothing while the focus is in a text field (Ctrl+B in a script
        pane must not cut the timeline)."""
        return action not in TIMELINE_ACTIONS or not isinstance(self.focused, (TextArea, Input))

    # -- the timeline's requests -----------------------------------------------------------

    def on_timeline_view_seek_requested(self, message: TimelineView.SeekRequested) -> None:
        self.host.playback.halt()
        self.host.playback.seek(message.frame)

    def on_timeline_view_select_requested(self, message: TimelineView.SelectRequested) -> None:
        if message.clip_id is None:
            self._select(())
        elif message.extend:
            sel = list(self.host.selection)
            if message.clip_id in sel:
                sel.remove(message.clip_id)
            else:
                sel.append(message.clip_id)
            self._select(tuple(sel))
        else:
            found = nav.find_clip(self.host.project, message.clip_id)
            if found:
                self.host.track_index = found[0]
            self._select((message.clip_id,))

    async def on_timeline_view_move_requested(self, message: TimelineView.MoveRequested) -> None:
        await self._apply(
            Move(clip_ids=(message.clip_id,), to=message.start, track=message.track_id), "move"
        )

    def on_timeline_view_zoom_changed(self, message: TimelineView.ZoomChanged) -> None:
        self.host.disk.state_changed()
        self.host._show_status()

    # -- playback and the agent: the keys' actions, carried out by their controllers -------

    def action_step(self, frames: int) -> None:
        self.host.playback.step(frames)

    def action_step_seconds(self, seconds: int) -> None:
        self.host.playback.step_seconds(seconds)

    def action_edit_point(self, direction: int) -> None:
        self.host.playback.edit_point(direction)

    def action_go_start(self) -> None:
        self.host.playback.go_start()

    def action_go_end(self) -> None:
        self.host.playback.go_end()

    def action_goto(self) -> None:
        self.host.playback.goto()

    def action_play_pause(self) -> None:
        self.host.playback.play_pause()

    def action_shuttle(self, direction: int) -> None:
        if self.trim_mode.mode is not None:
            self.trim_mode.shuttle(direction)  # a dynamic trim
            return
        self.host.playback.shuttle(direction)

    async def action_stop(self) -> None:
        if self.trim_mode.dynamic_from is not None:
            await self.trim_mode.commit_dynamic()
            return
        self.host.playback.stop()

    def action_preview_url(self) -> None:
        self.host.playback.show_url()

    def action_agent_model(self) -> None:
        self.host.agent.next_model()

    def action_agent_thinking(self) -> None:
        self.host.agent.next_thinking()

    def action_agent_workflow(self) -> None:
        self.host.agent.next_workflow()

    def action_agent_auto_apply(self) -> None:
        self.host.agent.toggle_auto_apply()

    async def action_agent_cancel(self) -> None:
        await self.host.agent.cancel()

    async def action_agent_thread(self, step: int) -> None:
        await self.host.agent.step_thread(step)

    async def on_chat_panel_send(self, message: ChatPanel.Send) -> None:
        await self.host.agent.send(message)

    async def on_changeset_card_apply_requested(
        self, message: ChangesetCard.ApplyRequested
    ) -> None:
        await self.host.agent.move(message.card, revert=False, force=message.force)

    async def on_changeset_card_revert_requested(
        self, message: ChangesetCard.RevertRequested
    ) -> None:
        await self.host.agent.move(message.card, revert=True, force=message.force)

    async def on_changeset_card_diff_requested(self, message: ChangesetCard.DiffRequested) -> None:
        await self.host.agent.show_diff(message.changeset_id)

    def on_changeset_card_replay_requested(self, message: ChangesetCard.ReplayRequested) -> None:
        self.host.agent.replay(message.changeset_id)

    # -- the media bin, three-point editing, trim mode, tracks, text (issue 19) -------------

    def action_show_bin(self) -> None:
        """Show the media bin in the left region and focus it; again: the project files."""
        switcher = self.query_one("#left", ContentSwitcher)
        bin_shown = switcher.current == "bin" and self.query_one("#bin-list").has_focus
        switcher.current = "tree" if bin_shown else "bin"
        switcher.set_class(not bin_shown, "-bin")
        if bin_shown:
            self.query_one("#tree").focus()
            return
        self.query_one("#bin-list").focus()
        self.run_worker(self.cutting.refresh_media(), group="bin", exclusive=True)

    def on_media_bin_source_chosen(self, message: MediaBin.SourceChosen) -> None:
        self.cutting.choose(message.asset_id)
        if message.done:
            self.query_one("#timeline").focus()

    def on_media_bin_watched(self, message: MediaBin.Watched) -> None:
        self.cutting.monitor(message.on)  # the page shows the source while the bin has focus

    def action_source_step(self, frames: int) -> None:
        self.cutting.step(frames)

    def action_source_seconds(self, seconds: int) -> None:
        self.cutting.step(seconds * nav.frames_per_second(self.host.project.rate))

    def action_source_mark(self, which: str) -> None:
        self.cutting.mark(which)  # type: ignore[arg-type]

    def action_import_media(self) -> None:
        self.cutting.import_media()

    def action_relink_media(self) -> None:
        self.cutting.relink()

    async def action_place_source(self, kind: str) -> None:
        await self.cutting.edit(cast(EditKind, kind))

    def action_target_track(self) -> None:
        self.cutting.target_current_track()

    def action_toggle_source_audio(self) -> None:
        self.cutting.toggle_audio()

    async def action_lift_range(self) -> None:
        if not await self.cutting.lift_range(extract=False):
            self.host.flash("lift range: mark an in and an out first (I, O)")

    async def action_extract_range(self) -> None:
        if not await self.cutting.lift_range(extract=True):
            self.host.flash("extract range: mark an in and an out first (I, O)")

    async def action_close_gap(self) -> None:
        if not await self.cutting.close_gap():
            self.host.flash("close gap: the playhead is not in a gap of the current track")

    def action_trim_mode(self) -> None:
        self.trim_mode.step_mode()

    async def action_move_to_track(self, step: int) -> None:
        await self.tracks.move_to_track(step)

    async def action_toggle_link(self) -> None:
        await self.tracks.toggle_link()

    def action_inspect(self) -> None:
        """The clip inspector: the selected clip's properties, its sound and text edited."""
        from tui.clip_inspector import open_inspector

        open_inspector(self)

    async def action_add_track(self, kind: str) -> None:
        await self.tracks.add_track("audio" if kind == "audio" else "video")

    async def action_remove_track(self) -> None:
        await self.tracks.remove_track()

    async def action_track_flag(self, flag: str) -> None:
        await self.tracks.toggle_flag(cast(Flag, flag))

    def action_rename_track(self) -> None:
        self.tracks.rename_track()

    def action_add_title(self) -> None:
        self.tracks.add_title()

    def action_edit_text(self, field: str) -> None:
        self.tracks.edit_text(field)  # type: ignore[arg-type]

    def action_rename_marker(self) -> None:
        self.tracks.rename_marker()

    async def action_remove_marker(self) -> None:
        await self.tracks.remove_marker()

    def action_marker_list(self) -> None:
        self.tracks.marker_list()

    def status_parts(self) -> list[str]:
        """What the status line adds for the bin and trim mode."""
        parts = self.cutting.status_parts()
        if self.trim_mode.mode is not None:
            parts.insert(0, self.trim_mode.describe())
        return parts
