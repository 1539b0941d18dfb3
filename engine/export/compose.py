"""How the export's graph composes its layers cheaply: the back track as one stream, and the
pixel format it blends in.

**The pixel format.** ffmpeg's ``overlay`` with ``format=auto`` negotiates a format from what
its inputs offer; a layer with an alpha plane (a text clip, a transformed clip) makes it pick
4:4:4, and the whole chain of overlays then converts every frame of the timeline to 4:4:4 and
back: on the benchmark's 2-minute 1080p timeline that was 59 of its 64 CPU seconds of decoding
and compositing (the hand-written command's: 7). The output is subsampled anyway (the preset's
pixel format), so the graph blends in the output's own layout: the canvas is made in it and
each overlay is told that format; a layer with alpha is converted to it once, for the frames it
covers.

**The back track.** A layer per clip, each overlaid on the canvas, costs a blend (or a copy) of
every frame of every clip, and keeps every clip's chain waiting in one single-threaded graph.
The backmost video track's clips that cover the whole canvas (a video of the project's size,
unrotated, with no transform: the opaque layers) are instead joined end to end by ``concat``,
with black frames for whatever lies between them, as a hand-written command would cut a
timeline together; that stream is the canvas the other layers are laid on, and the track's
other clips (a still, a text, a transformed or smaller clip) are overlaid on it as before, over
the black that stands in for them. Each piece is padded and cut to its exact number of frames,
and the joined stream is renumbered frame by frame on the project's rate (``setpts=N``), so
timeline frame N is the N-th frame whatever timestamps the pieces carried.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from engine.export.presets import Preset
from engine.export.seek import seek_for
from engine.model import Asset, Clip, Project, Track
from engine.shown import source_frame

if TYPE_CHECKING:
    from engine.export.graph import _Graph

_BLEND = {
    "yuv420p": "yuv420",
    "yuv422p": "yuv422",
    "yuv444p": "yuv444",
    "yuv420p10le": "yuv420p10",
    "yuv422p10le": "yuv422p10",
}
"""A preset's pixel format -> the ``overlay`` format that blends in the same layout."""


def blend_formats(preset: Preset) -> tuple[str, str]:
    """(the canvas's pixel format, overlay's ``format``) for ``preset``'s output; a pixel
    format overlay has no layout of its own for blends in 4:4:4 over a 4:4:4 canvas."""
    blend = _BLEND.get(preset.pixel_format)
    if blend is None:
        return "yuv444p", "yuv444"
    return preset.pixel_format, blend


def opaque(clip: Clip, asset: Asset | None, project: Project) -> bool:
    """Whether ``clip`` covers the whole canvas with its own pixels, as they are: a video of
    the project's size, unrotated, with no transform (its alpha, if any, is not kept)."""
    if clip.kind != "media" or asset is None or asset.kind != "video" or asset.media is None:
        return False
    m = asset.media
    size = (project.width, project.height, 0)
    return clip.transform is None and (m.width, m.height, m.rotation) == size


def canvas(
    g: _Graph,
    project: Project,
    assets: dict[str, Asset],
    video: list[Track],
    first: int,
    last: int,
    main: str,
    path_of: Callable[[Asset], Path],
) -> tuple[str, set[str]]:
    """The canvas of frames ``[first, last)``: (its label, the ids of the clips already in
    it). The backmost video track with a clip in the range gives its opaque clips
    (`opaque`), joined with black between them; with none, the canvas is black."""
    rate = project.rate
    fps = f"{rate.num}/{rate.den}"
    size = f"{project.width}x{project.height}"
    spans: list[tuple[int, int, Clip]] = []
    back = next(
        (t for t in reversed(video) if any(_overlaps(c, first, last) for c in t.clips)), None
    )
    at = first
    for clip in sorted(back.clips if back else (), key=lambda c: c.start):
        s, e = max(clip.start, first), min(clip.end, last)
        if s < e and s >= at and opaque(clip, assets.get(clip.asset_id or ""), project):
            spans.append((s, e, clip))
            at = e
    if not spans:
        seconds = float(Fraction(last - first + 1) / rate.fraction)
        g.chains.append(f"color=c=black:s={size}:r={fps}:d={seconds:.6f},format={main}[base]")
        return "base", set()

    def black(frames: int) -> str:
        label = f"k{len(g.chains)}"
        seconds = float(Fraction(frames + 1) / rate.fraction)
        g.chains.append(
            f"color=c=black:s={size}:r={fps}:d={seconds:.6f},format={main},"
            f"trim=end_frame={frames},setpts=PTS-STARTPTS[{label}]"
        )
        return label

    pieces: list[str] = []
    at = first
    for s, e, clip in spans:
        if s > at:
            pieces.append(black(s - at))
        path = path_of(assets[clip.asset_id or ""])
        source_in, frames = source_frame(clip, s), e - s
        seek = seek_for(path, source_in, rate.fraction)  # near the in-point, same frames
        i = g.add_input(*seek.input_args, "-i", str(path))
        label = f"k{len(g.chains)}"
        g.chains.append(
            f"[{i}:v:0]{seek.restore},fps=fps={fps}:round=up,"
            f"trim=start_pts={source_in}:end_pts={source_in + frames},setpts=PTS-STARTPTS,"
            f"format={main},setsar=1,tpad=stop={frames}:color=black,trim=end_frame={frames}"
            f"[{label}]"
        )
        pieces.append(label)
        at = e
    if at < last:
        pieces.append(black(last - at))
    joined = "".join(f"[{p}]" for p in pieces)
    g.chains.append(
        f"{joined}concat=n={len(pieces)}:v=1:a=0,settb=expr={rate.den}/{rate.num},setpts=N[base]"
    )
    return "base", {clip.id for _, _, clip in spans}


def _overlaps(clip: Clip, first: int, last: int) -> bool:
    return max(clip.start, first) < min(clip.end, last)
