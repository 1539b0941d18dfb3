"""The working copy an operation edits, and the reversible primitives it records.

Every operation is compiled against a ``Draft``: it reads the project, and each change it makes
goes through one of a handful of primitives (add/remove/replace a clip, ripple-shift a track,
add/remove/replace a track, a marker or the editor state). The draft applies each primitive to
its working state and records it, so the forward edit is the list of primitives and the inverse
is the list of their inverses in reverse order: an exact undo for every operation, checked by
the tests, without writing an inverse for each op by hand.

The draft works on a ``Timeline`` (``engine.timeline``): each track is a persistent clip
sequence, so an edit costs the chunks it touches, not the length of the track, and a ripple moves
chunk offsets instead of rebuilding every later clip. Everything unchanged is shared.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import msgspec

from engine.errors import ReelcutError
from engine.model import UNITY_AUDIO, Asset, Clip, EditorState, Marker, Project, Track
from engine.timebase import format_timecode
from engine.timeline import ClipSeq, Timeline


class OpError(ReelcutError):
    """An operation that cannot apply; the message says why and what would work instead."""

    exit_code = 7


class Overlap(OpError):
    """A clip would land on another one: ``where`` says which, on which track and at what
    time (without advice, so an op can give its own), ``other`` is the clip in the way."""

    def __init__(self, message: str, *, where: str, other: str) -> None:
        super().__init__(message)
        self.where = where
        self.other = other


class Primitive(msgspec.Struct, frozen=True, tag_field="p", forbid_unknown_fields=True):
    """One reversible change; ``inverse()`` undoes it exactly."""

    def inverse(self) -> Primitive:
        raise NotImplementedError


class AddClip(Primitive, frozen=True, tag="add_clip"):
    track_id: str
    clip: Clip

    def inverse(self) -> Primitive:
        return RemoveClip(self.track_id, self.clip)


class RemoveClip(Primitive, frozen=True, tag="remove_clip"):
    track_id: str
    clip: Clip

    def inverse(self) -> Primitive:
        return AddClip(self.track_id, self.clip)


class ReplaceClip(Primitive, frozen=True, tag="replace_clip"):
    """Change a clip in place (same id): a trim, slip or property edit."""

    track_id: str
    before: Clip
    after: Clip

    def inverse(self) -> Primitive:
        return ReplaceClip(self.track_id, self.after, self.before)


class Shift(Primitive, frozen=True, tag="shift"):
    """Move every clip on the track that starts at or after ``at`` by ``by`` frames.

    A shift to the left requires that no clip starts in ``[at + by, at)``, so the inverse
    (``Shift(at + by, -by)``) selects exactly the clips this one moved.
    """

    track_id: str
    at: int
    by: int

    def inverse(self) -> Primitive:
        return Shift(self.track_id, self.at + self.by, -self.by)


class PutTrack(Primitive, frozen=True, tag="put_track"):
    index: int
    track: Track

    def inverse(self) -> Primitive:
        return DropTrack(self.index, self.track)


class DropTrack(Primitive, frozen=True, tag="drop_track"):
    index: int
    track: Track

    def inverse(self) -> Primitive:
        return PutTrack(self.index, self.track)


class SetTrackHeader(Primitive, frozen=True, tag="set_track"):
    """Change a track's name or flags; ``before``/``after`` carry no clips."""

    before: Track
    after: Track

    def inverse(self) -> Primitive:
        return SetTrackHeader(self.after, self.before)


class MoveTrack(Primitive, frozen=True, tag="move_track"):
    from_index: int
    to_index: int

    def inverse(self) -> Primitive:
        return MoveTrack(self.to_index, self.from_index)


class SetMarker(Primitive, frozen=True, tag="set_marker"):
    """Add (``before`` None), remove (``after`` None) or change a marker."""

    before: Marker | None
    after: Marker | None

    def inverse(self) -> Primitive:
        return SetMarker(self.after, self.before)


class SetEditor(Primitive, frozen=True, tag="set_editor"):
    before: EditorState
    after: EditorState

    def inverse(self) -> Primitive:
        return SetEditor(self.after, self.before)


