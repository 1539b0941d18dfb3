"""Where the editor's keys go: edit points, the clip order for Tab, the clip a key acts on.

Pure functions of a project (no Textual), so they are tested directly and cost what a key press
may cost: edit points are cached per project object (a project is immutable; an edit makes a
new one).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from functools import lru_cache

from engine.errors import ReelcutError
from engine.model import Clip, Project, Track
from engine.timebase import Rate, parse_position


@lru_cache(maxsize=4)
def edit_points(project: Project) -> tuple[int, ...]:
    """Every clip start and end on every track, and the markers, sorted, without repeats."""
    points = {0}
    for track in project.tracks:
        for clip in track.clips:
            points.add(clip.start)
            points.add(clip.end)
    points.update(m.frame for m in project.markers)
    return tuple(sorted(points))


def next_edit_point(project: Project, frame: int) -> int:
    points = edit_points(project)
    i = bisect_right(points, frame)
    return points[i] if i < len(points) else frame


def previous_edit_point(project: Project, frame: int) -> int:
    points = edit_points(project)
    i = bisect_left(points, frame)
    return points[i - 1] if i > 0 else frame


@lru_cache(maxsize=4)
def clip_order(project: Project) -> tuple[tuple[int, int, str], ...]:
    """(start, track index, clip id) for every clip: the order Tab walks (time, then track from
    the top)."""
    return tuple(
        sorted(
            (clip.start, ti, clip.id)
            for ti, track in enumerate(project.tracks)
            for clip in track.clips
        )
    )


def step_clip(project: Project, current: str | None, playhead: int, step: int) -> str | None:
    """The clip after (``step`` 1) or before (-1) ``current``; with no current clip, the first
    clip starting at or after the playhead (or the last one before it)."""
    order = clip_order(project)
    if not order:
        return None
    ids = [c for _, _, c in order]
    if current in ids:
        i = ids.index(current) + step
        return ids[i] if 0 <= i < len(ids) else current
    starts = [s for s, _, _ in order]
    i = bisect_left(starts, playhead)
    if step > 0:
        return ids[i] if i < len(ids) else ids[-1]
    return ids[i - 1] if i > 0 else ids[0]


def find_clip(project: Project, clip_id: str) -> tuple[int, Clip] | None:
    """(track index, clip) for ``clip_id``."""
    for ti, track in enumerate(project.tracks):
        for clip in track.clips:
            if clip.id == clip_id:
                return ti, clip
    return None


def clip_at(track: Track, frame: int) -> Clip | None:
    """The clip on ``track`` covering ``frame``."""
    starts = [c.start for c in track.clips]
    i = bisect_right(starts, frame) - 1
    if i >= 0 and track.clips[i].start <= frame < track.clips[i].end:
        return track.clips[i]
    return None


def target_clip(
    project: Project, selection: tuple[str, ...], track_index: int, frame: int
) -> Clip | None:
    """The clip a trim key acts on: a selected clip under the playhead, else the clip under the
    playhead on the current track, else the first selected clip."""
    for clip_id in selection:
        found = find_clip(project, clip_id)
        if found and found[1].start <= frame < found[1].end:
            return found[1]
    if 0 <= track_index < len(project.tracks):
        clip = clip_at(project.tracks[track_index], frame)
        if clip is not None:
            return clip
    for clip_id in selection:
        found = find_clip(project, clip_id)
        if found:
            return found[1]
    return None


def frames_per_second(rate: Rate) -> int:
    """Whole frames in one second (30 for 29.97): the Shift+arrow step."""
    return max(1, round(rate.num / rate.den))


def parse_goto(text: str, rate: Rate, current: int) -> int:
    """Where the go-to prompt sends the playhead (never before frame 0): a frame number
    (``150``), a timecode filled from the right as NLEs do (``1:05:00`` is 00:01:05:00,
    ``5:10`` is 00:00:05:10), or either as an offset from ``current`` (``+30``, ``-1:00``).
    Raises `ReelcutError` saying what is accepted."""
    text = text.strip()
    sign = text[:1] if text[:1] in "+-" else ""
    body = text[1:].strip() if sign else text
    fields = body.replace(";", ":").split(":")
    if not body or len(fields) > 4 or not all(f.isdigit() for f in fields):
        raise ReelcutError(
            f"{text!r} is not a position: type a timecode (00:01:05:00, 1:05:00, 5:10), "
            "frames (150), or an offset (+30, -1:00)"
        )
    if len(fields) == 1:
        frames = parse_position(body, rate)
    else:
        full = ["00"] * (4 - len(fields)) + [f.zfill(2) for f in fields]
        frames = parse_position(":".join(full), rate)
    if sign:
        frames = current + frames if sign == "+" else current - frames
    return max(0, frames)
