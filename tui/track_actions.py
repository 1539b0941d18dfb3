"""The editor's edits of tracks, links, text clips and markers: what `reelcut edit` offers,
on keys and in the command palette.

`TrackEdits` is a plain controller the editor screen holds (``screen.tracks``); each edit is one
op through the app's door. Prompts are the script panes' one-line `PromptScreen`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

from engine.model import Clip, Marker, Project, Track
from engine.ops import (
    AddMarker,
    AddText,
    AddTrack,
    EditMarker,
    EditText,
    Link,
    Move,
    RemoveMarker,
    RemoveTrack,
    SetTrackFlags,
    Unlink,
)
from engine.timebase import format_timecode, frames_from_seconds
from tui import navigate as nav

if TYPE_CHECKING:
    from tui.app import ReelcutApp
    from tui.editor_screen import EditorScreen

TITLE_SECONDS = 3
"""A title's length when no in/out range is marked."""
Flag = Literal["locked", "muted", "solo"]


def neighbour_track(project: Project, index: int, step: int) -> Track | None:
    """The next track of the same kind as track ``index``, above (``step`` -1) or below."""
    kind = project.tracks[index].kind
    i = index + step
    while 0 <= i < len(project.tracks):
        if project.tracks[i].kind == kind:
            return project.tracks[i]
        i += step
    return None


def free_video_track(project: Project, start: int, end: int) -> Track | None:
    """The top-most unlocked video track with nothing in ``[start, end)``."""
    for t in project.tracks:
        if (
            t.kind == "video"
            and not t.locked
            and all(c.end <= start or c.start >= end for c in t.clips)
        ):
            return t
    return None


def aligned_partner(project: Project, clip: Clip, kind: str) -> Clip | None:
    """An unlinked clip on a track of the other kind with exactly ``clip``'s range."""
    for t in project.tracks:
        if t.kind == kind:
            continue
        for c in t.clips:
            if (c.start, c.duration) == (clip.start, clip.duration) and c.linked_id is None:
                return c
    return None


def marker_at(project: Project, frame: int) -> Marker | None:
    return next((m for m in project.markers if m.frame == frame), None)