class SetNextId(Primitive, frozen=True, tag="set_next_id"):
    before: int
    after: int

    def inverse(self) -> Primitive:
        return SetNextId(self.after, self.before)


class SetAsset(Primitive, frozen=True, tag="set_asset"):
    """Add (``before`` None), remove (``after`` None) or change an asset of the pool: a
    generated take's placeholder, and its bytes when they land (`engine.ops.generate`)."""

    before: Asset | None
    after: Asset | None

    def inverse(self) -> Primitive:
        return SetAsset(self.after, self.before)


AnyPrimitive = (
    AddClip
    | RemoveClip
    | ReplaceClip
    | Shift
    | PutTrack
    | DropTrack
    | SetTrackHeader
    | MoveTrack
    | SetMarker
    | SetEditor
    | SetNextId
    | SetAsset
)


def fit_fades(clip: Clip) -> Clip:
    """``clip`` with its fades shortened to fit its duration: the fade-in first, then the
    fade-out in what is left (a clip trimmed shorter than its fades keeps its fade-in).
    Unity gain without fades is stored as no audio settings at all."""
    audio = clip.audio
    if audio is None:
        return clip
    fade_in = min(audio.fade_in, clip.duration)
    fade_out = min(audio.fade_out, clip.duration - fade_in)
    if (fade_in, fade_out) != (audio.fade_in, audio.fade_out):
        audio = msgspec.structs.replace(audio, fade_in=fade_in, fade_out=fade_out)
    if audio == UNITY_AUDIO:
        return msgspec.structs.replace(clip, audio=None)
    return clip if audio is clip.audio else msgspec.structs.replace(clip, audio=audio)


def _changes_nothing(p: Primitive) -> bool:
    if isinstance(p, SetMarker | SetEditor | SetTrackHeader | SetNextId | ReplaceClip | SetAsset):
        return p.before == p.after
    if isinstance(p, MoveTrack):
        return p.from_index == p.to_index
    if isinstance(p, Shift):
        return p.by == 0
    return False


