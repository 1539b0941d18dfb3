"""Derived media built by ffmpeg: browser proxies, thumbnail strips and waveform peaks.

Derivatives live beside the project's assets and are always rebuildable. Their names are keyed
by the source's content hash and by a recipe number, so building is idempotent and changing a
recipe (bump its ``*_RECIPE``) makes every older file stale instead of silently reused::

    proxies/<sha256>.p<PROXY_RECIPE>r<num>[d<den>].mp4
                                             H.264 preview at the project's frame rate (frame k
                                             is project frame k of the source), <= 540 lines
    previews/<sha256>.t<THUMBS_RECIPE>.jpg   every thumbnail tiled into one JPEG
    previews/<sha256>.t<THUMBS_RECIPE>.json  the tile grid of that JPEG (see make_thumbnails)
    previews/<sha256>.w<PEAKS_RECIPE>.json   waveform peaks (see make_peaks)

Each builder is an ``async`` function meant to be a job handler: ffmpeg runs under
`engine.media.ffmpeg`'s async face, progress is reported as ``on_progress(fraction, message)``
and the output is written to a hidden temp name in the target folder, fsynced and renamed into
place (then the folder is fsynced) only when everything succeeded. When the awaiting task is
cancelled or the timeout passes, ffmpeg's whole process group is killed and reaped and the temp
file removed before the CancelledError (or a MediaError for the timeout) propagates, so a final
name never holds half a file.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import time
from array import array
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from engine.errors import MediaError
from engine.fsio.durable import commit_path, remove_stale_temps, temp_path, write_path
from engine.media.ffmpeg import FFMPEG_TIMEOUT, input_args, local_path, run_async
from engine.model import Asset
from engine.timebase import Rate

ProgressCallback = Callable[[float, str], None]
"""``on_progress(fraction, message)``: fraction in 0..1, never decreasing, 1.0 once at the end."""

PROXY_RECIPE = 2
THUMBS_RECIPE = 1
PEAKS_RECIPE = 1
"""Recipe versions, part of each derivative's file name: bump one when its output changes."""

PROXY_MAX_HEIGHT = 540
PROXY_CRF = 28
KEYFRAME_SECONDS = 0.5
"""Proxy keyframe spacing: a browser seeks to any point by decoding at most this much."""

THUMB_WIDTH = 160
THUMB_COLUMNS = 10
MAX_TILES = 100
MIN_TILE_SECONDS = 1.0

PEAKS_BUCKETS_PER_SECOND = 100
PEAKS_SAMPLE_RATE = 8000
"""Audio is decoded to mono at this rate for peaks: 80 samples per bucket, enough for a glyph."""
PEAKS_FULL_SCALE = 127
"""Peak values are integers in -127..127; divide by this for -1..1."""

_PROGRESS_STEP = 0.01
_PROGRESS_INTERVAL = 0.25
_READ_CHUNK = 64 * 1024
_LABELS = {"proxy": "proxy", "thumbs": "thumbnails", "peaks": "waveform"}


# --- names and freshness ------------------------------------------------------------------------


def derivative_paths(root: Path, asset: Asset, rate: Rate) -> dict[str, Path]:
    """The derivatives that apply to ``asset`` in the project at ``root`` (at frame ``rate``),
    by kind.

    Video gets ``proxy`` and ``thumbs`` (plus ``peaks`` when it has sound), audio gets ``peaks``,
    an image gets ``thumbs`` (one tile, for the timeline; the browser shows the file itself).
    Text, callouts and Remotion clips get none, and so does an asset without stored bytes.
    """
    media = asset.media
    if asset.hash is None or asset.ext is None or media is None:
        return {}
    sha = asset.hash
    paths: dict[str, Path] = {}
    if asset.kind == "video":
        paths["proxy"] = root / "proxies" / proxy_name(sha, rate)
    if asset.kind in ("video", "image"):
        paths["thumbs"] = root / "previews" / f"{sha}.t{THUMBS_RECIPE}.jpg"
    has_audio = media.audio_codec is not None or media.audio_channels > 0
    if asset.kind == "audio" or (asset.kind == "video" and has_audio):
        paths["peaks"] = root / "previews" / f"{sha}.w{PEAKS_RECIPE}.json"
    return paths


def proxy_name(sha: str, rate: Rate) -> str:
    """``<sha>.p<recipe>r<num>[d<den>].mp4``: the proxy is made at the project's rate, so the
    rate is part of its name (``r30``, ``r30000d1001``)."""
    den = f"d{rate.den}" if rate.den != 1 else ""
    return f"{sha}.p{PROXY_RECIPE}r{rate.num}{den}.mp4"


