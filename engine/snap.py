"""Magnet snap: pull a position onto the nearest edit point within a threshold.

A pure function of the model, the zoom and the candidate position. The threshold is given in
terminal columns, so the pull feels the same at every zoom: at 4 frames per column a threshold of
2 columns snaps within 8 frames, at 1 frame per column within 2 frames. Candidates are the
playhead, both edges of every clip on every track, markers and the in/out marks. Clips being
dragged are excluded (a clip must not snap to its own edges).

Clip edges are found with a binary search per track, so the cost does not grow with the number
of clips on a track.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection
from dataclasses import dataclass

from engine.model import Project


@dataclass(frozen=True)
class Snap:
    """Where a position snapped to and why (``what`` names the target for the status bar)."""

    frame: int
    what: str
    distance: int


def snap(
    project: Project,
    frame: int,
    *,
    threshold_cells: int = 2,
    frames_per_cell: int | None = None,
    exclude: Collection[str] = (),
    enabled: bool | None = None,
) -> Snap | None:
    """The nearest snap target within the threshold of ``frame``, or None.

    ``frames_per_cell`` defaults to the project's zoom and ``enabled`` to its snapping toggle.
    Ties go to the earlier frame, then to the first kind of target listed in the module doc.
    """
    ed = project.editor
    if not (ed.snapping if enabled is None else enabled):
        return None
    reach = threshold_cells * (frames_per_cell or ed.frames_per_cell)
    best: Snap | None = None

    def offer(target: int, what: str) -> None:
        nonlocal best
        distance = abs(target - frame)
        if distance > reach:
            return
        if best is None or (distance, target) < (best.distance, best.frame):
            best = Snap(target, what, distance)

    offer(ed.playhead, "playhead")
    for track in project.tracks:
        clips = track.clips
        # Clips are sorted by start and do not overlap, so ends are sorted too.
        lo = bisect.bisect_left(clips, frame - reach, key=lambda c: c.start + c.duration)
        for clip in clips[lo:]:
            if clip.start > frame + reach:
                break
            if clip.id in exclude:
                continue
            offer(clip.start, f"start of {clip.name or clip.id}")
            offer(clip.end, f"end of {clip.name or clip.id}")
    for marker in project.markers:
        offer(marker.frame, f"marker {marker.name or marker.id}")
    if ed.mark_in is not None:
        offer(ed.mark_in, "in mark")
    if ed.mark_out is not None:
        offer(ed.mark_out, "out mark")
    return best
