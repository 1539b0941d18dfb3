"""A timeline file (.otio, .edl, .xml, .fcpxml) read into tracks, clips and markers of a project.

Each clip's media is relinked to one of the project's assets, tried in this order:

1. by hash: the sha256 in the clip's ``"reelcut"`` metadata (an .otio that reelcut wrote), a
   file name that is an asset's own ``<sha256>.<ext>``, or the sha256 of the file the reference
   points at when that file exists (so a renamed or moved original still relinks);
2. by name: the referenced file's name equals the name an asset was imported under.

On an audio track a reference to a video file takes the audio reelcut demuxed from it. A clip
that relinks to nothing, or whose range runs past its media, is not placed: its place stays a
gap and it is listed (one line each), so the import still brings in the rest. Video and audio
clips at the same place and range, whose assets are a video and the audio demuxed from it, are
linked again when the file does not say (only reelcut's .otio carries the links).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlparse

import opentimelineio as otio  # type: ignore[import-untyped]  # no stubs or py.typed

from engine.errors import MediaError, ReelcutError
from engine.interchange import MARKER_COLORS, adapter_for
from engine.model import Asset, Clip, Marker, Project, Track
from engine.timebase import format_timecode


@dataclass
class Plan:
    """What a timeline file becomes in this project: tracks (display order, video top-down then
    audio) and markers with provisional ids, and what was left out or relinked how."""

    source: str
    tracks: list[Track] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    not_relinked: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    relinked: dict[str, int] = field(default_factory=lambda: {"hash": 0, "name": 0})

    @property
    def clips(self) -> int:
        return sum(len(t.clips) for t in self.tracks)


def read(path: Path, project: Project) -> otio.schema.Timeline:
    """The first timeline in ``path``; one line naming the file and what is wrong otherwise."""
    adapter = adapter_for(path)
    if not path.is_file():
        raise MediaError(f"{path}: no such file")
    extra: dict[str, Any] = {"rate": float(project.rate.fraction)} if adapter == "cmx_3600" else {}
    if adapter == "fcpx_xml":
        _refuse_fcpx_fractional_rates(path)
    try:
        if adapter == "cmx_3600":
            text = _locators_without_drop_frame(path.read_text(encoding="utf-8"), project)
            found = otio.adapters.read_from_string(text, adapter_name=adapter, **extra)
        else:
            found = otio.adapters.read_from_file(str(path), adapter_name=adapter, **extra)
    except Exception as exc:  # the adapters raise anything from OTIOError to KeyError
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise MediaError(f"{path.name}: not a readable {adapter} file ({detail[:200]})") from None
    if isinstance(found, otio.schema.Timeline):
        return found
    timelines = (
        list(found.find_children(descended_from_type=otio.schema.Timeline, shallow_search=True))
        if isinstance(found, otio.schema.SerializableCollection)
        else []
    )
    if not timelines:
        raise MediaError(f"{path.name}: holds no timeline ({type(found).__name__})")
    return timelines[0]


def _locators_without_drop_frame(text: str, project: Project) -> str:
    """An EDL's ``* LOC:`` lines with drop-frame timecodes (``00:01:00;02``) rewritten as the
    non-drop timecode of the same frame: the EDL adapter writes them (at 29.97 fps) but its
    reader only matches ``:`` and skips such a marker without a word."""
    import re

    from engine.timebase import parse_timecode

    nominal = project.rate.nominal

    def ndf(m: re.Match[str]) -> str:
        try:
            n = parse_timecode(m.group(2), project.rate)
        except ReelcutError:
            return m.group(0)
        ss, ff = divmod(n, nominal)
        mm, ss = divmod(ss, 60)
        hh, mm = divmod(mm, 60)
        return f"{m.group(1)}{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}"

    return re.sub(r"(\*\s*LOC:\s*)(\d\d:\d\d:\d\d;\d\d)", ndf, text)


def _refuse_fcpx_fractional_rates(path: Path) -> None:
    """The FCPXML adapter reads a 1001/30000s frame (29.97 fps) as 29 whole frames a second,
    which would misplace every clip by up to a frame a second: refused, with what to use."""
    import re

    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise MediaError(f"{path.name}: cannot be read ({exc.strerror})") from None
    for num, den in re.findall(r'frameDuration="(\d+)/(\d+)s"', text):
        if int(num) and int(den) % int(num):
            raise MediaError(
                f"{path.name}: its frames last {num}/{den} s ({int(den) / int(num):.3f} fps), "
                "which the FCPXML adapter reads as whole frames at the wrong rate; export it "
                "from the other editor as .otio or .xml (Final Cut 7) instead"
            )


def plan(root: Path, project: Project, timeline: otio.schema.Timeline, source: str) -> Plan:
    """The tracks and markers of ``timeline`` for ``project`` (see the module's docstring)."""
    out = Plan(source=source)
    relink = _Relinker(root, project, out)
    rate = float(project.rate.fraction)
    serial = iter(range(1, 1_000_000))
    videos: list[Track] = []
    audios: list[Track] = []
    ids: dict[str, str] = {}  # the file's reelcut clip ids -> provisional ids
    links: dict[str, str] = {}  # provisional id -> the file's linked id
    for number, track in enumerate(timeline.tracks, 1):
        if not isinstance(track, otio.schema.Track):
            out.warnings.append(
                f"item {number} of the timeline's stack is a {type(track).__name__}, "
                "not a track; left out"
            )
            continue
        kind: Literal["video", "audio"] = (
            "audio" if track.kind == otio.schema.TrackKind.Audio else "video"
        )
        meta = _meta(track)
        name = track.name if track.name and not track.name.lstrip("-").isdigit() else ""
        # A track may be trimmed: the EDL adapter starts it at the first event's record time.
        shift = -track.source_range.start_time if track.source_range is not None else None
        clips: list[Clip] = []
        for item in track:
            if isinstance(item, otio.schema.Gap):
                continue
            where = f"{name or kind} item {item.name!r}"
            if not isinstance(item, otio.schema.Clip):
                out.warnings.append(f"{where}: a {type(item).__name__} does not map; left out")
                continue
            clip = _clip(item, shift, rate, project, relink, out, where, f"x_{next(serial)}")
            if clip is None:
                continue
            clips.append(clip)
            cmeta = _meta(item)
            if cmeta.get("clip"):
                ids[str(cmeta["clip"])] = clip.id
            if cmeta.get("linked"):
                links[clip.id] = str(cmeta["linked"])
            out.markers.extend(_clip_markers(item, clip, rate, out))
        built = Track(
            id=f"x_{next(serial)}",
            kind=kind,
            name=name,
            muted=not track.enabled or bool(meta.get("muted")),
            locked=bool(meta.get("locked")),
            solo=bool(meta.get("solo")),
            clips=tuple(clips),
        )
        (videos if kind == "video" else audios).append(built)
    tracks = _named([*videos[::-1], *audios])  # OTIO stacks video bottom first
    out.tracks = _linked(tracks, ids, links, project)
    for marker in timeline.tracks.markers:
        frame = _frames(marker.marked_range.start_time, rate, out, f"marker {marker.name!r}")
        out.markers.append(_marker(marker, frame, f"x_{next(serial)}"))
    out.markers = sorted(_unique(out.markers), key=lambda m: m.frame)
    return out


def _meta(obj: Any) -> dict[str, Any]:
    found = obj.metadata.get("reelcut") if obj.metadata is not None else None
    return dict(found) if found is not None else {}


def _frames(t: otio.opentime.RationalTime, rate: float, out: Plan, what: str) -> int:
    value = float(t.value_rescaled_to(rate))
    frames = round(value)
    if abs(value - frames) > 1e-6:
        out.warnings.append(
            f"{what}: {t.value}/{t.rate} is between frames at {rate:g} fps; rounded to {frames}"
        )
    return max(frames, 0)


def _clip(
    item: otio.schema.Clip,
    shift: otio.opentime.RationalTime | None,
    rate: float,
    project: Project,
    relink: _Relinker,
    out: Plan,
    where: str,
    clip_id: str,
) -> Clip | None:
    placed = item.range_in_parent().start_time
    start = _frames(placed + shift if shift is not None else placed, rate, out, where)
    kind = "audio" if item.parent().kind == otio.schema.TrackKind.Audio else "video"
    source = item.source_range or item.trimmed_range()
    duration = _frames(source.duration, rate, out, where)
    tc = format_timecode(start, project.rate)
    if duration < 1:
        return None
    ref = item.media_reference
    offset = 0
    available = getattr(ref, "available_range", None)
    if available is not None:
        offset = _frames(available.start_time, rate, out, where)
    source_in = max(_frames(source.start_time, rate, out, where) - offset, 0)
    asset = relink.find(item, kind)
    if asset is None:
        url = getattr(ref, "target_url", None) or "no media reference"
        out.not_relinked.append(
            f"{where} at {tc} ({duration} frames): no asset matches {url} by name or hash; "
            "left as a gap (import the file, then import the timeline again)"
        )
        return None
    media = asset.media
    if (
        asset.kind in ("video", "audio")
        and media is not None
        and source_in + duration > media.duration_frames
    ):
        out.not_relinked.append(
            f"{where} at {tc}: plays source frames {source_in}-{source_in + duration} but "
            f"{asset.name} ({asset.id}) has {media.duration_frames}; left as a gap"
        )
        return None
    return Clip(
        id=clip_id,
        kind="media",
        name=item.name or asset.name,
        start=start,
        duration=duration,
        source_in=source_in,
        asset_id=asset.id,
    )


def _clip_markers(item: otio.schema.Clip, clip: Clip, rate: float, out: Plan) -> list[Marker]:
    """Markers on a clip (EDL, FCPXML) on the timeline, at the frame their source time plays."""
    source = item.source_range or item.trimmed_range()
    first = _frames(source.start_time, rate, out, clip.name)
    found: list[Marker] = []
    for marker in item.markers:
        at = _frames(marker.marked_range.start_time, rate, out, f"marker {marker.name!r}")
        if first <= at < first + clip.duration:
            found.append(_marker(marker, clip.start + at - first, f"{clip.id}m{len(found)}"))
        else:
            out.warnings.append(
                f"marker {marker.name!r} on clip {clip.name!r} lies outside the clip; left out"
            )
    return found


def _marker(marker: otio.schema.Marker, frame: int, marker_id: str) -> Marker:
    color = str(
        _meta(marker).get("color") or MARKER_COLORS.get(str(marker.color).upper(), "#ffcc00")
    )
    note = str(marker.comment or "")
    return Marker(id=marker_id, frame=frame, name=marker.name or "", color=color, note=note)


def _unique(markers: list[Marker]) -> list[Marker]:
    seen: set[tuple[int, str]] = set()
    kept = []
    for m in markers:
        if (m.frame, m.name) not in seen:
            seen.add((m.frame, m.name))
            kept.append(m)
    return kept


def _named(tracks: list[Track]) -> list[Track]:
    """Every track with a name: the file's, else V1, V2... from the bottom and A1, A2..."""
    import msgspec

    counts = {"video": sum(t.kind == "video" for t in tracks), "audio": 0}
    named = []
    for t in tracks:
        if t.kind == "video":
            label = f"V{counts['video']}"
            counts["video"] -= 1
        else:
            counts["audio"] += 1
            label = f"A{counts['audio']}"
        named.append(t if t.name else msgspec.structs.replace(t, name=label))
    return named


def _linked(
    tracks: list[Track], ids: dict[str, str], links: dict[str, str], project: Project
) -> list[Track]:
    """The clips with their links: the file's own (reelcut's .otio), else a video clip and the
    audio demuxed from its media at the same place and range."""
    import msgspec

    partner: dict[str, str] = {}
    for clip_id, other in links.items():
        if other in ids:
            partner[clip_id] = ids[other]
    if not links:
        audio_of = {a.derived_from: a.id for a in project.assets if a.derived_from}
        loose: dict[tuple[int, int, int, str | None], str] = {
            (c.start, c.duration, c.source_in, c.asset_id): c.id
            for t in tracks
            if t.kind == "audio"
            for c in t.clips
        }
        for t in tracks:
            for c in t.clips if t.kind == "video" else ():
                audio = audio_of.get(c.asset_id) if c.asset_id else None
                key = (c.start, c.duration, c.source_in, audio)
                found = loose.pop(key, None) if audio is not None else None
                if found is not None:
                    partner[c.id], partner[found] = found, c.id
    return [
        msgspec.structs.replace(
            t, clips=tuple(msgspec.structs.replace(c, linked_id=partner.get(c.id)) for c in t.clips)
        )
        for t in tracks
    ]


class _Relinker:
    """Finds the asset a clip's media reference names (see the module's docstring)."""

    def __init__(self, root: Path, project: Project, out: Plan) -> None:
        self.assets = [a for a in project.assets if a.hash is not None]
        self.by_hash = {a.hash: a for a in self.assets}
        self.root = root
        self.out = out
        self._hashed: dict[Path, str | None] = {}

    def find(self, item: otio.schema.Clip, kind: str) -> Asset | None:
        ref = item.media_reference
        url = getattr(ref, "target_url", None) or ""
        path = _local_path(url)
        asset, how = self._by_hash(_meta(ref).get("sha256"), path)
        if asset is None and path is not None:
            asset = next((a for a in self.assets if path.name in (a.source_name, a.name)), None)
            how = "name"
        if asset is None:
            return None
        if kind == "audio" and asset.kind == "video":  # a video's sound: the audio demuxed from it
            asset = next((a for a in self.assets if a.derived_from == asset.id), None)
        elif kind == "video" and asset.kind == "audio":
            asset = None
        if asset is not None:
            self.out.relinked[how] += 1
        return asset

    def _by_hash(self, sha: object, path: Path | None) -> tuple[Asset | None, str]:
        if isinstance(sha, str) and sha in self.by_hash:
            return self.by_hash[sha], "hash"
        if path is None:
            return None, "hash"
        stem = path.name.split(".", 1)[0]
        if stem in self.by_hash:
            return self.by_hash[stem], "hash"
        digest = self._sha256(path)
        return (self.by_hash.get(digest) if digest else None), "hash"

    def _sha256(self, path: Path) -> str | None:
        if path not in self._hashed:
            digest = None
            if path.is_file():
                h = hashlib.sha256()
                with path.open("rb") as f:
                    while chunk := f.read(1 << 20):
                        h.update(chunk)
                digest = h.hexdigest()
            self._hashed[path] = digest
        return self._hashed[path]


def _local_path(url: str) -> Path | None:
    """The local path of a ``file://`` URL or a plain path; None for another scheme."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" and url:
        return Path(os.path.expanduser(url))
    return None
