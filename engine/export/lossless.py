"""``reelcut export --lossless``: the timeline cut with the source's video stream copied, as
LosslessCut does, where the timeline allows it; refused with the reason (one line) where not.

What it allows (`check`): in the exported range, one video track holds clips and nothing else
is on any other video track; every clip is a video clip as it is (no transform), back to back
(no gap: black would have to be encoded); every source has the project's frame size and rate
(constant: no conform) and the same codec parameters as the others, down to the bytes of its
parameter sets (SPS/PPS), so the copied pieces join into one stream a player decodes without a
break. Every cut is on a keyframe: a clip starts on one, and when the source has B-frames (a
frame shown before a cut may need one shown after it) it ends just before one or at the
source's end. The container must hold the codec (H.264/HEVC in .mp4/.mov, VP8/VP9/AV1 in
.webm). Audio tracks may only hold the copied clips' linked sound.

A cut inside a group of pictures is refused, not smart-cut: re-encoding the frames from the cut
to the next keyframe needs an encoder that writes the source's exact parameter sets, or the
stream changes its SPS/PPS mid-file (which MP4's one sample description cannot say, and players
handle badly). The refusal names the clip, its source frame and the nearest keyframes, so the
in-point can be moved there, or the export made without ``--lossless``.

How: each clip's frames are copied into a piece (input seek to its keyframe's exact time,
``-c:v copy``, exactly its number of packets: with its cuts on keyframes these are exactly its
frames), and the pieces are joined by the concat demuxer with the stream copied. The sound is
the export graph's (the linked audio, sample-exact at every cut) encoded with the preset's
audio codec: copying compressed audio packets would put each cut up to one packet off (21 ms
of AAC).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from engine.errors import UsageError
from engine.export.chunks import not_video, render_sound
from engine.export.presets import Preset
from engine.jobs.runner import JobContext
from engine.media.ffmpeg import run_async
from engine.model import Asset, Clip, Project

BATCH = 32
"""Pieces copied by one ffmpeg process (each is an open input)."""

CONTAINERS = {
    "mp4": {"h264", "hevc"},
    "mov": {"h264", "hevc", "prores"},
    "webm": {"vp8", "vp9", "av1"},
}
"""Which codecs each preset's container takes copied."""


@dataclass(frozen=True)
class Source:
    """A source's video stream as the copy needs it: what must match, and its frames."""

    params: tuple[str, ...]
    """codec, profile, size, pixel format, frame rate, parameter sets' md5."""
    describe: str
    rate: Fraction | None
    size: tuple[int, int]
    codec: str
    b_frames: bool
    pts: list[int]
    """Every frame's timestamp in display order (ticks of ``base``)."""
    keyframes: list[int]
    """Display indices of the keyframes."""
    base: Fraction


@dataclass(frozen=True)
class Piece:
    """One clip's frames: the source file, its first display index, how many."""

    path: Path
    first: int
    frames: int
    seek: str
    """The keyframe's own timestamp (``-seek_timestamp 1``) in whole microseconds: ffmpeg
    rounds it to the nearest tick, which is the keyframe's (a tick is longer than 1 µs), and
    subtracts exactly that from every timestamp, so the piece starts at 0 with its keyframe."""


