"""A project's timeline as an OpenTimelineIO timeline, written through an adapter.

The mapping: each track becomes an OTIO track (video tracks bottom first, as OTIO stacks
them; then the audio tracks in order), a muted track a disabled one; a media clip becomes a
clip with its source range at the project rate and an external reference to the asset's
original file (an absolute ``file://`` URL into ``assets/``), the space between clips a gap;
markers go on the timeline's stack with a name, the nearest OTIO colour and the note as the
marker's comment. Every object
carries a ``"reelcut"`` metadata key (ids, the asset's sha256, the exact colour, track flags),
which the .otio file keeps and `from_otio` reads back.

What does not map is listed in the warnings, one line each: text and Remotion clips (left as
gaps), transforms and opacity, audio gain and fades, clips whose media has no bytes yet, and
what an adapter cannot hold (an EDL has one video track and no audio events; EDL and FCPXML
keep no markers on the timeline itself, so a marker goes onto the clip under it, or is listed;
only .otio keeps a track's mute, lock and solo).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import opentimelineio as otio  # type: ignore[import-untyped]  # no stubs or py.typed

from engine.errors import UsageError
from engine.fsio.durable import atomic_write
from engine.interchange import adapter_for, nearest_color
from engine.model import Clip, Marker, Project, Track, Transform
from engine.timebase import format_timecode

# Formats without markers on the timeline's stack: a marker rides on the clip under it.
_CLIP_MARKERS_ONLY = frozenset({"cmx_3600", "fcpx_xml"})
_NO_METADATA = {
    "cmx_3600": "an EDL",
    "fcp_xml": "Final Cut 7 XML",
    "fcpx_xml": "FCPXML",
}


@dataclass
class Written:
    """What an interchange export wrote, and what it could not carry."""

    out: str
    adapter: str
    tracks: int = 0
    clips: int = 0
    markers: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def write(
    root: Path, project: Project, out: Path, first: int, last: int, *, force: bool
) -> Written:
    """Write frames ``[first, last)`` of the timeline to ``out`` (its suffix picks the adapter),
    atomically: a temp file beside it, renamed over ``out`` once whole."""
    adapter = adapter_for(out)
    if out.exists() and not force:
        raise UsageError(f"{out} exists; --force replaces it")
    timeline, written = build(root, project, first, last, adapter)
    if adapter == "fcpx_xml":
        _teach_fcpx_rate(project)
    try:
        text = otio.adapters.write_to_string(timeline, adapter)
    except Exception as exc:  # what the adapter refuses, in its own words
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise UsageError(
            f"{out.name}: the {adapter} adapter cannot write this timeline ({detail[:200]}); "
            f"{out.name} is unchanged"
        ) from None
    atomic_write(out, text.encode("utf-8"))
    written.out = str(out)
    return written


def _teach_fcpx_rate(project: Project) -> None:
    """Give the FCPXML adapter the frame duration of the project's rate.

    The adapter looks a rate up in a table keyed by 23.98, 29.97 and 59.94 as floats, so the
    exact NTSC rates (30000/1001 is 29.97002997...) find nothing and it fails on the format
    it wrote itself. FCPXML states a rate as a frame duration, which is exact: den/num s."""
    # The module OTIO loads the adapter from (its plugin manifest), not a second import of it.
    fcpx_xml = otio.adapters.from_name("fcpx_xml").module()
    rate = project.rate
    fcpx_xml.FRAMERATE_FRAMEDURATION.setdefault(float(rate.fraction), f"{rate.den}/{rate.num}s")


def rational(frames: int, project: Project) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, float(project.rate.fraction))


def time_range(start: int, duration: int, project: Project) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(rational(start, project), rational(duration, project))


def build(
    root: Path, project: Project, first: int, last: int, adapter: str = "otio_json"
) -> tuple[otio.schema.Timeline, Written]:
    """The OTIO timeline of frames ``[first, last)`` for ``adapter``, and what it left out."""
    done = Written(out="", adapter=adapter)
    warn = done.warnings.append
    timeline = otio.schema.Timeline(name=project.name, global_start_time=rational(0, project))
    timeline.metadata["reelcut"] = {
        "project": project.id,
        "rate": str(project.rate),
        "width": project.width,
        "height": project.height,
    }
    videos = [t for t in project.tracks if t.kind == "video"][::-1]  # OTIO stacks bottom first
    audios = [t for t in project.tracks if t.kind == "audio"]
    if adapter == "cmx_3600":
        videos, audios = _edl_tracks(videos, audios, warn)
    where: dict[str, tuple[otio.schema.Clip, Clip]] = {}
    for track in [*videos, *audios]:
        timeline.tracks.append(_track(root, project, track, first, last, where, done))
    if adapter in _NO_METADATA:
        warn(
            f"{_NO_METADATA[adapter]} keeps no reelcut ids or track flags; import-timeline "
            "relinks its clips by file name and hash"
        )
        for t in [*videos, *audios]:
            if t.muted and adapter != "cmx_3600":
                warn(f"track {t.name} is muted; {adapter} keeps no mute, it is written enabled")
        if adapter != "cmx_3600" and any(first <= m.frame < last for m in project.markers):
            warn(f"{_NO_METADATA[adapter]} keeps no marker colours (FCPXML: red and green only)")
        if any(t.locked or t.solo for t in project.tracks):
            flags = [t.name for t in project.tracks if t.locked or t.solo]
            warn(f"locked/solo flags of {', '.join(flags)} are not kept by {adapter}")
    for marker in project.markers:
        if not first <= marker.frame < last:
            continue
        if adapter in _CLIP_MARKERS_ONLY:
            if not _on_clip(marker, first, videos, where, project):
                warn(
                    f"marker {marker.name or marker.id} at "
                    f"{format_timecode(marker.frame, project.rate)} is left out: {adapter} "
                    "keeps markers only on clips, and no video clip is under it"
                )
                continue
        else:
            timeline.tracks.markers.append(_marker(marker, marker.frame - first, project))
        done.markers += 1
    return timeline, done


def _edl_tracks(
    videos: list[Track], audios: list[Track], warn: Any
) -> tuple[list[Track], list[Track]]:
    """An EDL holds one video track and (with this adapter) no audio events: the bottom video
    track that is not muted (else the bottom one) goes in, and each other track is listed."""
    chosen = next((t for t in videos if not t.muted and t.clips), None)
    chosen = chosen or next((t for t in videos if t.clips), None) or (videos[0] if videos else None)
    if chosen is None:
        raise UsageError("an EDL needs a video track, and the timeline has none")
    if chosen.muted:
        warn(f"video track {chosen.name} is muted; an EDL keeps no mute, its events are written")
        chosen = Track(id=chosen.id, kind="video", name=chosen.name, clips=chosen.clips)
    for t in videos:
        if t is not chosen and t.id != chosen.id:
            warn(
                f"video track {t.name} ({len(t.clips)} clips) is left out: an EDL holds one "
                "video track"
            )
    for t in audios:
        warn(
            f"audio track {t.name} ({len(t.clips)} clips) is left out: the EDL adapter "
            "writes video events only"
        )
    return [chosen], []


def _track(
    root: Path,
    project: Project,
    track: Track,
    first: int,
    last: int,
    where: dict[str, tuple[otio.schema.Clip, Clip]],
    done: Written,
) -> otio.schema.Track:
    kind = otio.schema.TrackKind.Video if track.kind == "video" else otio.schema.TrackKind.Audio
    out = otio.schema.Track(name=track.name, kind=kind)
    out.enabled = not track.muted
    out.metadata["reelcut"] = {
        "track": track.id,
        "muted": track.muted,
        "locked": track.locked,
        "solo": track.solo,
    }
    done.tracks += 1
    at = first
    for clip in track.clips:
        start, end = max(clip.start, first), min(clip.end, last)
        if end <= start:
            continue
        item = _clip(root, project, track, clip, start, end, done)
        if start > at:
            out.append(otio.schema.Gap(source_range=time_range(0, start - at, project)))
        out.append(item)
        at = end
        if isinstance(item, otio.schema.Clip):
            where[clip.id] = (item, clip)
            done.clips += 1
    return out


def _clip(
    root: Path, project: Project, track: Track, clip: Clip, start: int, end: int, done: Written
) -> otio.schema.Clip | otio.schema.Gap:
    """The clip trimmed to ``[start, end)``, or a gap of its length for what does not map."""
    tc = format_timecode(clip.start, project.rate)
    what = f"{clip.kind} clip {clip.id} {clip.name!r} on {track.name} at {tc}"
    asset = project.asset(clip.asset_id) if clip.asset_id else None
    reason = None
    if clip.kind != "media":
        reason = f"{clip.kind} clips do not map to OTIO"
    elif asset is None or asset.filename is None:
        reason = "its media has no file yet"
    if reason is not None or asset is None or asset.filename is None:
        done.warnings.append(f"{what} ({clip.duration} frames) is a gap: {reason}")
        return otio.schema.Gap(source_range=time_range(0, end - start, project))
    if clip.transform is not None and clip.transform != Transform():
        done.warnings.append(f"{what}: its transform/opacity is not written")
    if clip.audio is not None:
        done.warnings.append(f"{what}: its gain and fades are not written")
    path = (root / "assets" / asset.filename).absolute()
    media = asset.media
    if media is not None and media.duration_frames and asset.kind in ("video", "audio"):
        available = time_range(0, media.duration_frames, project)
    else:  # a still lasts as long as any clip of it asks (the XML adapters need a length)
        longest = max(
            c.source_in + c.duration
            for t in project.tracks
            for c in t.clips
            if c.asset_id == asset.id
        )
        available = time_range(0, longest, project)
    ref = otio.schema.ExternalReference(target_url=path.as_uri(), available_range=available)
    ref.name = asset.source_name or asset.name
    ref.metadata["reelcut"] = {
        "asset": asset.id,
        "sha256": asset.hash,
        "kind": asset.kind,
        "source_name": asset.source_name,
    }
    item = otio.schema.Clip(
        name=clip.name,
        media_reference=ref,
        source_range=time_range(clip.source_in + (start - clip.start), end - start, project),
    )
    item.metadata["reelcut"] = {"clip": clip.id, "asset": asset.id, "linked": clip.linked_id}
    return item


def _marker(marker: Marker, frame: int, project: Project) -> otio.schema.Marker:
    out = otio.schema.Marker(
        name=marker.name,
        marked_range=time_range(frame, 0, project),
        color=nearest_color(marker.color),
        comment=marker.note,
    )
    out.metadata["reelcut"] = {"marker": marker.id, "color": marker.color}
    return out


def _on_clip(
    marker: Marker,
    first: int,
    videos: list[Track],
    where: dict[str, tuple[otio.schema.Clip, Clip]],
    project: Project,
) -> bool:
    """Put ``marker`` on the written video clip under it (in the clip's source time)."""
    for track in videos:
        for clip in track.clips:
            if clip.start <= marker.frame < clip.end and clip.id in where:
                item, _ = where[clip.id]
                source = clip.source_in + (marker.frame - clip.start)
                item.markers.append(_marker(marker, source, project))
                return True
    return False
