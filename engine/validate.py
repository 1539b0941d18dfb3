"""Invariants of a project that the types alone cannot express.

``problems(project)`` lists every broken invariant as ``(json_path, message)``; loading refuses a
file with any, and the timeline engine checks them after each operation in its tests. It makes
one pass over the model and builds a JSON path only when it has something to report, so it is
cheap enough to run on every load of a 10,000-clip project.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import chain, compress, islice, repeat
from operator import add, attrgetter, eq, is_not, le, not_

from engine.model import Asset, Clip, Project
from engine.timebase import MAX_RATE, MIN_RATE, Rate, format_timecode

# Which asset kinds a media clip may show on which kind of track.
_ASSET_ON_TRACK = {
    "video": frozenset({"video", "image", "callout"}),
    "audio": frozenset({"audio", "video"}),
}
_REMOTION = frozenset({"remotion"})


def problems(project: Project) -> list[tuple[str, str]]:
    """Every broken invariant, as ``(json_path, message)``, in document order."""
    if _fast_ok(project):
        return []
    return _detailed(project)


_get_id = attrgetter("id")
_get_start = attrgetter("start")
_get_duration = attrgetter("duration")
_get_source_in = attrgetter("source_in")
_get_asset = attrgetter("asset_id")
_get_kind = attrgetter("kind")
_get_link = attrgetter("linked_id")
_get_text = attrgetter("text")
_get_audio = attrgetter("audio")
_UNLIMITED = 1 << 62


def _fast_ok(project: Project) -> bool:
    """True exactly when ``_detailed`` would find nothing; built from C-level map/set operations
    so a valid 10,000-clip project checks in a few milliseconds."""
    if not _rate_ok(project.rate):
        return False
    assets = {a.id: a for a in project.assets}
    for a in project.assets:
        if a.kind in ("video", "audio", "image") and not _has_bytes(a):
            return False
    folder_ids = {f.id for f in project.folders}
    if any(a.folder_id is not None and a.folder_id not in folder_ids for a in project.assets):
        return False
    if any(f.parent_id is not None and f.parent_id not in folder_ids for f in project.folders):
        return False
    # Lists, not the dict and set above: a repeated asset or folder id must be counted twice.
    other_ids = [
        *(a.id for a in project.assets),
        *(f.id for f in project.folders),
        *(t.id for t in project.tracks),
        *(m.id for m in project.markers),
    ]
    any_remotion_asset = any(a.kind == "remotion" for a in project.assets)
    clip_ids: set[str] = set()
    clip_count = 0
    id_lists: list[list[str]] = []
    # Linked clips by the kind of their track: id, target, start and duration, in parallel.
    links: dict[str, tuple[list[str], list[str], list[int], list[int]]] = {
        "video": ([], [], [], []),
        "audio": ([], [], [], []),
    }
    for track in project.tracks:
        clips = track.clips
        if not clips:
            continue
        ids = list(map(_get_id, clips))
        starts = list(map(_get_start, clips))
        durations = list(map(_get_duration, clips))
        if not all(map(le, map(add, starts, durations), islice(starts, 1, None))):
            return False
        kinds = list(map(_get_kind, clips))
        audios = list(map(_get_audio, clips))
        if audios.count(None) != len(audios) and (
            track.kind != "audio"
            or not all(
                c.audio is None or c.audio.fade_in + c.audio.fade_out <= c.duration for c in clips
            )
        ):
            return False
        asset_ids = list(map(_get_asset, clips))
        source_ends = list(map(add, map(_get_source_in, clips), durations))
        if "text" in kinds:
            is_text = list(map(eq, kinds, repeat("text")))
            if track.kind != "video" or None in map(_get_text, compress(clips, is_text)):
                return False
            keep = list(map(not_, is_text))
            asset_ids = list(compress(asset_ids, keep))
            source_ends = list(compress(source_ends, keep))
            kinds = list(compress(kinds, keep))
        allowed = _ASSET_ON_TRACK[track.kind]
        limit: dict[str | None, int] = {}
        for aid in set(asset_ids):
            asset = assets.get(aid) if aid is not None else None
            if asset is None or (asset.kind not in allowed and asset.kind != "remotion"):
                return False
            media = asset.media
            limit[aid] = (
                media.duration_frames
                if media is not None and asset.kind in ("video", "audio")
                else _UNLIMITED
            )
        # A remotion clip must show a remotion asset, and only a remotion clip may.
        remotion_clip = [k == "remotion" for k in kinds] if "remotion" in kinds else None
        if remotion_clip is not None or any_remotion_asset:
            shows_remotion = [assets[a].kind == "remotion" for a in asset_ids]
            if shows_remotion != (remotion_clip or [False] * len(kinds)):
                return False
        if not all(map(le, source_ends, map(limit.__getitem__, asset_ids))):
            return False
        clip_count += len(ids)
        clip_ids.update(ids)
        id_lists.append(ids)
        linked_ids = list(map(_get_link, clips))
        if linked_ids.count(None) != len(linked_ids):
            has_link = list(map(is_not, linked_ids, repeat(None)))
            l_ids, l_targets, l_starts, l_durations = links[track.kind]
            l_ids += compress(ids, has_link)
            l_targets += compress(linked_ids, has_link)
            l_starts += compress(starts, has_link)
            l_durations += compress(durations, has_link)
    if len(clip_ids) != clip_count:
        return False
    other_set = set(other_ids)
    if len(other_set) != len(other_ids) or not clip_ids.isdisjoint(other_set):
        return False
    v_ids, v_targets, v_starts, v_durations = links["video"]
    a_ids, a_targets, a_starts, a_durations = links["audio"]
    if v_ids or a_ids:
        # Every video-track link names an audio-track clip that links back, and vice versa: so
        # links are mutual, join a video track to an audio track, and each pair has a video end.
        audio_back = dict(zip(a_ids, a_targets, strict=True))
        if not all(map(eq, map(audio_back.get, v_targets), v_ids)):
            return False
        video_back = dict(zip(v_ids, v_targets, strict=True))
        if not all(map(eq, map(video_back.get, a_targets), a_ids)):
            return False
        # Aligned, checked once per pair from its video end.
        a_index = dict(zip(a_ids, range(len(a_ids)), strict=True))
        partner = list(map(a_index.__getitem__, v_targets))
        if not all(map(eq, v_starts, map(a_starts.__getitem__, partner))):
            return False
        if not all(map(eq, v_durations, map(a_durations.__getitem__, partner))):
            return False
    ed = project.editor
    if not all(map(clip_ids.__contains__, ed.selection)):
        return False
    if ed.mark_in is not None and ed.mark_out is not None and ed.mark_out <= ed.mark_in:
        return False
    # Only an id with at least as many characters as "x_<next_id>" can have a suffix that is
    # not below next_id, so the (slow) scan for the largest suffix can skip every shorter one.
    shortest = len(str(max(project.next_id, 1))) + 2
    all_ids = list(chain(other_ids, *id_lists))
    long_ids = compress(all_ids, map(le, repeat(shortest), map(len, all_ids)))
    return _max_numeric_suffix(long_ids) < project.next_id


def _detailed(project: Project) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    where: dict[str, str | tuple[int, int]] = {}  # id -> path, or (track, clip) index for clips

    def path_of(loc: str | tuple[int, int]) -> str:
        return loc if isinstance(loc, str) else f"$.tracks[{loc[0]}].clips[{loc[1]}]"

    clip_track: dict[str, int] = {}  # clip id -> index of its track

    if not _rate_ok(project.rate):
        out.append(
            (
                "$.rate",
                f"frame rate {project.rate} is out of range; "
                f"use a rate between {MIN_RATE} and {MAX_RATE} fps",
            )
        )

    def claim(obj_id: str, loc: str | tuple[int, int]) -> None:
        if obj_id in clip_track:
            out.append((f"{path_of(loc)}.id", f"id {obj_id!r} is already used by a clip"))
        elif obj_id in where:
            out.append(
                (f"{path_of(loc)}.id", f"id {obj_id!r} is already used at {path_of(where[obj_id])}")
            )
        else:
            where[obj_id] = loc

    assets: dict[str, Asset] = {}
    for i, a in enumerate(project.assets):
        claim(a.id, f"$.assets[{i}]")
        assets[a.id] = a
        if a.kind in ("video", "audio", "image") and not _has_bytes(a):
            out.append((f"$.assets[{i}]", f"{a.kind} asset {a.id} has no hash/ext, so no bytes"))
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

    linked: list[tuple[Clip, int, int]] = []
    for ti, track in enumerate(project.tracks):
        claim(track.id, f"$.tracks[{ti}]")
        media_kinds = _ASSET_ON_TRACK[track.kind]
        prev: Clip | None = None
        prev_end = 0
        for ci, clip in enumerate(track.clips):
            cid = clip.id
            if cid in clip_track:
                first = next(
                    j for j, c in enumerate(project.tracks[clip_track[cid]].clips) if c.id == cid
                )
                out.append(
                    (
                        f"$.tracks[{ti}].clips[{ci}].id",
                        f"id {cid!r} is already used at {path_of((clip_track[cid], first))}",
                    )
                )
            elif cid in where:
                claim(cid, (ti, ci))
            else:
                clip_track[cid] = ti
            start = clip.start
            if start < prev_end and prev is not None:
                _overlap(out, project, track.name, ti, ci, clip, prev)
            prev, prev_end = clip, start + clip.duration
            if clip.linked_id is not None:
                linked.append((clip, ti, ci))
            if clip.audio is not None:
                _bad_audio(out, track.name, track.kind, ti, ci, clip)
            if clip.kind == "text":
                if clip.text is None or track.kind != "video":
                    _bad_text(out, track.name, track.kind, ti, ci, clip)
                continue
            asset = assets.get(clip.asset_id)  # type: ignore[arg-type]
            if (
                asset is None
                or asset.kind not in (_REMOTION if clip.kind == "remotion" else media_kinds)
                or (
                    asset.media is not None
                    and asset.kind in ("video", "audio")
                    and clip.source_in + clip.duration > asset.media.duration_frames
                )
            ):
                _bad_asset(out, track.name, track.kind, ti, ci, clip, asset)

    if linked:
        by_id = {c.id: c for t in project.tracks for c in t.clips}
        for clip, ti, ci in linked:
            path = f"$.tracks[{ti}].clips[{ci}].linked_id"
            link = clip.linked_id
            other = by_id.get(link)  # type: ignore[arg-type]
            if other is None:
                out.append((path, f"linked clip {link!r} does not exist"))
            elif other.linked_id != clip.id:
                out.append((path, f"link to {link} is not mutual"))
            elif project.tracks[clip_track[other.id]].kind == project.tracks[ti].kind:
                out.append((path, f"linked clip {link} is on a track of the same kind"))
            elif other.start != clip.start or other.duration != clip.duration:
                out.append((path, f"linked clip {link} is not aligned with {clip.id}"))

    for i, marker in enumerate(project.markers):
        claim(marker.id, f"$.markers[{i}]")

    ed = project.editor
    for i, sel in enumerate(ed.selection):
        if sel not in clip_track:
            out.append((f"$.editor.selection[{i}]", f"selected clip {sel!r} does not exist"))
    if ed.mark_in is not None and ed.mark_out is not None and ed.mark_out <= ed.mark_in:
        out.append(("$.editor.mark_out", "out mark must be after the in mark"))
    max_suffix = _max_numeric_suffix(chain(where, clip_track))
    if project.next_id <= max_suffix:
        out.append(
            (
                "$.next_id",
                f"must be greater than every numeric id suffix; set it to {max_suffix + 1}",
            )
        )
    return out


def _has_bytes(a: Asset) -> bool:
    """Whether ``a`` names its bytes, as a media asset must; a generated asset that is not
    ready yet (a TTS placeholder, `engine.model.Generation`) has none until its job lands."""
    if a.hash is not None and a.ext is not None:
        return True
    return a.generation is not None and a.generation.stage != "ready"


def _rate_ok(rate: Rate) -> bool:
    # Timecode needs at least one frame per second (and no zero denominator).
    return rate.den >= 1 and MIN_RATE * rate.den <= rate.num <= MAX_RATE * rate.den


def _overlap(
    out: list[tuple[str, str]],
    project: Project,
    track_name: str,
    ti: int,
    ci: int,
    clip: Clip,
    prev: Clip,
) -> None:
    if clip.start < prev.start:
        msg = f"clip {clip.id} starts before {prev.id}; clips must be sorted by start"
    else:
        msg = (
            f"clip {clip.id} overlaps {prev.id} on {track_name} at "
            f"{format_timecode(clip.start, project.rate)}; clips on a track must not overlap"
        )
    out.append((f"$.tracks[{ti}].clips[{ci}].start", msg))


def _bad_audio(
    out: list[tuple[str, str]], track_name: str, track_kind: str, ti: int, ci: int, clip: Clip
) -> None:
    audio = clip.sound
    path = f"$.tracks[{ti}].clips[{ci}].audio"
    if track_kind != "audio":
        out.append(
            (
                path,
                f"clip {clip.id} on {track_kind} track {track_name} has audio settings; gain "
                f"and fades belong to clips on audio tracks (a video's sound is its linked "
                f"audio clip)",
            )
        )
    elif audio.fade_in + audio.fade_out > clip.duration:
        out.append(
            (
                path,
                f"fades of clip {clip.id} ({audio.fade_in} in + {audio.fade_out} out) are "
                f"longer than the clip ({clip.duration} frames)",
            )
        )


def _bad_text(
    out: list[tuple[str, str]], track_name: str, track_kind: str, ti: int, ci: int, clip: Clip
) -> None:
    if clip.text is None:
        out.append(
            (f"$.tracks[{ti}].clips[{ci}].text", f"text clip {clip.id} has no text properties")
        )
    if track_kind != "video":
        out.append(
            (f"$.tracks[{ti}].clips[{ci}]", f"text clip {clip.id} is on audio track {track_name}")
        )


def _bad_asset(
    out: list[tuple[str, str]],
    track_name: str,
    track_kind: str,
    ti: int,
    ci: int,
    clip: Clip,
    asset: Asset | None,
) -> None:
    path = f"$.tracks[{ti}].clips[{ci}]"
    if asset is None:
        out.append(
            (
                f"{path}.asset_id",
                f"{clip.kind} clip {clip.id} names no asset"
                if clip.asset_id is None
                else f"asset {clip.asset_id!r} does not exist",
            )
        )
        return
    allowed = _REMOTION if clip.kind == "remotion" else _ASSET_ON_TRACK[track_kind]
    if asset.kind not in allowed:
        out.append(
            (
                f"{path}.asset_id",
                f"{asset.kind} asset {asset.id} cannot be a {clip.kind} "
                f"clip on {track_kind} track {track_name}",
            )
        )
    media = asset.media
    if media is not None and clip.source_in + clip.duration > media.duration_frames:
        out.append(
            (
                f"{path}.duration",
                f"clip {clip.id} plays source frames {clip.source_in}-"
                f"{clip.source_in + clip.duration} but asset {asset.id} has "
                f"{media.duration_frames} frames",
            )
        )


# One id per line; a literal "\n" to start each match is much faster to scan for than ``^``.
_SHAPED = re.compile(r"\n[a-z]+_(0|[1-9][0-9]*)(?=\n)")


def _max_numeric_suffix(ids: Iterable[str]) -> int:
    """Largest N among ids shaped ``<letters>_<N>`` (the shape ``new_id`` makes)."""
    digits = _SHAPED.findall(f"\n{chr(10).join(ids)}\n")
    if not digits:
        return 0
    # Digit strings without leading zeros: among the longest, text order is number order.
    lengths = list(map(len, digits))
    longest = max(lengths)
    return int(max(compress(digits, map(longest.__eq__, lengths))))