def check(root: Path, project: Project, preset: Preset, first: int, last: int) -> list[Piece]:
    """The pieces to copy for ``[first, last)``, or `UsageError` with the reason."""
    if preset.audio_only:
        raise UsageError("--lossless copies a video stream; an audio-only export has none")
    video = [t for t in project.tracks if t.kind == "video"]
    used = [t for t in video if any(c.start < last and c.end > first for c in t.clips)]
    if len(used) != 1:
        names = " and ".join(t.name for t in used) or "no video track"
        raise UsageError(f"--lossless copies one video track; the range has clips on {names}")
    track = used[0]
    clips = sorted((c for c in track.clips if c.start < last and c.end > first), key=_start)
    assets = {a.id: a for a in project.assets}
    at = first
    pieces: list[Piece] = []
    sources: dict[str, Source] = {}
    reference: tuple[Clip, Source] | None = None
    for clip in clips:
        asset = assets.get(clip.asset_id or "")
        if clip.kind != "media" or asset is None or asset.kind != "video":
            raise UsageError(f"clip {clip.id} is not a video clip; --lossless copies video only")
        if clip.transform is not None:
            raise UsageError(
                f"clip {clip.id} has a transform; --lossless copies frames as they are"
            )
        if clip.start > at:
            raise UsageError(f"a gap at frame {at}; --lossless cannot copy black frames")
        s, e = max(clip.start, first), min(clip.end, last)
        path = _path(root, asset)
        if asset.id not in sources:
            sources[asset.id] = probe(path)
        src = sources[asset.id]
        if src.rate != project.rate.fraction:
            rate = "a variable rate" if src.rate is None else f"{float(src.rate):g} fps"
            raise UsageError(
                f"clip {clip.id}'s source runs at {rate}, the project at "
                f"{float(project.rate.fraction):g} fps; --lossless cannot conform"
            )
        if src.size != (project.width, project.height):
            raise UsageError(
                f"clip {clip.id}'s source is {src.size[0]}x{src.size[1]}, the project "
                f"{project.width}x{project.height}; --lossless cannot scale"
            )
        if src.codec not in CONTAINERS.get(preset.format, set()):
            raise UsageError(f"--lossless cannot copy {src.codec} into .{preset.format}")
        if reference is None:
            reference = (clip, src)
        elif reference[1].params != src.params:
            raise UsageError(
                f"clip {clip.id}'s source ({src.describe}) differs from clip {reference[0].id}'s "
                f"({reference[1].describe}); --lossless joins one codec with the same parameters"
            )
        start = clip.source_in + (s - clip.start)
        end = start + (e - s)
        if end > len(src.pts):
            raise UsageError(f"clip {clip.id} runs past its source's last frame")
        _on_keyframes(clip, src, start, end)
        pieces.append(Piece(path, start, end - start, _seconds(src.pts[start] * src.base)))
        at = e
    if at < last:
        raise UsageError(f"a gap at frame {at}; --lossless cannot copy black frames")
    copied = {c.id for c in clips}
    for t in project.tracks:
        if t.kind != "audio" or t.muted:
            continue
        for c in t.clips:
            if c.start < last and c.end > first and c.linked_id not in copied:
                raise UsageError(
                    f"{t.name} has clip {c.id}, not the sound of a copied video clip; "
                    "--lossless keeps only the video's linked sound"
                )
    return pieces


def _seconds(t: Fraction) -> str:
    us = round(t * 1_000_000)
    sign, us = ("-", -us) if us < 0 else ("", us)
    return f"{sign}{us // 1_000_000}.{us % 1_000_000:06d}"


def _start(c: Clip) -> int:
    return c.start


def _on_keyframes(clip: Clip, src: Source, start: int, end: int) -> None:
    keys = src.keyframes
    if start not in keys:
        before = max((k for k in keys if k < start), default=None)
        after = min((k for k in keys if k > start), default=None)
        near = " and ".join(str(k) for k in (before, after) if k is not None)
        raise UsageError(
            f"clip {clip.id} starts at source frame {start}, not on a keyframe (nearest: {near});"
            " --lossless does not re-encode: move the in-point there or export without it"
        )
    if src.b_frames and end < len(src.pts) and end not in keys:
        raise UsageError(
            f"clip {clip.id} ends at source frame {end}, inside a group of pictures with "
            "B-frames (frames before the cut need frames after it); --lossless cuts there only "
            "on a keyframe"
        )


def _path(root: Path, asset: Asset) -> Path:
    path = root / "assets" / (asset.filename or "")
    if asset.filename is None or not path.is_file():
        raise UsageError(f"{asset.name} ({asset.id}) is missing from assets/")
    return path


