"""Content-addressed media import.

A file is probed first (so a rejected file never reaches ``assets/``), then copied into
``assets/<sha256>.<ext>`` in one streaming pass that hashes as it copies: the bytes go to a hidden
temp name, are fsynced and renamed, so ``assets/`` never holds half a file under a real name.
Importing the same bytes twice yields one asset. A video with sound also gets its audio demuxed
into an asset of its own (stream copy when the codec fits a plain container) and lands on the
timeline as a linked video/audio pair.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import ffmpeg
import msgspec

from engine.errors import MediaError, ReelcutError
from engine.media.probe import Probe, probe
from engine.media.tools import FFMPEG_TIMEOUT, PROTOCOLS, run
from engine.model import Asset, Clip, Project, Track, new_id
from engine.projectdir import ProjectDir
from engine.timebase import frames_from_seconds

CHUNK = 1 << 20
IMAGE_SECONDS = 5
"""Default duration of a still image placed on the timeline."""

# Audio codecs that can be stream-copied into a plain container: codec -> (ext, muxer).
_AUDIO_COPY = {
    "aac": ("m4a", "ipod"),
    "alac": ("m4a", "ipod"),
    "mp3": ("mp3", "mp3"),
    "opus": ("opus", "opus"),
    "vorbis": ("ogg", "ogg"),
    "flac": ("flac", "flac"),
    "pcm_s16le": ("wav", "wav"),
    "pcm_s24le": ("wav", "wav"),
    "pcm_f32le": ("wav", "wav"),
}
_EXT_BY_FORMAT = {
    "mov": "mov",
    "mp4": "mp4",
    "matroska": "mkv",
    "webm": "webm",
    "avi": "avi",
    "wav": "wav",
    "mp3": "mp3",
    "ogg": "ogg",
    "flac": "flac",
    "aac": "aac",
    "mpegts": "ts",
    "png_pipe": "png",
    "jpeg_pipe": "jpg",
    "webp_pipe": "webp",
    "gif": "gif",
    "bmp_pipe": "bmp",
    "tiff_pipe": "tif",
}
_MEDIA_EXTS = frozenset(
    [
        "mp4",
        "m4v",
        "mov",
        "mkv",
        "webm",
        "avi",
        "ts",
        "mts",
        "wav",
        "w64",
        "aif",
        "aiff",
        "mp3",
        "m4a",
        "aac",
        "ogg",
        "oga",
        "opus",
        "flac",
        "png",
        "jpg",
        "webp",
        "bmp",
        "tif",
        "tiff",
        "gif",
    ]
)


@dataclass
class ImportResult:
    """What happened to one file: the assets and clips it produced, or the error."""

    source: str
    assets: list[str] = field(default_factory=list)
    clips: list[str] = field(default_factory=list)
    already_imported: bool = False
    error: str | None = None


def import_files(
    pd: ProjectDir, project: Project, files: Iterable[Path], *, place: bool = True
) -> tuple[Project, list[ImportResult]]:
    """Import ``files`` into ``pd``'s asset store; return the new project (unsaved) and results.

    A file that fails gets its own error line and is skipped; the others still import.
    """
    results = []
    for path in files:
        result = ImportResult(source=path.name)
        try:
            project = _import_one(pd, project, path, result, place)
        except ReelcutError as exc:
            result.error = str(exc)
        results.append(result)
    return project, results


def store_bytes(src: Path, assets_dir: Path, ext: str) -> str:
    """Copy ``src`` into ``assets_dir/<sha256>.<ext>``, hashing as it copies; return the hash."""
    tmp = assets_dir / f".import-{secrets.token_hex(6)}.tmp"
    digest = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    try:
        with open(src, "rb") as fin, open(tmp, "xb") as fout:
            while n := fin.readinto(buf):
                digest.update(view[:n])
                fout.write(view[:n])
            fout.flush()
            os.fsync(fout.fileno())
        sha = digest.hexdigest()
        final = assets_dir / f"{sha}.{ext}"
        if final.exists():
            tmp.unlink()
        else:
            os.replace(tmp, final)
        return sha
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise MediaError(f"{src.name}: could not copy into assets/: {exc.strerror}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _import_one(
    pd: ProjectDir, project: Project, path: Path, result: ImportResult, place: bool
) -> Project:
    try:
        st = path.stat()
    except OSError as exc:
        raise MediaError(f"{path.name}: cannot read it ({exc.strerror})") from None
    if not path.is_file():
        raise MediaError(f"{path.name}: not a regular file")
    if st.st_size == 0:
        raise MediaError(f"{path.name}: the file is empty (0 bytes)")
    info = probe(path)
    ext = _extension(path, info)
    pd.assets.mkdir(exist_ok=True)
    sha = store_bytes(path, pd.assets, ext)
    by_hash = {a.hash: a for a in project.assets if a.hash}
    existing = by_hash.get(sha)
    if existing is not None:
        result.already_imported = True
        result.assets.append(existing.id)
        derived = [a.id for a in project.assets if a.derived_from == existing.id]
        result.assets.extend(derived)
        return project

    asset_id, project = new_id(project, "a")
    media = info.media_info(st.st_size, project.rate)
    if info.kind == "video" and info.video_duration:
        media = msgspec.structs.replace(
            media, duration_frames=frames_from_seconds(info.video_duration, project.rate)
        )
    asset = Asset(
        id=asset_id,
        kind=info.kind,
        name=path.name,
        hash=sha,
        ext=ext,
        source_name=path.name,
        media=media,
    )
    new_assets = [asset]
    if info.kind == "video" and info.audio is not None:
        audio_asset, project = _demux_audio(pd, project, path, info, asset)
        new_assets.append(audio_asset)
    project = msgspec.structs.replace(project, assets=project.assets + tuple(new_assets))
    result.assets.extend(a.id for a in new_assets)
    if place:
        project, clip_ids = place_at_end(project, new_assets[0], new_assets[1:])
        result.clips.extend(clip_ids)
    return project


def _demux_audio(
    pd: ProjectDir, project: Project, src: Path, info: Probe, video: Asset
) -> tuple[Asset, Project]:
    assert info.audio is not None
    codec = str(info.audio.get("codec_name", ""))
    ext, muxer = _AUDIO_COPY.get(codec, ("flac", "flac"))
    codec_arg = "copy" if codec in _AUDIO_COPY else "flac"
    tmp = pd.assets / f".import-{secrets.token_hex(6)}.tmp"
    args = (
        ffmpeg.input(str(src), protocol_whitelist=PROTOCOLS)
        .output(
            str(tmp),
            map="0:a:0",
            acodec=codec_arg,
            format=muxer,
            map_metadata=-1,
            map_chapters=-1,
            fflags="+bitexact",
            **{"flags:a": "+bitexact"},
        )
        .global_args("-nostdin", "-v", "error", "-y")
        .compile(cmd="ffmpeg")
    )
    try:
        run(args, timeout=FFMPEG_TIMEOUT, what=f"{src.name}: could not extract its audio")
        audio_info = probe(tmp)
        size = tmp.stat().st_size
        sha = store_bytes(tmp, pd.assets, ext)
    finally:
        tmp.unlink(missing_ok=True)
    asset_id, project = new_id(project, "a")
    media = audio_info.media_info(size, project.rate)
    asset = Asset(
        id=asset_id,
        kind="audio",
        name=f"{video.name} (audio)",
        hash=sha,
        ext=ext,
        source_name=video.source_name,
        derived_from=video.id,
        media=media,
    )
    return asset, project


def place_at_end(
    project: Project, asset: Asset, linked: Iterable[Asset] = ()
) -> tuple[Project, list[str]]:
    """Append ``asset`` at the end of the first unlocked track of its kind (with a linked audio
    clip for each of ``linked``, aligned with it); return the project and the new clip ids."""
    linked = list(linked)
    duration = _clip_duration(project, asset)
    for extra in linked:
        duration = min(duration, _clip_duration(project, extra))
    if duration < 1:
        raise MediaError(f"{asset.name}: shorter than one frame at {project.rate} fps")
    kinds = ["video" if asset.kind in ("video", "image") else "audio"] + ["audio" for _ in linked]
    track_ids = []
    for kind in kinds:
        track = next(
            (
                t
                for t in project.tracks
                if t.kind == kind and not t.locked and t.id not in track_ids
            ),
            None,
        )
        if track is None:
            tid, project = new_id(project, "t")
            count = sum(1 for t in project.tracks if t.kind == kind)
            track = Track(id=tid, kind=kind, name=f"{kind[0].upper()}{count + 1}")  # type: ignore[arg-type]
            project = msgspec.structs.replace(project, tracks=(*project.tracks, track))
        track_ids.append(track.id)
    tracks = {t.id: t for t in project.tracks}
    start = max((tracks[tid].clips[-1].end if tracks[tid].clips else 0) for tid in track_ids)
    clip_ids = []
    for _ in track_ids:
        cid, project = new_id(project, "c")
        clip_ids.append(cid)
    new_tracks = dict(tracks)
    for i, (tid, a) in enumerate(zip(track_ids, [asset, *linked], strict=True)):
        partner = (clip_ids[1] if i == 0 else clip_ids[0]) if linked and i <= 1 else None
        clip = Clip(
            id=clip_ids[i],
            kind="media",
            name=_stem(a.name),
            start=start,
            duration=duration,
            asset_id=a.id,
            linked_id=partner,
        )
        t = new_tracks[tid]
        new_tracks[tid] = msgspec.structs.replace(t, clips=(*t.clips, clip))
    project = msgspec.structs.replace(
        project, tracks=tuple(new_tracks[t.id] for t in project.tracks)
    )
    return project, clip_ids


def _clip_duration(project: Project, asset: Asset) -> int:
    if asset.kind == "image":
        return frames_from_seconds(Fraction(IMAGE_SECONDS), project.rate)
    return asset.media.duration_frames if asset.media else 0


def _extension(path: Path, info: Probe) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "jpeg":
        suffix = "jpg"
    if suffix in _MEDIA_EXTS:
        return suffix
    for name in info.format.split(","):
        if name in _EXT_BY_FORMAT:
            return _EXT_BY_FORMAT[name]
    return "bin"


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else name