def thumbs_index_path(thumbs: Path) -> Path:
    """The JSON sidecar that describes the tile grid of the thumbnail strip ``thumbs``."""
    return thumbs.with_suffix(".json")


def is_fresh(path: Path) -> bool:
    """Whether ``path`` holds a complete derivative: it exists and is non-empty; JSON parses; an
    mp4's top-level boxes tile the file exactly and include ``moov`` and ``mdat``; a JPEG has
    its frame header, its end marker and a fresh sidecar. Cheap: reads no media payload."""
    try:
        if path.stat().st_size == 0:
            return False
        if path.suffix == ".json":
            json.loads(path.read_bytes())
            return True
        if path.suffix == ".mp4":
            return _mp4_complete(path)
        if path.suffix == ".jpg":
            return _jpeg_complete(path) and is_fresh(thumbs_index_path(path))
        return True
    except (OSError, ValueError):
        return False


# --- builders -----------------------------------------------------------------------------------


async def build_derivative(
    root: Path,
    asset: Asset,
    kind: str,
    rate: Rate,
    *,
    on_progress: ProgressCallback | None = None,
    timeout: float | None = None,
    force: bool = False,
) -> Path:
    """Build ``asset``'s derivative ``kind`` (a key of ``derivative_paths``) unless a fresh one
    is already there (or ``force``); return its path. The job handler's one entry point."""
    paths = derivative_paths(root, asset, rate)
    if kind not in paths:
        raise MediaError(f"{asset.name}: {asset.kind} assets have no {kind} derivative")
    dst = paths[kind]
    if not force and await asyncio.to_thread(is_fresh, dst):
        if on_progress is not None:
            on_progress(1.0, f"{_LABELS[kind]} up to date")
        return dst
    assert asset.filename is not None and asset.media is not None  # derivative_paths checked
    src = root / "assets" / asset.filename
    if not src.is_file():
        raise MediaError(f"{asset.name}: its file assets/{asset.filename} is missing")
    media = asset.media
    duration = media.duration_us / 1_000_000 or None
    if kind == "proxy":
        await make_proxy(
            src, dst, rate, duration_s=duration, on_progress=on_progress, timeout=timeout
        )
    elif kind == "thumbs":
        await make_thumbnails(
            src, dst, duration_s=duration, on_progress=on_progress, timeout=timeout
        )
    else:
        await make_peaks(src, dst, duration_s=duration, on_progress=on_progress, timeout=timeout)
    return dst


async def make_proxy(
    src: Path,
    dst: Path,
    rate: Rate,
    *,
    duration_s: float | None,
    on_progress: ProgressCallback | None = None,
    timeout: float | None = None,
) -> None:
    """Write ``dst``: an H.264 preview of ``src`` at the project's ``rate``, frame-exact.

    The source is conformed to ``rate`` at a constant frame rate, so the proxy's frame ``k``
    (presented at ``k / rate``) is what project frame ``k`` of the source shows: the last
    source frame whose time is at or before ``k / rate``, counted from the first video frame
    (``setpts=PTS-STARTPTS``, then ffmpeg's ``fps`` filter with ``round=up``: a source frame
    at time ``t`` first appears at tick ``ceil(t * rate)``). That holds for any source rate and
    for variable-rate footage, and the page seeks to the middle of frame ``k``, never to a
    boundary a decoder may round to either side.

    At most 540 lines tall (never upscaled), aspect kept, even dimensions, rotation applied;
    libx264 veryfast CRF 28, yuv420p, a keyframe every 0.5 s, no scene-cut keyframes, ``moov``
    up front; AAC stereo when the source has sound. ``timeout`` defaults to 10 minutes plus
    four times the duration.
    """
    progress = _Progress("proxy", duration_s, on_progress)
    frames = str(max(1, round(float(rate.fraction) * KEYFRAME_SECONDS)))
    gop = ["-g", frames, "-keyint_min", frames]

    async def build(tmp: Path) -> None:
        args = [
            "-y",
            *input_args(src),
            "-map",
            "0:V:0",
            "-map",
            "0:a:0?",
            "-vf",
            f"setpts=PTS-STARTPTS,fps=fps={rate.num}/{rate.den}:round=up,"
            f"scale=-2:'min({PROXY_MAX_HEIGHT},trunc(ih/2)*2)',format=yuv420p",
            "-fps_mode",
            "cfr",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            str(PROXY_CRF),
            *gop,
            "-sc_threshold",
            "0",
            "-force_key_frames",
            f"expr:gte(t,n_forced*{KEYFRAME_SECONDS})",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-ac",
            "2",
            "-map_metadata",
            "-1",
            "-map_chapters",
            "-1",
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
            local_path(tmp),
        ]
        what = f"{src.name}: could not make its proxy"
        await _run_ffmpeg(
            args,
            what=what,
            timeout=_timeout(timeout, duration_s),
            show_as={local_path(tmp): dst.name},
            duration_s=duration_s,
            on_progress=progress.fraction,
        )
        if not await asyncio.to_thread(_mp4_complete, tmp):
            raise MediaError(f"{what}: ffmpeg wrote no complete video")

    await _produce(src, dst, "proxy", build)
    progress.done()