def probe(path: Path) -> Source:
    """The video stream's parameters and every packet's timestamp and key flag."""
    out = subprocess.run(
        [
            "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_data_hash", "md5",
            "-show_entries",
            "stream=codec_name,profile,width,height,pix_fmt,r_frame_rate,avg_frame_rate,"
            "time_base,has_b_frames,extradata_hash:packet=pts,flags",
            "-of", "json", str(path),
        ],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    try:
        doc = json.loads(out.stdout)
        st: dict[str, Any] = doc["streams"][0]
        packets = [(int(p["pts"]), "K" in p["flags"]) for p in doc["packets"] if "pts" in p]
    except (ValueError, KeyError, IndexError):
        raise UsageError(f"--lossless cannot read the video packets of {path.name}") from None
    packets.sort()
    pts = [p for p, _ in packets]
    keys = [i for i, (_, key) in enumerate(packets) if key]
    r, avg = Fraction(st["r_frame_rate"]), Fraction(st.get("avg_frame_rate") or "0")
    keys_of = ("codec_name", "profile", "width", "height", "pix_fmt", "r_frame_rate")
    params = (*(str(st.get(k)) for k in keys_of), str(st.get("extradata_hash")))
    describe = (
        f"{st['codec_name']} {st.get('profile')} {st['width']}x{st['height']} {st['pix_fmt']}"
    )
    steps = {b - a for a, b in itertools.pairwise(pts)}
    constant = len(steps) <= 1 and (avg == 0 or avg == r)
    return Source(
        params=params,
        describe=describe,
        rate=r if constant else None,
        size=(int(st["width"]), int(st["height"])),
        codec=str(st["codec_name"]),
        b_frames=int(st.get("has_b_frames") or 0) > 0,
        pts=pts,
        keyframes=keys,
        base=Fraction(st["time_base"]),
    )


async def render(
    ctx: JobContext,
    root: Path,
    project: Project,
    preset: Preset,
    first: int,
    last: int,
    out: Path,
    tmp: Path,
) -> dict[str, Any]:
    """Copy the pieces of ``[first, last)`` and join them with the sound into ``tmp``."""
    pieces = await asyncio.to_thread(check, root, project, preset, first, last)
    with tempfile.TemporaryDirectory(prefix="reelcut-lossless-", dir=out.parent) as scratch:
        folder = Path(scratch)
        names = [folder / f"piece{i:04d}.{preset.format}" for i in range(len(pieces))]
        sound = folder / "sound.wav" if preset.audio else None
        mixing = None
        if sound is not None:  # the sound is rendered while the pieces are copied
            mixing = asyncio.create_task(render_sound(root, project, first, last, folder, sound))
        try:
            for at in range(0, len(pieces), BATCH):
                await _copy(pieces[at : at + BATCH], names[at : at + BATCH], preset)
                done = min(len(pieces), at + BATCH)
                ctx.report(0.8 * done / len(pieces), f"{done} of {len(pieces)} pieces copied")
            if mixing is not None:
                await mixing
        finally:
            if mixing is not None and not mixing.done():
                mixing.cancel()
                await asyncio.gather(mixing, return_exceptions=True)
        listing = folder / "pieces.txt"
        listing.write_text("".join(f"file '{n.name}'\n" for n in names), encoding="utf-8")
        # auto_convert 0: the concat demuxer would otherwise put the H.264 parameter sets in
        # every keyframe's packet (its mp4toannexb), and the packets would not be the source's
        args = ["ffmpeg", "-nostdin", "-hide_banner", "-f", "concat", "-safe", "0"]
        args += ["-auto_convert", "0"]
        args += ["-i", str(listing)]
        maps = ["-map", "0:v:0"]
        if sound is not None:
            args += ["-i", str(sound)]
            maps += ["-map", "1:a:0"]
        args += [*maps, "-c:v", "copy", *not_video(preset.codec_args), "-map_metadata", "-1"]
        await run_async(
            [*args, "-f", preset.format, "-y", str(tmp)],
            what=f"join the pieces of {out.name}",
            timeout=600 + (last - first) / 10,
            show_as={str(tmp): out.name},
        )
    return {"out": str(out), "frames": last - first, "lossless": True, "pieces": len(pieces)}


async def _copy(pieces: list[Piece], names: list[Path], preset: Preset) -> None:
    """One ffmpeg process copies several pieces (an input and an output each): a process per
    piece cost more than the copying (0.25 s each on a loaded machine, 21 pieces 5 s)."""
    args = ["ffmpeg", "-nostdin", "-hide_banner"]
    for piece in pieces:
        args += ["-seek_timestamp", "1", "-ss", piece.seek, "-i", str(piece.path)]
    for i, (piece, name) in enumerate(zip(pieces, names, strict=True)):
        args += ["-map", f"{i}:v:0", "-c", "copy", "-frames:v", str(piece.frames)]
        args += ["-map_metadata", "-1", "-f", preset.format, "-y", str(name)]
    await run_async(
        args,
        what=f"copy {len(pieces)} pieces",
        timeout=600,
        show_as={str(n): n.name for n in names},
    )
