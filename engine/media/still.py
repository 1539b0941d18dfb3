"""One frame of the timeline as RGB pixels, from the proxies: what the terminal viewer draws.

`frame_picture` (the door's `Workspace.frame_picture`) is the picture at a timeline frame in a
box of pixels, with a line saying what it shows. `frame_pixels` decodes the picture
`engine.shown.picture_at` chose, fitted inside the project's canvas (aspect kept, black bars,
as the page and the export fit it) at the size asked for. A video's frame ``k`` is read from
its proxy, which is made at the project's rate (its frame ``k`` is project frame ``k`` of the
source): ffmpeg seeks to half a frame before ``k`` and keeps the first frame at or after that
time, which is ``k`` (its timestamp ``k / rate`` is the first one past the seek point; seeking
to ``k / rate`` itself would land on a boundary that rounds to either side). A still is read
from its file. Blocking: call it off the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from engine.errors import MediaError, ReelcutError
from engine.media import ffmpeg
from engine.media.derivatives import derivative_paths, is_fresh
from engine.media.ffmpeg_command import input_args
from engine.model import Project, Transform
from engine.shown import Picture, picture_at
from engine.timebase import format_timecode

DECODE_TIMEOUT = 20.0
"""Seconds one frame may take (a proxy seeks to a keyframe at most 0.5 s back)."""


@dataclass(frozen=True)
class Pixels:
    """An RGB image, ``width * height * 3`` bytes, rows top to bottom."""

    width: int
    height: int
    rgb: bytes

    def at(self, x: int, y: int) -> tuple[int, int, int]:
        i = (y * self.width + x) * 3
        return self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]


def black(width: int, height: int) -> Pixels:
    return Pixels(width, height, bytes(width * height * 3))


def canvas_size(project: Project, width: int, height: int) -> tuple[int, int]:
    """The largest size with the canvas's aspect that fits in ``width`` x ``height`` pixels."""
    w = min(width, max(1, round(height * project.width / project.height)))
    h = min(height, max(1, round(w * project.height / project.width)))
    return max(1, w), max(1, h)


class NoProxy(MediaError):
    """The video's proxy is not built yet (its job is queued or running)."""


def frame_pixels(root: Path, project: Project, picture: Picture, width: int, height: int) -> Pixels:
    """The picture at ``width`` x ``height`` (the canvas fitted inside, black around it); black
    for a gap. Raises `NoProxy` for a video whose proxy is not there yet, `MediaError` when
    ffmpeg fails."""
    layer = picture.layer
    if layer is None or layer.asset is None:
        return black(width, height)
    asset = layer.asset
    if asset.kind == "video":
        proxy = derivative_paths(root, asset, project.rate).get("proxy")
        if proxy is None or not is_fresh(proxy):
            raise NoProxy(f"{asset.name}: its proxy is not built yet")
        rate = project.rate.fraction
        at = max(Fraction(0), (Fraction(layer.source_frame) - Fraction(1, 2)) / rate)
        seek = ["-ss", f"{float(at):.6f}"] if at > 0 else []
        source = [*seek, *input_args(proxy)]
    else:
        assert asset.filename is not None  # a picture layer has bytes
        source = input_args(root / "assets" / asset.filename)
    args = [
        "ffmpeg",
        *source,
        "-frames:v",
        "1",
        "-vf",
        f"scale={width}:{height}:force_original_aspect_ratio=decrease:flags=area,"
        f"format=rgb24,pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:black",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-",
    ]
    done = ffmpeg.run(
        args,
        what=f"{asset.name}: could not read frame {layer.source_frame}",
        timeout=DECODE_TIMEOUT,
    )
    want = width * height * 3
    if len(done.stdout) < want:
        raise MediaError(
            f"{asset.name}: no frame {layer.source_frame} (past the end of its proxy?)"
        )
    return Pixels(width, height, done.stdout[:want])


@dataclass(frozen=True)
class FramePicture:
    """The picture at timeline ``frame`` in a box (the canvas fitted and centred in it, black
    around), and one line saying what it is: the track, the clip and its source timecode, the
    titles in front of it (drawn on the page, said here), or why it is black."""

    frame: int
    pixels: Pixels
    caption: str


def frame_picture(
    root: Path, project: Project, frame: int, width: int, height: int
) -> FramePicture:
    """What the page shows at ``frame``, as ``width`` x ``height`` pixels (square pixels)."""
    w, h = canvas_size(project, width, height)
    picture = picture_at(project, frame)
    caption = _caption(project, picture)
    try:
        canvas = frame_pixels(root, project, picture, w, h)
    except NoProxy as exc:
        canvas, caption = black(w, h), f"{exc}; the picture comes when it is built"
    except ReelcutError as exc:
        canvas, caption = black(w, h), str(exc)
    tc = format_timecode(frame, project.rate)
    return FramePicture(frame, _centred(canvas, width, height), f"{tc} {caption}")


def _caption(project: Project, picture: Picture) -> str:
    layer = picture.layer
    if layer is None:
        what = "gap (black)"
    else:
        src = format_timecode(layer.source_frame, project.rate)
        what = f"{layer.track.name} {layer.clip.name} · src {src}"
        if layer.clip.transform not in (None, Transform()):
            # Drawn full-frame here: moved, scaled, rotated or faded only on the page and in
            # the export (what is under it does not show through).
            what += " · transform not drawn"
    titles = "".join(f" · title: {c.text.text}" for c in picture.texts if c.text is not None)
    return what + titles


def _centred(canvas: Pixels, width: int, height: int) -> Pixels:
    """``canvas`` in the middle of a black ``width`` x ``height`` image."""
    if (canvas.width, canvas.height) == (width, height):
        return canvas
    left, top = (width - canvas.width) // 2, (height - canvas.height) // 2
    out = bytearray(width * height * 3)
    line = canvas.width * 3
    for y in range(canvas.height):
        at = ((top + y) * width + left) * 3
        out[at : at + line] = canvas.rgb[y * line : (y + 1) * line]
    return Pixels(width, height, bytes(out))
