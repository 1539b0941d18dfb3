"""Invariants of a project that the types alone cannot express.

``problems(project)`` lists every broken invariant as ``(json_path, message)``; loading refuses a
file with any, and the timeline engine checks them after each operation in its tests. It runs in
one pass over the model (O(clips)), cheap enough to run on every load.
"""

from __future__ import annotations

import re

from engine.model import Project
from engine.timebase import format_timecode

_NUMERIC_ID = re.compile(r"^[a-z]+_(\d+)$")

# Which asset kinds a media/remotion clip may show on which kind of track.
_ASSET_ON_TRACK = {
    "video": {"video", "image", "callout"},
    "audio": {"audio", "video"},
}


def problems(project: Project) -> list[tuple[str, str]]:
    """Every broken invariant, as ``(json_path, message)``, in document order."""
    out: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    max_suffix = 0

    def claim(obj_id: str, path: str) -> None:
        nonlocal max_suffix
        if obj_id in seen:
            out.append((f"{path}.id", f"id {obj_id!r} is already used at {seen[obj_id]}"))
        else:
            seen[obj_id] = path
        m = _NUMERIC_ID.match(obj_id)
        if m:
            max_suffix = max(max_suffix, int(m.group(1)))

    assets = {}
    for i, a in enumerate(project.assets):
        path = f"$.assets[{i}]"
        claim(a.id, path)
        assets[a.id] = a
        if a.kind in ("video", "audio", "image") and (a.hash is None or a.ext is None):
            out.append((path, f"{a.kind} asset {a.id} has no hash/ext, so it has no bytes"))
    folder_ids = set()
    for i, f in enumerate(project.folders):
        claim(f.id, f"$.folders[{i}]")
        folder_ids.add(f.id)
    for i, a in enumerate(project.assets):
        if a.folder_id is not None and a.folder_id not in folder_ids:
            out.append((f"$.assets[{i}].folder_id", f"folder {a.folder_id!r} does not exist"))
    for i, f in enumerate(project.folders):
        if f.parent_id is not None and f.parent_id not in folder_ids:
            out.append((f"$.folders[{i}].parent_id", f"folder {f.parent_id!r} does not exist"))

    rate = project.rate
    clips: dict[str, tuple[str, int, int, str, str]] = {}  # id -> (path, start, dur, kind, link)
    for ti, track in enumerate(project.tracks):
        tpath = f"$.tracks[{ti}]"
        claim(track.id, tpath)
        prev = None
        for ci, clip in enumerate(track.clips):
            path = f"{tpath}.clips[{ci}]"
            claim(clip.id, path)
            clips[clip.id] = (path, clip.start, clip.duration, track.kind, clip.linked_id or "")
            if prev is not None and clip.start < prev.end:
                if clip.start < prev.start:
                    msg = f"clip {clip.id} starts before {prev.id}; clips must be sorted by start"
                else:
                    msg = (
                        f"clip {clip.id} overlaps {prev.id} on {track.name} at "
                        f"{format_timecode(clip.start, rate)}; clips on a track must not overlap"
                    )
                out.append((f"{path}.start", msg))
            prev = clip
            if clip.kind == "text":
                if clip.text is None:
                    out.append((f"{path}.text", f"text clip {clip.id} has no text properties"))
                if track.kind != "video":
                    out.append((path, f"text clip {clip.id} is on audio track {track.name}"))
                continue
            if clip.asset_id is None:
                out.append((f"{path}.asset_id", f"{clip.kind} clip {clip.id} names no asset"))
                continue
            asset = assets.get(clip.asset_id)
            if asset is None:
                out.append((f"{path}.asset_id", f"asset {clip.asset_id!r} does not exist"))
                continue
            allowed = {"remotion"} if clip.kind == "remotion" else _ASSET_ON_TRACK[track.kind]
            if asset.kind not in allowed:
                out.append(
                    (
                        f"{path}.asset_id",
                        f"{asset.kind} asset {asset.id} cannot be a {clip.kind} clip "
                        f"on {track.kind} track {track.name}",
                    )
                )
            media = asset.media
            if (
                asset.kind in ("video", "audio")
                and media is not None
                and clip.source_in + clip.duration > media.duration_frames
            ):
                out.append(
                    (
                        f"{path}.duration",
                        f"clip {clip.id} plays source frames {clip.source_in}-"
                        f"{clip.source_in + clip.duration} but asset {asset.id} has "
                        f"{media.duration_frames} frames",
                    )
                )

    for clip_id, (path, start, duration, kind, link) in clips.items():
        if not link:
            continue
        other = clips.get(link)
        if other is None:
            out.append((f"{path}.linked_id", f"linked clip {link!r} does not exist"))
        elif other[4] != clip_id:
            out.append((f"{path}.linked_id", f"link to {link} is not mutual"))
        elif other[3] == kind:
            out.append((f"{path}.linked_id", f"linked clip {link} is on a track of the same kind"))
        elif (other[1], other[2]) != (start, duration):
            out.append((f"{path}.linked_id", f"linked clip {link} is not aligned with {clip_id}"))

    for i, marker in enumerate(project.markers):
        claim(marker.id, f"$.markers[{i}]")

    ed = project.editor
    for i, sel in enumerate(ed.selection):
        if sel not in clips:
            out.append((f"$.editor.selection[{i}]", f"selected clip {sel!r} does not exist"))
    if ed.mark_in is not None and ed.mark_out is not None and ed.mark_out <= ed.mark_in:
        out.append(("$.editor.mark_out", "out mark must be after the in mark"))
    if project.next_id <= max_suffix:
        out.append(
            (
                "$.next_id",
                f"must be greater than every numeric id suffix; set it to {max_suffix + 1}",
            )
        )
    return out
