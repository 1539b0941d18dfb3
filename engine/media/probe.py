"""What a media file is, from ffprobe: kind, durations in exact frames, streams and codecs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from engine.errors import MediaError
from engine.media.ffmpeg import PROBE_TIMEOUT, run
from engine.media.ffmpeg_command import PROTOCOLS, local_path
from engine.model import MediaInfo
from engine.timebase import Rate, frames_from_seconds

# Demuxers we accept (ffprobe's format_name is a comma-separated list of aliases). Anything else,
# playlists (hls, concat) above all, is refused before a byte is copied.
ALLOWED_FORMATS = frozenset(
    [
        "mov",
        "mp4",
        "m4a",
        "3gp",
        "3g2",
        "mj2",
        "matroska",
        "webm",
        "avi",
        "wav",
        "w64",
        "aiff",
        "mp3",
        "ogg",
        "flac",
        "aac",
        "mpegts",
        "png_pipe",
        "jpeg_pipe",
        "webp_pipe",
        "bmp_pipe",
        "tiff_pipe",
        "gif",
        "image2",
    ]
)
IMAGE_FORMATS = frozenset(["png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe", "image2"])


@dataclass(frozen=True)
class Probe:
    """The parts of ffprobe's answer that import needs."""

    kind: Literal["video", "audio", "image"]
    format: str
    duration: Fraction  # seconds, 0 for stills
    video: dict[str, Any] | None
    audio: dict[str, Any] | None
    video_duration: Fraction | None
    audio_duration: Fraction | None

    def media_info(self, size_bytes: int, rate: Rate) -> MediaInfo:
        v, a = self.video, self.audio
        vrate = _rate(v.get("avg_frame_rate") or v.get("r_frame_rate")) if v else None
        return MediaInfo(
            format=self.format,
            size_bytes=size_bytes,
            duration_us=int(self.duration * 1_000_000),
            duration_frames=frames_from_seconds(self.duration, rate) if self.kind != "image" else 0,
            rate=vrate if self.kind == "video" else None,
            width=int(v.get("width", 0)) if v else 0,
            height=int(v.get("height", 0)) if v else 0,
            rotation=_rotation(v) if v else 0,
            video_codec=v.get("codec_name") if v else None,
            audio_codec=a.get("codec_name") if a else None,
            audio_channels=int(a.get("channels", 0)) if a else 0,
            audio_rate=int(a.get("sample_rate", 0) or 0) if a else 0,
        )


def probe(path: Path) -> Probe:
    """Probe ``path``; raise MediaError with a reason a user can act on."""
    res = run(
        [
            "ffprobe",
            "-protocol_whitelist",
            PROTOCOLS,
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            "--",
            local_path(path),
        ],
        timeout=PROBE_TIMEOUT,
        what=f"{path.name}: not a media file ffprobe can read",
    )
    try:
        info = json.loads(res.stdout)
    except ValueError:
        raise MediaError(f"{path.name}: ffprobe gave an unreadable answer") from None
    fmt = info.get("format") or {}
    format_name = str(fmt.get("format_name", ""))
    names = set(format_name.split(","))
    if not names & ALLOWED_FORMATS:
        raise MediaError(
            f"{path.name}: {format_name or 'unknown'} files are not supported; "
            "import video (mp4, mov, webm, mkv), audio (wav, mp3, m4a, ogg, flac) or images"
        )
    streams = info.get("streams") or []
    video = next(
        (
            s
            for s in streams
            if s.get("codec_type") == "video"
            and not (s.get("disposition") or {}).get("attached_pic")
        ),
        None,
    )
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    duration = _seconds(fmt.get("duration"))
    if video is not None and (names & IMAGE_FORMATS or _is_still_gif(names, video)):
        kind: Literal["video", "audio", "image"] = "image"
        duration = Fraction(0)
    elif video is not None:
        kind = "video"
    elif audio is not None:
        kind = "audio"
    else:
        raise MediaError(f"{path.name}: has no video or audio stream")
    vdur = _seconds(video.get("duration")) if video is not None else None
    adur = _seconds(audio.get("duration")) if audio is not None else None
    if kind != "image":
        duration = duration or vdur or adur or Fraction(0)
        if duration <= 0:
            raise MediaError(f"{path.name}: has no duration (truncated or still being written?)")
    return Probe(kind, format_name, duration, video, audio if kind != "image" else None, vdur, adur)


def _seconds(value: Any) -> Fraction:
    if value in (None, "", "N/A"):
        return Fraction(0)
    try:
        return max(Fraction(str(value)), Fraction(0))
    except (ValueError, ZeroDivisionError):
        return Fraction(0)


def _rate(text: str | None) -> Rate | None:
    if not text or text in ("0/0", "0/1"):
        return None
    try:
        frac = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return Rate(frac.numerator, frac.denominator) if frac > 0 else None


def _rotation(stream: dict[str, Any]) -> int:
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            return int(float(side["rotation"]))
    tags = stream.get("tags") or {}
    try:
        return int(tags.get("rotate", 0))
    except ValueError:
        return 0


def _is_still_gif(names: set[str], video: dict[str, Any]) -> bool:
    return "gif" in names and str(video.get("nb_frames", "")) in ("", "1")
