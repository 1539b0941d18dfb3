"""Operations as data: the base class, results, and the edit helpers every family shares.

An ``Op`` is a frozen msgspec struct (so it serialises into history and changesets as JSON with
an ``"op"`` tag). ``op.apply(project)`` compiles it against a ``Draft`` and returns the new
project, the exact inverse (a ``Batch`` of recorded primitives, itself an op) and the ids it
touched. An op that cannot apply raises ``OpError`` with a reason an agent can act on.

Ripple edits keep the whole timeline in sync: every unlocked track shifts with the edit, and a
locked track never changes (an edit that would have to move a clip on a locked track, or pull a
linked partner out of sync with it, is refused).
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from engine.model import Clip, Project, Track
from engine.ops.draft import AnyPrimitive, Draft, OpError, fit_fades
from engine.timebase import MAX_FRAMES
from engine.timeline import Timeline

# The integers an op takes, bounded in their types so that decoding (msgspec, strict: 1.0 is not
# an int) refuses what no timeline can hold and each tool's JSON schema shows the bounds. An op
# built by its constructor is not checked against them: its ``compile`` refuses what does not
# fit the project (a negative position, a clip that would leave its media).
Frame = Annotated[int, msgspec.Meta(ge=0, le=MAX_FRAMES)]
"""A position on the timeline or in a clip's media, in frames."""
Frames = Annotated[int, msgspec.Meta(ge=1, le=MAX_FRAMES)]
"""A duration: at least one frame."""
Offset = Annotated[int, msgspec.Meta(ge=-MAX_FRAMES, le=MAX_FRAMES)]
"""A signed distance in frames (a move, a trim, a slip)."""
FontSize = Annotated[int, msgspec.Meta(ge=1, le=1000)]
"""A text clip's font size in pixels."""


class Result:
    """What an applied op produced.

    ``timeline`` is the edited timeline; ``project`` (the plain model, absolute starts) and
    ``touched`` are worked out on first use, so an op's own cost does not grow with the clips a
    ripple moved.
    """

    __slots__ = ("_draft", "_touched", "forward", "inverse", "summary", "timeline")

    def __init__(self, draft: Draft, summary: str) -> None:
        self._draft = draft
        self._touched: frozenset[str] | None = None
        self.timeline = draft.finish()
        self.forward = Batch(tuple(draft.steps))  # type: ignore[arg-type]
        """The primitives that were applied: redo replays these, never the op itself."""
        self.inverse = Batch(tuple(p.inverse() for p in reversed(draft.steps)))  # type: ignore[misc]
        self.summary = summary

    @property
    def project(self) -> Project:
        return self.timeline.project

    @property
    def touched(self) -> frozenset[str]:
        if self._touched is None:
            self._touched = self._draft.touched_ids()
        return self._touched


class Op(msgspec.Struct, frozen=True, tag_field="op", forbid_unknown_fields=True):
    """An edit. Subclasses implement ``compile`` and return a one-line summary."""

    def compile(self, d: Draft) -> str:
        raise NotImplementedError

    def apply(self, project: Project | Timeline) -> Result:
        d = Draft(project)
        summary = self.compile(d)
        _prune_selection(d)
        return Result(d, summary)


class Batch(Op, frozen=True, tag="batch"):
    """Recorded primitives, replayed as they are: the form of every inverse and of redo."""

    steps: tuple[AnyPrimitive, ...] = ()

    def compile(self, d: Draft) -> str:
        d.apply(self.steps)
        return f"{len(self.steps)} recorded changes"


def _prune_selection(d: Draft) -> None:
    """Drop removed clips from the selection, so it never names a clip that is gone."""
    sel = d.editor.selection
    if not sel:
        return
    alive = [cid for cid in sel if _exists(d, cid)]
    if len(alive) != len(sel):
        from engine.ops.draft import SetEditor

        d.apply([SetEditor(d.editor, msgspec.structs.replace(d.editor, selection=tuple(alive)))])


def _exists(d: Draft, clip_id: str) -> bool:
    try:
        d.find(clip_id)
    except OpError:
        return False
    return True


# -- helpers shared by the op families -------------------------------------------------------


def with_partners(d: Draft, clip_ids: tuple[str, ...] | list[str]) -> list[tuple[Track, Clip]]:
    """The named clips and their linked partners, each once, in timeline order."""
    seen: dict[str, tuple[Track, Clip]] = {}
    for cid in clip_ids:
        t, c = d.find(cid)
        seen[c.id] = (t, c)
        partner = d.partner(c)
        if partner is not None:
            seen[partner[1].id] = partner
    return sorted(seen.values(), key=lambda tc: (tc[1].start, d.track_index(tc[0].id)))


