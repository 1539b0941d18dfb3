"""Content-addressed media import.

A file is probed first (so a rejected file never reaches ``assets/``), then copied into
``assets/<sha256>.<ext>`` in one streaming pass that hashes as it copies: the bytes go to a hidden
temp name, are fsynced and renamed, so ``assets/`` never holds half a file under a real name.
Importing the same bytes twice yields one asset. A video with sound also gets its audio demuxed
into an asset of its own (stream copy when the codec fits a plain container), while the video's
bytes are being copied, and lands on the timeline as a linked video/audio pair. A file that fails
at any step takes back every store file it created; files that were already there stay. An
import the disk cannot hold with room to spare for project.json and the state database is
refused before anything is written (`engine.media.room`).
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import msgspec

from engine.errors import MediaError, ReelcutError
from engine.fsio.causes import describe
from engine.fsio.durable import fsync_dir, temp_path
from engine.media.ffmpeg import FFMPEG_TIMEOUT, run
from engine.media.ffmpeg_command import input_args, local_path
from engine.media.probe import Probe, probe
from engine.media.room import check_room, nearly_full
from engine.model import Asset, Clip, Project, Track, new_id
from engine.ops.base import Batch
from engine.ops.draft import AddClip, PutTrack
from engine.projectdir import IMPORT_TEMP_TARGET, ProjectDir
from engine.timebase import frames_from_seconds

CHUNK = 1 << 20
IMAGE_SECONDS = 5
"""Default duration of a still image placed on the timeline."""
TEMP_TARGET = IMPORT_TEMP_TARGET
"""The name an import's temp files in assets/ are made for (`engine.fsio.durable.temp_path`):
the file's real name is its sha256, known only once its bytes are copied. The writer lock's
cleanup of assets/ clears what a killed import left, by exactly this name."""

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

    A file that fails gets its own error line and is skipped, leaving nothing of itself in
    ``assets/``; the others still import.
    """
    results = []
    for path in files:
        result = ImportResult(source=path.name)
        try:
            project = _import_one(pd, project, path, result, place)
        except ReelcutError as exc:
            result.assets.clear()
            result.clips.clear()
            result.error = str(exc)
        results.append(result)
    return project, results


def store_bytes(src: Path, assets_dir: Path, ext: str) -> str:
    """Copy ``src`` into ``assets_dir/<sha256>.<ext>``, hashing as it copies; return the hash."""
    return _copy_in(src, assets_dir, ext).sha


@dataclass(frozen=True)
class _Stored:
    """A file in ``assets/`` under its content name; ``created`` is False when identical bytes
    were already there (so a failed import must not remove it)."""

    sha: str
    path: Path
    created: bool


@dataclass(frozen=True)
class _Extracted:
    stored: _Stored
    ext: str
    info: Probe


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
    if (existing := _already_imported(project, path, st.st_size)) is not None:
        _report_existing(project, existing, result)
        return project
    info = probe(path)
    ext = _extension(path, info)
    pd.assets.mkdir(exist_ok=True)
    check_room(pd, path, st.st_size, info, copies_audio=_copies_audio(info))
    created: list[Path] = []
    try:
        video, audio = _store(pd.assets, path, info, ext, created)
        by_hash = {a.hash: a for a in project.assets if a.hash}
        existing = by_hash.get(video.sha)
        if existing is not None:
            # Same bytes as an asset already in the project: keep nothing this call wrote.
            for p in created:
                p.unlink(missing_ok=True)
            created.clear()
            _report_existing(project, existing, result)
            return project
        project, new_assets = _new_assets(project, path, info, ext, st.st_size, video, audio)
        clip_ids: list[str] = []
        if place:
            project, clip_ids = place_at_end(project, new_assets[0], new_assets[1:])
        if created:
            # The renames must be durable before a project.json naming these files is saved.
            fsync_dir(pd.assets)
    except OSError as exc:
        _remove(created)
        raise MediaError(f"{path.name}: could not store it in assets/: {describe(exc)}") from None
    except BaseException:
        _remove(created)
        raise
    result.assets.extend(a.id for a in new_assets)
    result.clips.extend(clip_ids)
    return project


def _already_imported(project: Project, path: Path, size: int) -> Asset | None:
    """The project's asset with ``path``'s bytes, found by hashing (not copying) the file, and
    only when some asset has exactly its size."""
    if not any(a.media and a.media.size_bytes == size and a.hash for a in project.assets):
        return None
    try:
        sha = _hash_file(path)
    except OSError as exc:
        raise MediaError(f"{path.name}: cannot read it ({exc.strerror})") from None
    return next((a for a in project.assets if a.hash == sha), None)


def _report_existing(project: Project, existing: Asset, result: ImportResult) -> None:
    result.already_imported = True
    result.assets.append(existing.id)
    result.assets.extend(a.id for a in project.assets if a.derived_from == existing.id)


def _store(
    assets_dir: Path, src: Path, info: Probe, ext: str, created: list[Path]
) -> tuple[_Stored, _Extracted | None]:
    """Copy ``src`` into the store while, on a worker thread, its audio is extracted into a
    store file of its own: the two passes overlap, so a video with sound costs about one copy.

    Every file newly created is appended to ``created`` (even when the other half fails) so the
    caller can remove them.
    """
    if info.kind != "video" or info.audio is None:
        video = _copy_in(src, assets_dir, ext)
        if video.created:
            created.append(video.path)
        return video, None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reelcut-demux") as pool:
        job = pool.submit(_extract_audio, assets_dir, src, info)
        try:
            video = _copy_in(src, assets_dir, ext)
            if video.created:
                created.append(video.path)
        finally:
            # Wait for the extraction even when the copy failed, so its file can go too.
            if job.exception() is None and job.result().stored.created:
                created.append(job.result().stored.path)
        return video, job.result()