class Draft:
    """A project being edited: read it, change it through primitives, then ``finish()``."""

    def __init__(self, project: Project | Timeline) -> None:
        timeline = project if isinstance(project, Timeline) else Timeline.of(project)
        self.base = timeline.header
        """The project before the edit, for everything but clips (its tracks' clips may be
        stale: read clips through the draft)."""
        self.rate = self.base.rate
        self._tracks: list[Track] = list(self.base.tracks)
        self._seqs: dict[str, ClipSeq] = dict(timeline.seqs)
        self._dirty: set[str] = set()  # tracks whose clips this edit changed
        self._shifted: list[tuple[ClipSeq, int]] = []  # (sequence after a shift, first index)
        self._markers: list[Marker] | None = None
        self._assets: list[Asset] | None = None
        self._editor = self.base.editor
        self._next_id = self.base.next_id
        self.steps: list[Primitive] = []
        self.touched: set[str] = set()

    # -- reading ---------------------------------------------------------------------------

    @property
    def tracks(self) -> list[Track]:
        """Track headers in display order (their ``clips`` may be stale: use ``clips()``)."""
        return self._tracks

    @property
    def editor(self) -> EditorState:
        return self._editor

    @property
    def markers(self) -> list[Marker]:
        return self._markers if self._markers is not None else list(self.base.markers)

    def track(self, track_id: str) -> Track:
        for t in self._tracks:
            if t.id == track_id:
                return t
        raise OpError(
            f"track {track_id!r} does not exist; tracks are "
            f"{', '.join(f'{t.id} ({t.name})' for t in self._tracks)}"
        )

    def track_by_ref(self, ref: str) -> Track:
        """A track by id (``t_2``) or by name (``V1``)."""
        for t in self._tracks:
            if t.id == ref or t.name == ref:
                return t
        raise OpError(
            f"no track {ref!r}; tracks are {', '.join(f'{t.id} ({t.name})' for t in self._tracks)}"
        )

    def track_index(self, track_id: str) -> int:
        for i, t in enumerate(self._tracks):
            if t.id == track_id:
                return i
        raise OpError(f"track {track_id!r} does not exist")

    def clips(self, track_id: str) -> ClipSeq:
        """The track's clips, sorted by start (read-only: change them through primitives)."""
        seq = self._seqs.get(track_id)
        if seq is None:
            self.track(track_id)  # raises, naming the tracks that exist
            raise AssertionError(track_id)
        return seq

    def find(self, clip_id: str) -> tuple[Track, Clip]:
        """The clip with ``clip_id`` and its track; OpError naming the id if there is none."""
        for t in self._tracks:
            seq = self._seqs[t.id]
            i = seq.index_of(clip_id)
            if i >= 0:
                return t, seq[i]
        raise OpError(f"clip {clip_id!r} does not exist; `reelcut info DIR` lists clip ids")

    def partner(self, clip: Clip) -> tuple[Track, Clip] | None:
        """The clip linked to ``clip``, with its track, if it has one."""
        return self.find(clip.linked_id) if clip.linked_id else None

    def at(self, track_id: str, frame: int) -> Clip | None:
        """The clip covering ``frame`` on the track, if any."""
        clips = self.clips(track_id)
        i = clips.bisect_right(frame) - 1
        if i >= 0:
            c = clips[i]
            if c.end > frame:
                return c
        return None

    def before(self, track_id: str, frame: int) -> Clip | None:
        """The last clip on the track that ends at or before ``frame``."""
        clips = self.clips(track_id)
        i = clips.bisect_right(frame) - 1
        if i >= 0 and clips[i].end > frame:
            i -= 1
        return clips[i] if i >= 0 else None

    def after(self, track_id: str, frame: int) -> Clip | None:
        """The first clip on the track that starts after ``frame``."""
        clips = self.clips(track_id)
        i = clips.bisect_right(frame)
        return clips[i] if i < len(clips) else None

    def neighbours(self, track_id: str, clip: Clip) -> tuple[Clip | None, Clip | None]:
        """The clips just before and just after ``clip`` on its track (adjacent or not)."""
        clips = self.clips(track_id)
        i = self._index(track_id, clip)
        return (clips[i - 1] if i > 0 else None, clips[i + 1] if i + 1 < len(clips) else None)

    def overlapping(self, track_id: str, start: int, end: int) -> list[Clip]:
        """Clips on the track that share at least one frame with ``[start, end)``."""
        clips = self.clips(track_id)
        out = []
        for i in range(max(clips.bisect_right(start) - 1, 0), len(clips)):
            c = clips[i]
            if c.start >= end:
                break
            if c.end > start:
                out.append(c)
        return out

    def tc(self, frame: int) -> str:
        return format_timecode(frame, self.rate)

    def asset(self, asset_id: str | None) -> object:
        return self.base.asset(asset_id) if asset_id else None

    @property
    def assets(self) -> list[Asset]:
        """The asset pool as this edit has it (`SetAsset` steps included)."""
        return self._assets if self._assets is not None else list(self.base.assets)

    def current_asset(self, asset_id: str) -> Asset | None:
        """The asset ``asset_id`` as this edit has it, or None."""
        return next((a for a in self.assets if a.id == asset_id), None)

    def set_asset(self, before: Asset | None, after: Asset | None) -> None:
        if before != after:
            self._record(SetAsset(before, after))

    # -- changing --------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        n = self._next_id
        self._record(SetNextId(n, n + 1))
        return f"{prefix}_{n}"

    def add(self, track_id: str, clip: Clip) -> None:
        self._record(AddClip(track_id, fit_fades(clip)))

    def remove(self, track_id: str, clip: Clip) -> None:
        self._record(RemoveClip(track_id, clip))

    def replace(self, track_id: str, before: Clip, after: Clip) -> None:
        """Change ``before`` into ``after``; fades that no longer fit are shortened
        (`fit_fades`), so a trim, roll or slide never leaves a clip with longer fades than
        frames."""
        after = fit_fades(after)
        if before != after:
            self._record(ReplaceClip(track_id, before, after))

    def shift(self, track_id: str, at: int, by: int) -> None:
        if by:
            self._record(Shift(track_id, at, by))

    def apply(self, primitives: Iterable[Primitive]) -> None:
        """Apply and record each primitive, leaving out those that change nothing (a marker
        set to itself, marks cleared that were not set): an edit that changes nothing records
        no step, and the session says "no change" instead of keeping an undo step for it."""
        for p in primitives:
            if not _changes_nothing(p):
                self._record(p)

    def _record(self, p: Primitive) -> None:
        self._apply(p)
        self.steps.append(p)

    def _working(self, track_id: str) -> ClipSeq:
        if track_id not in self._dirty:
            self._check_unlocked(track_id)
            self._dirty.add(track_id)
        return self._seqs[track_id]

    def _check_unlocked(self, track_id: str) -> None:
        t = self.track(track_id)
        if t.locked:
            raise OpError(
                f"track {t.name} is locked; unlock it first "
                f"(`reelcut edit DIR track-flags --track {t.name} --unlock`)"
            )

    def _index(self, track_id: str, clip: Clip) -> int:
        clips = self.clips(track_id)
        i = clips.bisect_left(clip.start)
        if i < len(clips) and clips[i].id == clip.id:
            return i
        raise OpError(
            f"clip {clip.id} is not at {self.tc(clip.start)} on track "
            f"{self.track(track_id).name} any more; the timeline changed"
        )

    def _apply(self, p: Primitive) -> None:
        if isinstance(p, AddClip):
            clips = self._working(p.track_id)
            c = p.clip
            i = clips.bisect_left(c.start)
            before = clips[i - 1] if i > 0 else None
            after = clips[i] if i < len(clips) else None
            if before is not None and before.end > c.start:
                raise self._overlap(p.track_id, c, before)
            if after is not None and after.start < c.end:
                raise self._overlap(p.track_id, c, after)
            self._seqs[p.track_id] = clips.insert(i, c)
            self.touched.add(c.id)
        elif isinstance(p, RemoveClip):
            clips = self._working(p.track_id)
            i = self._index(p.track_id, p.clip)
            if clips[i] != p.clip:
                raise OpError(f"clip {p.clip.id} changed since this edit was made")
            self._seqs[p.track_id] = clips.delete(i)
            self.touched.add(p.clip.id)
        elif isinstance(p, ReplaceClip):
            clips = self._working(p.track_id)
            i = self._index(p.track_id, p.before)
            if clips[i] != p.before:
                raise OpError(f"clip {p.before.id} changed since this edit was made")
            c = p.after
            if i > 0 and clips[i - 1].end > c.start:
                raise self._overlap(p.track_id, c, clips[i - 1])
            if i + 1 < len(clips) and clips[i + 1].start < c.end:
                raise self._overlap(p.track_id, c, clips[i + 1])
            self._seqs[p.track_id] = clips.replace(i, c)
            self.touched.add(c.id)
        elif isinstance(p, Shift):
            self._shift(p)
        elif isinstance(p, PutTrack):
            self._tracks.insert(p.index, p.track)
            self._seqs[p.track.id] = ClipSeq.of(p.track.clips)
            self._dirty.add(p.track.id)
            self.touched.add(p.track.id)
            self.touched.update(c.id for c in p.track.clips)
        elif isinstance(p, DropTrack):
            current = self._tracks[p.index]
            if current.id != p.track.id:
                raise OpError(f"track {p.track.name} is not at position {p.index} any more")
            del self._tracks[p.index]
            del self._seqs[p.track.id]
            self._dirty.discard(p.track.id)
            self.touched.add(p.track.id)
            self.touched.update(c.id for c in p.track.clips)
        elif isinstance(p, SetTrackHeader):
            i = self.track_index(p.before.id)
            self._tracks[i] = msgspec.structs.replace(p.after, clips=self._tracks[i].clips)
            self.touched.add(p.after.id)
        elif isinstance(p, MoveTrack):
            t = self._tracks.pop(p.from_index)
            self._tracks.insert(p.to_index, t)
            self.touched.add(t.id)
        elif isinstance(p, SetMarker):
            markers = self._markers = self.markers
            if p.before is not None:
                markers.remove(p.before)
            if p.after is not None:
                markers.append(p.after)
                markers.sort(key=lambda m: (m.frame, m.id))
            self.touched.add((p.after or p.before).id)  # type: ignore[union-attr]
        elif isinstance(p, SetEditor):
            # Only the fields this step changes: undoing an edit must not also undo an editor
            # change saved after it (the playhead moved since). On the state the step was
            # recorded against, this gives exactly ``after``.
            changed = {
                name: getattr(p.after, name)
                for name in p.after.__struct_fields__
                if getattr(p.before, name) != getattr(p.after, name)
            }
            self._editor = msgspec.structs.replace(self._editor, **changed)
        elif isinstance(p, SetNextId):
            self._next_id = p.after
        elif isinstance(p, SetAsset):
            assets = self._assets = self.assets
            if p.before is not None:
                i = next((i for i, a in enumerate(assets) if a.id == p.before.id), -1)
                if i < 0 or assets[i] != p.before:
                    raise OpError(f"asset {p.before.id} changed since this edit was made")
                if p.after is not None and p.after.id == p.before.id:
                    assets[i] = p.after
                else:
                    del assets[i]
                    if p.after is not None:
                        assets.append(p.after)
            elif p.after is not None:
                if any(a.id == p.after.id for a in assets):
                    raise OpError(f"asset id {p.after.id} is already used")
                assets.append(p.after)
            self.touched.add("assets")
        else:  # pragma: no cover - exhaustive over AnyPrimitive
            raise TypeError(p)

    def _shift(self, p: Shift) -> None:
        clips = self._working(p.track_id)
        i = clips.bisect_left(p.at)
        if p.by < 0:
            if p.at + p.by < 0:
                raise OpError(
                    f"cannot move clips before the start of the timeline "
                    f"(by {p.by} frames from {self.tc(p.at)})"
                )
            prev = clips[i - 1] if i > 0 else None
            if prev is not None and prev.start >= p.at + p.by:
                name = self.track(p.track_id).name
                raise OpError(
                    f"{prev.name or prev.id} ({prev.id}) on {name} is in the way of "
                    f"the ripple at {self.tc(prev.start)}; make room on {name} "
                    f"first, or lock {name} to leave it out of the ripple"
                )
            if prev is not None and i < len(clips) and prev.end > clips[i].start + p.by:
                name = self.track(p.track_id).name
                raise OpError(
                    f"the ripple would pull {clips[i].id} on {name} into {prev.id} at "
                    f"{self.tc(clips[i].start + p.by)}; make room on {name} first, or lock "
                    f"{name} to leave it out of the ripple"
                )
        shifted = self._seqs[p.track_id] = clips.shift_from(i, p.by)
        # Which clips moved is worked out only if someone asks (``touched_ids``).
        self._shifted.append((shifted, i))

    def _overlap(self, track_id: str, clip: Clip, other: Clip) -> OpError:
        name = self.track(track_id).name
        where = f"clip {clip.id} would overlap {other.id} on {name} at " + self.tc(
            max(clip.start, other.start)
        )
        return Overlap(f"{where}; use insert or move to a free range", where=where, other=other.id)

    def finish(self) -> Timeline:
        """The edited timeline (unchanged parts shared with the original)."""
        header = msgspec.structs.replace(
            self.base,
            tracks=tuple(self._tracks),
            markers=tuple(self._markers) if self._markers is not None else self.base.markers,
            editor=self._editor,
            next_id=self._next_id,
            assets=tuple(self._assets) if self._assets is not None else self.base.assets,
        )
        return Timeline(header, self._seqs)

    def touched_ids(self) -> frozenset[str]:
        """Ids of every track, clip and marker the edit changed, ripple-shifted clips included."""
        ids = set(self.touched)
        for seq, i in self._shifted:
            ids.update(seq.ids_from(i))
        return frozenset(ids)


Kind = Literal["video", "audio"]