async def make_thumbnails(
    src: Path,
    dst: Path,
    *,
    duration_s: float | None,
    on_progress: ProgressCallback | None = None,
    timeout: float | None = None,
) -> None:
    """Write ``dst``: a strip of up to 100 thumbnails of ``src`` tiled into one JPEG, and its
    sidecar ``thumbs_index_path(dst)``::

        {"version": 1, "image": "<sha>.t1.jpg", "count": 30, "columns": 10, "rows": 3,
         "tile_width": 160, "tile_height": 90, "seconds_per_tile": 1.0}

    Tile ``i`` (row-major, ``i < count``) is 160 pixels wide and shows the frame nearest to
    ``i * seconds_per_tile``; tiles are at least a second apart and spread evenly over
    ``duration_s``. Tiles after the end of the video stream, if any, are black. A still image
    (``duration_s`` None or 0) gets one tile.
    """
    interval_ms, count = tile_plan(duration_s)
    columns = min(count, THUMB_COLUMNS)
    rows = math.ceil(count / columns)
    progress = _Progress("thumbnails", duration_s, on_progress)
    index_path = thumbs_index_path(dst)

    async def build(tmp: Path) -> None:
        args = [
            "-y",
            *input_args(src),
            # A null copy of the decoded video: its clock is the decode position, which the
            # tile output (one frame, at the very end) cannot report.
            "-map",
            "0:V:0",
            "-c:v",
            "wrapped_avframe",
            "-f",
            "null",
            "-",
            "-map",
            "0:V:0",
            "-vf",
            # A still (no duration) is one frame with no successor, which the fps filter
            # would hold back for ever: it is tiled as it is.
            (f"fps=1000/{interval_ms}," if duration_s else "")
            + f"scale={THUMB_WIDTH}:-2,tile={columns}x{rows}:nb_frames={count}",
            "-frames:v",
            "1",
            "-update",
            "1",
            "-c:v",
            "mjpeg",
            "-q:v",
            "4",
            "-f",
            "image2",
            local_path(tmp),
        ]
        what = f"{src.name}: could not make its thumbnails"
        await _run_ffmpeg(
            args,
            what=what,
            timeout=_timeout(timeout, duration_s),
            show_as={local_path(tmp): dst.name},
            duration_s=duration_s,
            on_progress=progress.fraction,
        )
        size = await asyncio.to_thread(_jpeg_file_size, tmp)
        if size is None:
            raise MediaError(f"{what}: ffmpeg wrote no picture (no video frames?)")
        width, height = size
        index = {
            "version": THUMBS_RECIPE,
            "image": dst.name,
            "count": count,
            "columns": columns,
            "rows": rows,
            "tile_width": width // columns,
            "tile_height": height // rows,
            "seconds_per_tile": interval_ms / 1000,
        }
        # The sidecar lands first: the JPEG's rename is the commit point is_fresh looks at.
        await asyncio.to_thread(write_path, index_path, _dump(index))

    await _produce(src, dst, "thumbnails", build)
    progress.done()


def tile_plan(duration_s: float | None) -> tuple[int, int]:
    """``(milliseconds per tile, tile count)`` for a strip over ``duration_s``: at most
    ``MAX_TILES`` tiles, at least ``MIN_TILE_SECONDS`` apart, covering the whole duration."""
    duration_ms = max(0, math.ceil((duration_s or 0) * 1000))
    interval = max(round(MIN_TILE_SECONDS * 1000), math.ceil(duration_ms / MAX_TILES))
    return interval, min(MAX_TILES, max(1, math.ceil(duration_ms / interval)))