def ripple(d: Draft, at: int, by: int) -> None:
    """Shift everything at or after ``at`` by ``by`` frames on every unlocked track."""
    if not by:
        return
    for t in d.tracks:
        if t.locked:
            clips = d.clips(t.id)
            for i in range(clips.bisect_left(at), len(clips)):
                c = clips[i]
                if c.linked_id:
                    raise OpError(
                        f"clip {c.id} on locked track {t.name} is linked to a clip this edit "
                        f"moves; unlock {t.name} or unlink {c.id}"
                    )
            continue
        d.shift(t.id, at, by)


def check_source(d: Draft, clip: Clip) -> None:
    """Refuse a clip whose source range runs outside its media."""
    if clip.duration < 1:
        raise OpError(
            f"clip {clip.id} would be shorter than one frame; change it by less, or remove "
            f"it with lift or ripple-delete"
        )
    if clip.start < 0:
        raise OpError(f"clip {clip.id} would start before the timeline (at {clip.start})")
    if clip.source_in < 0:
        raise OpError(
            f"clip {clip.id} would start {-clip.source_in} frames before its media; "
            f"change it by {-clip.source_in} frames less"
        )
    asset = d.base.asset(clip.asset_id) if clip.asset_id else None
    media = asset.media if asset is not None else None
    if asset is not None and media is not None and asset.kind in ("video", "audio"):
        end = clip.source_in + clip.duration
        if end > media.duration_frames:
            raise OpError(
                f"clip {clip.id} would play source frames up to {end} but {asset.name} "
                f"({asset.id}) has {media.duration_frames}; use a shorter range"
            )


def split(d: Draft, track: Track, clip: Clip, at: int) -> tuple[Clip, Clip]:
    """Cut ``clip`` at ``at`` (strictly inside it); the right half gets a new id.

    Both halves keep the gain; the fade-in stays on the left half and the fade-out goes with
    the right one (each shortened to fit its half), so the cut itself is not faded."""
    left_audio = right_audio = clip.audio
    if clip.audio is not None:
        left_audio = msgspec.structs.replace(clip.audio, fade_out=0)
        right_audio = msgspec.structs.replace(clip.audio, fade_in=0)
    left = msgspec.structs.replace(clip, duration=at - clip.start, audio=left_audio)
    right = msgspec.structs.replace(
        clip,
        id=d.new_id("c"),
        start=at,
        duration=clip.end - at,
        source_in=clip.source_in + (at - clip.start),
        audio=right_audio,
    )
    left, right = fit_fades(left), fit_fades(right)
    d.replace(track.id, clip, left)
    d.add(track.id, right)
    return left, right


def split_pair(d: Draft, track: Track, clip: Clip, at: int) -> list[str]:
    """Cut ``clip`` and its linked partner at ``at``; right halves are linked to each other."""
    partner = d.partner(clip)
    left, right = split(d, track, clip, at)
    if partner is None:
        return [left.id, right.id]
    ptrack, pclip = partner
    pleft, pright = split(d, ptrack, pclip, at)
    d.replace(track.id, right, msgspec.structs.replace(right, linked_id=pright.id))
    d.replace(ptrack.id, pright, msgspec.structs.replace(pright, linked_id=right.id))
    return [left.id, right.id, pleft.id, pright.id]


def clear_range(d: Draft, track: Track, start: int, end: int) -> None:
    """Empty ``[start, end)`` on the track, cutting clips that straddle its edges. A linked
    partner loses the same frames, so pairs stay aligned."""
    for clip in d.overlapping(track.id, start, end):
        current = d.find(clip.id)[1]
        if current.start >= end or current.end <= start:
            continue  # already carved as the partner of a clip handled earlier
        if current.start < start:
            _, right = split_pair(d, track, current, start)[:2]
            current = d.find(right)[1]
        if current.end > end:
            split_pair(d, track, current, end)
            current = d.find(current.id)[1]
        for t, c in with_partners(d, [current.id]):
            d.remove(t.id, c)


def media_track(d: Draft, kind: str, ref: str | None) -> Track:
    """The track named by ``ref``, or the first unlocked track of ``kind``."""
    if ref is not None:
        t = d.track_by_ref(ref)
        if t.kind != kind:
            raise OpError(
                f"track {t.name} is {with_article(t.kind)} track; this needs "
                f"{with_article(kind)} track (name one, or leave the track out to use the first)"
            )
        return t
    for t in d.tracks:
        if t.kind == kind and not t.locked:
            return t
    raise OpError(f"no unlocked {kind} track; add one with `reelcut edit DIR add-track {kind}`")


def with_article(kind: str) -> str:
    """``a video``, ``an audio``."""
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"