def _new_assets(
    project: Project,
    path: Path,
    info: Probe,
    ext: str,
    size: int,
    video: _Stored,
    audio: _Extracted | None,
) -> tuple[Project, list[Asset]]:
    asset_id, project = new_id(project, "a")
    media = info.media_info(size, project.rate)
    if info.kind == "video" and info.video_duration:
        media = msgspec.structs.replace(
            media, duration_frames=frames_from_seconds(info.video_duration, project.rate)
        )
    asset = Asset(
        id=asset_id,
        kind=info.kind,
        name=path.name,
        hash=video.sha,
        ext=ext,
        source_name=path.name,
        media=media,
    )
    new_assets = [asset]
    if audio is not None:
        audio_id, project = new_id(project, "a")
        new_assets.append(
            Asset(
                id=audio_id,
                kind="audio",
                name=f"{asset.name} (audio)",
                hash=audio.stored.sha,
                ext=audio.ext,
                source_name=asset.source_name,
                derived_from=asset.id,
                media=audio.info.media_info(audio.stored.path.stat().st_size, project.rate),
            )
        )
    project = msgspec.structs.replace(project, assets=project.assets + tuple(new_assets))
    return project, new_assets


def _extract_audio(assets_dir: Path, src: Path, info: Probe) -> _Extracted:
    """Demux the first audio stream of ``src`` into the store (stream copy when the codec fits
    a plain container, else flac), named by its own sha256."""
    assert info.audio is not None
    codec = str(info.audio.get("codec_name", ""))
    ext, muxer = _AUDIO_COPY.get(codec, ("flac", "flac"))
    codec_arg = "copy" if codec in _AUDIO_COPY else "flac"
    tmp = temp_path(assets_dir / TEMP_TARGET)
    args = [
        "ffmpeg",
        "-y",
        *input_args(src),
        *("-map", "0:a:0", "-c:a", codec_arg, "-f", muxer),
        *("-map_metadata", "-1", "-map_chapters", "-1"),
        *("-fflags", "+bitexact", "-flags:a", "+bitexact"),
        local_path(tmp),
    ]
    try:
        run(args, timeout=FFMPEG_TIMEOUT, what=f"{src.name}: could not extract its audio")
        audio_info = probe(tmp)
        stored = _adopt(tmp, assets_dir, ext)
    except OSError as exc:
        raise MediaError(f"{src.name}: could not store its audio: {describe(exc)}") from None
    except MediaError:
        # ffmpeg cut short by a full disk can leave a file that only fails to probe, and
        # the line would blame a temp file's format.
        if nearly_full(assets_dir):
            raise MediaError(
                f"{src.name}: could not store its audio: {describe(errno.ENOSPC)}"
            ) from None
        raise
    finally:
        tmp.unlink(missing_ok=True)
    return _Extracted(stored, ext, audio_info)


def _copy_in(src: Path, assets_dir: Path, ext: str) -> _Stored:
    """Copy ``src`` to a hidden temp name in ``assets_dir``, hashing as it copies, fsync it and
    rename it to ``<sha256>.<ext>``."""
    tmp = temp_path(assets_dir / TEMP_TARGET)
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
        return _settle(tmp, digest.hexdigest(), assets_dir, ext)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise MediaError(f"{src.name}: could not copy into assets/: {describe(exc)}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _adopt(tmp: Path, assets_dir: Path, ext: str) -> _Stored:
    """Name a temp file already written inside ``assets_dir`` by its sha256 (no second copy)."""
    with open(tmp, "rb") as f:
        sha = _hash_open(f)
        os.fsync(f.fileno())
    return _settle(tmp, sha, assets_dir, ext)


def _settle(tmp: Path, sha: str, assets_dir: Path, ext: str) -> _Stored:
    final = assets_dir / f"{sha}.{ext}"
    if final.exists():
        tmp.unlink()
        return _Stored(sha, final, created=False)
    os.replace(tmp, final)
    return _Stored(sha, final, created=True)


def _hash_file(path: Path) -> str:
    with open(path, "rb") as f:
        return _hash_open(f)


def _hash_open(f: io.BufferedReader) -> str:
    digest = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    while n := f.readinto(buf):
        digest.update(view[:n])
    return digest.hexdigest()


def _copies_audio(info: Probe) -> bool:
    """Whether the audio of ``info`` is stream-copied (else it is encoded to flac)."""
    return info.audio is not None and str(info.audio.get("codec_name", "")) in _AUDIO_COPY


def _remove(paths: list[Path]) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


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


def separate_placement(before: Project, after: Project) -> tuple[Project, Batch]:
    """``after`` (``before`` with an import's assets and the clips `import_files` placed) as
    the project with the assets only, and the edit that places the clips on it: the tracks the
    import added, then each clip it added, in track order. The session saves the first as a
    change that is not an undo step (the media bin keeps it) and records the second as one
    (`engine.session.Session.save_import`). The edit takes no ids: the project with the assets
    keeps ``after``'s ``next_id``, so undoing it never hands the clips' ids out again and a
    redo puts back the same clips."""
    old = {t.id: {c.id for c in t.clips} for t in before.tracks}
    added: list[PutTrack] = []
    clips: list[AddClip] = []
    for index, track in enumerate(after.tracks):
        known = old.get(track.id)
        if known is None:
            added.append(PutTrack(index, msgspec.structs.replace(track, clips=())))
            known = set()
        clips.extend(AddClip(track.id, c) for c in track.clips if c.id not in known)
    with_assets = msgspec.structs.replace(after, tracks=before.tracks)
    return with_assets, Batch((*added, *clips))


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