async def make_peaks(
    src: Path,
    dst: Path,
    *,
    duration_s: float | None,
    on_progress: ProgressCallback | None = None,
    timeout: float | None = None,
) -> None:
    """Write ``dst``: waveform peaks of ``src``'s first audio stream, for the timeline glyphs::

        {"version": 1, "buckets_per_second": 100, "sample_rate": 8000, "full_scale": 127,
         "count": 300, "duration_s": 3.0, "min": [-16, ...], "max": [16, ...]}

    The audio is decoded to mono 16-bit at 8 kHz and read as a stream; bucket ``i`` covers
    ``[i / 100, (i + 1) / 100)`` seconds (the last one may be shorter) and holds the lowest and
    highest sample, as integers in -127..127 (divide by ``full_scale`` for -1..1).
    """
    progress = _Progress("waveform", duration_s, on_progress)
    peaks = _Peaks(PEAKS_SAMPLE_RATE // PEAKS_BUCKETS_PER_SECOND)

    def read_pcm(chunk: bytes) -> None:
        peaks.feed(chunk)
        progress.at(peaks.samples / PEAKS_SAMPLE_RATE)

    async def build(tmp: Path) -> None:
        args = [
            "-y",
            *input_args(src),
            "-map",
            "0:a:0",
            "-ac",
            "1",
            "-ar",
            str(PEAKS_SAMPLE_RATE),
            "-c:a",
            "pcm_s16le",
            "-f",
            "s16le",
            "pipe:1",
        ]
        what = f"{src.name}: could not read its sound for the waveform"
        await _run_ffmpeg(
            args, what=what, timeout=_timeout(timeout, duration_s), show_as={}, on_stdout=read_pcm
        )
        peaks.close()
        doc = {
            "version": PEAKS_RECIPE,
            "buckets_per_second": PEAKS_BUCKETS_PER_SECOND,
            "sample_rate": PEAKS_SAMPLE_RATE,
            "full_scale": PEAKS_FULL_SCALE,
            "count": len(peaks.low),
            "duration_s": peaks.samples / PEAKS_SAMPLE_RATE,
            "min": peaks.low.tolist(),
            "max": peaks.high.tolist(),
        }
        await asyncio.to_thread(_write_file, tmp, doc)

    await _produce(src, dst, "waveform", build)
    progress.done()


# --- running ffmpeg -----------------------------------------------------------------------------


async def _produce(
    src: Path, dst: Path, label: str, build: Callable[[Path], Awaitable[None]]
) -> None:
    """Run ``build(tmp)`` with a fresh temp name beside ``dst`` (the scheme of
    `engine.fsio.durable`), then commit tmp as ``dst`` there; on any failure (cancellation
    included) the temp file goes and ``dst`` is left as it was."""
    tmp = temp_path(dst)
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        # A worker killed mid-job left its half-written output (its ffmpeg dies at its next
        # progress write); the job runs again, under a new temp name, once its lease ran out.
        # legacy: older reelcut named these temps .<name>.<12 hex>.tmp; they go too.
        await asyncio.to_thread(remove_stale_temps, dst.parent, dst.name, legacy=True)
        await build(tmp)
        await asyncio.to_thread(commit_path, tmp, dst)
    except OSError as exc:
        raise MediaError(f"{src.name}: could not write its {label}: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)


async def _run_ffmpeg(
    args: list[str],
    *,
    what: str,
    timeout: float,
    show_as: Mapping[str, str],
    duration_s: float | None = None,
    on_progress: Callable[[float], None] | None = None,
    on_stdout: Callable[[bytes], None] | None = None,
) -> None:
    """Run ffmpeg with ``args`` under the supervisor (`engine.media.ffmpeg.run_async`): the
    one place a derivative starts a process, and where bench/bench_jobs.py records commands."""
    await run_async(
        ["ffmpeg", *args],
        what=what,
        timeout=timeout,
        show_as=show_as,
        duration_s=duration_s,
        on_progress=on_progress,
        on_stdout=on_stdout,
    )


def _timeout(timeout: float | None, duration_s: float | None) -> float:
    return timeout if timeout is not None else FFMPEG_TIMEOUT + 4 * (duration_s or 0)


class _Progress:
    """Turns positions in seconds into throttled ``on_progress`` calls: one when the fraction
    grew by 1% or 0.25 s passed with something new to say; never backwards; 1.0 only once the
    file is in place."""

    def __init__(self, label: str, duration_s: float | None, callback: ProgressCallback | None):
        self._label = label
        self._duration = duration_s if duration_s and duration_s > 0 else None
        self._callback = callback
        self._fraction = 0.0
        self._second = 0
        self._when = time.monotonic()
        if callback is not None:
            callback(0.0, f"{label} started")

    def at(self, seconds: float) -> None:
        if self._callback is None:
            return
        seconds = max(0.0, seconds)
        if self._duration is not None:
            seconds = min(seconds, self._duration)
            fraction = max(self._fraction, min(seconds / self._duration, 0.99))
        else:
            fraction = 0.0
        now = time.monotonic()
        moved = fraction > self._fraction or int(seconds) != self._second
        if fraction - self._fraction >= _PROGRESS_STEP or (
            moved and now - self._when >= _PROGRESS_INTERVAL
        ):
            self._fraction, self._second, self._when = fraction, int(seconds), now
            if self._duration is None:
                message = f"{self._label} ({_clock(seconds)} so far)"
            else:
                message = (
                    f"{self._label} {int(fraction * 100)}% "
                    f"({_clock(seconds)} of {_clock(self._duration)})"
                )
            self._callback(fraction, message)

    def fraction(self, fraction: float) -> None:
        """ffmpeg's own progress (the supervisor's ``on_progress``): a fraction of the
        duration."""
        if self._duration is not None:
            self.at(fraction * self._duration)

    def done(self) -> None:
        if self._callback is not None:
            self._fraction = 1.0
            self._callback(1.0, f"{self._label} done")


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


class _Peaks:
    """Min/max per bucket of ``per_bucket`` samples of s16le mono PCM, fed in arbitrary chunks."""

    def __init__(self, per_bucket: int) -> None:
        self.per_bucket = per_bucket
        self.low = array("b")
        self.high = array("b")
        self.samples = 0
        self._rest = b""

    def feed(self, data: bytes) -> None:
        data = self._rest + data
        usable = len(data) - len(data) % (2 * self.per_bucket)
        self._add(data[:usable])
        self._rest = data[usable:]

    def close(self) -> None:
        """Take the last, shorter bucket (a dangling odd byte is no sample)."""
        self._add(self._rest[: len(self._rest) // 2 * 2])
        self._rest = b""

    def _add(self, data: bytes) -> None:
        if not data:
            return
        pcm = array("h")
        pcm.frombytes(data)
        if sys.byteorder == "big":
            pcm.byteswap()
        self.samples += len(pcm)
        step = self.per_bucket
        for i in range(0, len(pcm), step):
            bucket = pcm[i : i + step]
            self.low.append(_scale(min(bucket)))
            self.high.append(_scale(max(bucket)))


def _scale(sample: int) -> int:
    return round(sample * PEAKS_FULL_SCALE / 32768)


# --- files --------------------------------------------------------------------------------------


def _dump(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def _write_file(path: Path, doc: Mapping[str, Any]) -> None:
    with open(path, "xb") as f:
        f.write(_dump(doc))


def _mp4_complete(path: Path) -> bool:
    """The top-level boxes of ``path`` follow each other to exactly its end, with ftyp, moov
    and mdat among them (a truncated or unfinished mp4 fails this)."""
    size = path.stat().st_size
    seen: set[bytes] = set()
    pos = 0
    with open(path, "rb") as f:
        while pos < size:
            f.seek(pos)
            head = f.read(16)
            if len(head) < 8:
                return False
            box = int.from_bytes(head[:4], "big")
            if box == 1 and len(head) == 16:
                box = int.from_bytes(head[8:16], "big")
            elif box == 0:
                box = size - pos
            if box < 8:
                return False
            seen.add(head[4:8])
            pos += box
    return pos == size and {b"ftyp", b"moov", b"mdat"} <= seen


def _jpeg_complete(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-2, os.SEEK_END)
        if f.read(2) != b"\xff\xd9":
            return False
    return _jpeg_file_size(path) is not None


def _jpeg_file_size(path: Path) -> tuple[int, int] | None:
    with open(path, "rb") as f:
        return jpeg_size(f.read(_READ_CHUNK))


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from the frame header of the JPEG starting ``data``, or None."""
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            i += 2
            continue
        # SOF0..SOF15 carry the size; C4 (DHT), C8 (JPG) and CC (DAC) share the range.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if i + 9 > len(data):
                return None
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            return (width, height) if width and height else None
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return None