class TrackEdits:
    """Moves between tracks, links, track flags, titles and markers."""

    def __init__(self, screen: EditorScreen) -> None:
        self.screen = screen

    @property
    def app(self) -> ReelcutApp:
        return self.screen.host

    def _prompt(
        self, title: str, value: str, then: Callable[[str], Awaitable[None]], hint: str = ""
    ) -> None:
        from tui.script_dialogs import PromptScreen

        def done(text: str | None) -> None:
            if text is not None:
                self.screen.run_worker(then(text), group="prompt-edit")

        self.app.push_screen(PromptScreen(title, value, hint), done)

    # -- clips between tracks, links -------------------------------------------------------

    async def move_to_track(self, step: int) -> None:
        """The selection to the next track of its kind above (-1) or below (1); a linked
        partner stays on its own track and keeps in sync."""
        app = self.app
        sel = self.screen._need_selection("move to another track")
        if not sel:
            return
        found = nav.find_clip(app.project, sel[0])
        if found is None:
            return
        dest = neighbour_track(app.project, found[0], step)
        if dest is None:
            kind = app.project.tracks[found[0]].kind
            where = "above" if step < 0 else "below"
            app.flash(f"no {kind} track {where}; add one from the command palette (Add a track)")
            return
        change = await self.screen._apply(
            Move(clip_ids=sel, track=dest.id, mode="free"), f"move to {dest.name}"
        )
        if change is not None:
            index = next(i for i, t in enumerate(app.project.tracks) if t.id == dest.id)
            app.track_index = index

    async def toggle_link(self) -> None:
        """Two selected clips (video and audio, aligned): link them. One linked clip: unlink
        it. One unlinked clip: link it with the aligned clip of the other kind."""
        app = self.app
        sel = self.screen._need_selection("link")
        if not sel:
            return
        if len(sel) >= 2:
            await self.screen._apply(Link(clip_id=sel[0], other_id=sel[1]), "link")
            return
        found = nav.find_clip(app.project, sel[0])
        if found is None:
            return
        ti, clip = found
        if clip.linked_id is not None:
            await self.screen._apply(Unlink(clip_id=clip.id), "unlink")
            return
        other = aligned_partner(app.project, clip, app.project.tracks[ti].kind)
        if other is None:
            app.flash(
                f"link: no unlinked clip with {clip.id}'s range on a track of the other kind; "
                "select both clips (Tab, then Shift+click) or trim them to one range"
            )
            return
        await self.screen._apply(Link(clip_id=clip.id, other_id=other.id), "link")

    # -- tracks ----------------------------------------------------------------------------

    def _current(self) -> Track | None:
        project = self.app.project
        if not project.tracks:
            self.app.flash("no tracks: add one (Add a video track / Add an audio track)")
            return None
        return project.tracks[self.app.track_index]

    async def add_track(self, kind: Literal["video", "audio"]) -> None:
        """A new video track on top of the others (as NLEs stack V2 over V1), or a new audio
        track at the bottom; the current track stays the same track."""
        app = self.app
        tracks = app.project.tracks
        index = None
        if kind == "video":
            index = next((i for i, t in enumerate(tracks) if t.kind == "video"), 0)
        current = tracks[app.track_index].id if tracks else None
        change = await self.screen._apply(AddTrack(kind=kind, index=index), f"add {kind} track")
        if change is not None and current is not None:
            ids = [t.id for t in app.project.tracks]
            app.track_index = ids.index(current) if current in ids else app.track_index

    async def remove_track(self) -> None:
        track = self._current()
        if track is not None:
            await self.screen._apply(RemoveTrack(track=track.id), f"remove {track.name}")

    async def toggle_flag(self, flag: Flag) -> None:
        """Lock, mute or solo the current track (or undo it)."""
        track = self._current()
        if track is not None:
            on = not getattr(track, flag)
            op = SetTrackFlags(
                track=track.id,
                locked=on if flag == "locked" else None,
                muted=on if flag == "muted" else None,
                solo=on if flag == "solo" else None,
            )
            await self.screen._apply(op, f"{flag} {track.name}")

    def rename_track(self) -> None:
        track = self._current()
        if track is None:
            return
        track_id = track.id

        async def then(name: str) -> None:
            await self.screen._apply(SetTrackFlags(track=track_id, name=name), "rename track")

        self._prompt(f"Rename track {track.name}", track.name, then)

    # -- text clips ------------------------------------------------------------------------

    def add_title(self) -> None:
        """A text clip over the in/out range (or three seconds from the playhead) on the
        top-most video track free there."""
        app = self.app
        project = app.project
        ed = project.editor
        start = ed.mark_in if ed.mark_in is not None else app.playhead
        if ed.mark_in is not None and ed.mark_out is not None:
            duration = ed.mark_out - ed.mark_in
        else:
            duration = frames_from_seconds(Fraction(TITLE_SECONDS), project.rate)
        track = free_video_track(project, start, start + duration)
        if track is None:
            app.flash(
                "title: no video track is free there; add one (command palette: Add a video "
                "track) or mark a shorter range"
            )
            return
        track_id = track.id

        async def then(text: str) -> None:
            await self.screen._apply(
                AddText(text=text, at=start, duration=duration, track=track_id), "title"
            )

        self._prompt(
            f"Title text ({format_timecode(start, project.rate)}, {duration} frames, on "
            f"{track.name})",
            "",
            then,
        )

    def _text_clip(self, what: str) -> Clip | None:
        app = self.app
        clip = nav.target_clip(app.project, app.selection, app.track_index, app.playhead)
        if clip is None or clip.kind != "text" or clip.text is None:
            app.flash(f"{what}: select a text clip first (Ctrl+T adds a title)")
            return None
        return clip

    def edit_text(self, field: Literal["text", "size", "color"]) -> None:
        """Change the selected text clip's text, size or colour."""
        clip = self._text_clip(f"text {field}")
        if clip is None or clip.text is None:
            return
        clip_id = clip.id
        current = {"text": clip.text.text, "size": str(clip.text.size), "color": clip.text.color}

        async def then(value: str) -> None:
            if field == "size":
                if not value.isdigit() or not 1 <= int(value) <= 1000:
                    self.app.flash(f"text size: {value!r} is not a size from 1 to 1000 pixels")
                    return
                op = EditText(clip_id=clip_id, size=int(value))
            elif field == "color":
                op = EditText(clip_id=clip_id, color=value)
            else:
                op = EditText(clip_id=clip_id, text=value)
            await self.screen._apply(op, f"text {field}")

        hints = {"size": "pixels, 1-1000", "color": "#rrggbb", "text": ""}
        self._prompt(f"Text clip {clip_id}: {field}", current[field], then, hints[field])

    # -- markers ---------------------------------------------------------------------------

    async def add_or_rename_marker(self) -> None:
        """M: a marker at the playhead; on a frame that has one already, rename that one
        (pressing M twice made two markers on one frame)."""
        existing = marker_at(self.app.project, self.app.playhead)
        if existing is None:
            await self.screen._apply(AddMarker(at=self.app.playhead), "marker")
        else:
            self.rename_marker()

    def rename_marker(self) -> None:
        marker = marker_at(self.app.project, self.app.playhead)
        if marker is None:
            self.app.flash("no marker at the playhead (Up/Down stop at markers)")
            return
        marker_id = marker.id

        async def then(name: str) -> None:
            await self.screen._apply(EditMarker(marker_id=marker_id, name=name), "rename marker")

        self._prompt(f"Marker {marker.name or marker.id}: name", marker.name, then)

    async def remove_marker(self) -> None:
        marker = marker_at(self.app.project, self.app.playhead)
        if marker is None:
            self.app.flash("no marker at the playhead (Up/Down stop at markers)")
            return
        await self.screen._apply(RemoveMarker(marker_id=marker.id), "remove marker")

    def marker_list(self) -> None:
        """Shift+M: every marker in a list to jump to, rename, annotate or delete."""
        from tui.marker_list import MarkerListScreen  # loaded when first asked for

        self.app.push_screen(MarkerListScreen(self))
