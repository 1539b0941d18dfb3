"""Three-point editing, as arithmetic: where a source range lands on the timeline.

Pure functions of the project, the source (a bin item with its own playhead and marks) and the
timeline's playhead, tested directly; the editor turns their answer into an `Insert`,
`Overwrite` or `PlaceOnTop` op (`tui/bin_actions.py`).

Marks are half-open, like every range in reelcut: an in mark is the first frame that is used,
an out mark the first frame that is not (O on the frame after the last one you want). NLEs
(Premiere, Resolve, Avid) show an inclusive out point instead: their out point N is reelcut's
out mark N + 1.

The three points, as NLEs count them:

- A missing in mark is the playhead (the timeline's, or the source's own position).
- Timeline in and out set: the edit fills that range; the source gives its in (or, with only a
  source out, is back-timed from it). A source out that disagrees is ignored, as Avid and
  Resolve do without fit-to-fill.
- Only a timeline out: the edit is back-timed so the source's duration ends there.
- Otherwise the edit starts at the timeline in (or the playhead) and lasts the source range:
  from the source in (or its position) to the source out (or the end of the media; a still or
  a Remotion clip has no end, and takes the op's default length).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from engine.errors import ReelcutError
from engine.model import Asset, Clip, Project
from engine.timebase import format_timecode


@dataclass(frozen=True)
class Source:
    """The bin item an edit takes its media from: its own playhead and marks, in frames of the
    media at the project's rate (``mark_out`` excluded, like the timeline's)."""

    asset_id: str
    position: int = 0
    mark_in: int | None = None
    mark_out: int | None = None

    def moved(self, to: int, length: int | None) -> Source:
        """The source with its playhead at ``to``, kept inside the media; it may stand at the
        media's end (``length``), where an out mark takes the whole rest."""
        last = length if length else to
        return replace(self, position=max(0, min(to, last)))


@dataclass(frozen=True)
class Placement:
    """Where the edit lands (``at``), from which source frame, for how long (None: the op's
    default, a still's five seconds)."""

    at: int
    source_in: int
    duration: int | None


def media_length(asset: Asset) -> int | None:
    """Frames of the asset's media at the project's rate, or None for media without an end (a
    still, a Remotion clip)."""
    if asset.kind in ("video", "audio") and asset.media is not None:
        return asset.media.duration_frames
    return None


def place(project: Project, source: Source, asset: Asset, playhead: int) -> Placement:
    """The three-point answer for ``source`` on ``project`` (its in/out marks) at ``playhead``;
    a `ReelcutError` with one line saying what to change when the points do not fit."""
    rate = project.rate
    t_in, t_out = project.editor.mark_in, project.editor.mark_out
    length = media_length(asset)
    s_in = source.mark_in if source.mark_in is not None else source.position
    s_out = source.mark_out if source.mark_out is not None else length
    if length is not None and s_in >= length:
        raise ReelcutError(
            f"the source in ({format_timecode(s_in, rate)}) is past the end of {asset.name}; "
            "mark an earlier in"
        )
    if s_out is not None and s_out <= s_in:
        raise ReelcutError(
            f"the source out ({format_timecode(s_out, rate)}) is not after its in "
            f"({format_timecode(s_in, rate)}); mark them again in the bin"
        )
    if t_in is not None and t_out is not None:
        span = t_out - t_in
        if source.mark_in is None and source.mark_out is not None:
            s_in = source.mark_out - span
            if s_in < 0:
                raise ReelcutError(
                    f"the marked range ({span} frames) is longer than the source before "
                    f"its out mark ({source.mark_out} frames); mark a shorter range"
                )
        return Placement(t_in, s_in, span)
    duration = None if s_out is None else s_out - s_in
    if t_out is not None and t_in is None:
        if duration is None:
            raise ReelcutError(
                f"{asset.name} has no end to back-time from; mark a source out, or a "
                "timeline in instead of the out"
            )
        at = t_out - duration
        if at < 0:
            raise ReelcutError(
                f"back-timed from the out mark the edit would start "
                f"{-at} frames before the timeline; mark a shorter source range"
            )
        return Placement(at, s_in, duration)
    return Placement(t_in if t_in is not None else playhead, s_in, duration)


def replace_range(
    project: Project, source: Source, asset: Asset, clip: Clip, playhead: int
) -> Placement:
    """Replace: the source takes ``clip``'s place and length. With a source in mark the in
    lands on the clip's start; without one the source's playhead lines up with the timeline's
    (Resolve's and Premiere's replace), so the frame you are looking at stays in sync."""
    if source.mark_in is not None:
        s_in = source.mark_in
    else:
        s_in = source.position - (min(max(playhead, clip.start), clip.end - 1) - clip.start)
    if s_in < 0:
        raise ReelcutError(
            f"the source would start {-s_in} frames before {asset.name} begins; move the "
            "source playhead later or mark a source in"
        )
    return Placement(clip.start, s_in, clip.duration)


def track_end(project: Project, track_ids: tuple[str | None, ...]) -> int:
    """Where an append lands: after the last clip of the target tracks (0 if they are empty)."""
    ends = [t.clips[-1].end for t in project.tracks if t.id in track_ids and t.clips]
    return max(ends, default=0)
