"""The timeline as one ffmpeg command: inputs, a filter graph and the output's streams.

What the page composes is what the graph composes. Video tracks stack as the editor lists them
(the first video track in front); each layer is the project's canvas (``width`` x ``height``,
transparent where nothing is) over black. A media clip plays its asset from ``source_in`` for
``duration`` frames, the asset conformed to the project rate exactly as its proxy is (``fps``
from its first frame, rounding up), so timeline frame N shows the frame the page shows; it is
fitted inside the canvas (aspect kept), then moved, scaled, rotated and faded by its transform
(about the canvas's centre, as CSS does). Stills hold; text clips are drawn with the font the
page's family resolves to on this machine (fontconfig, as Chromium does), centred vertically and
aligned as asked. Remotion clips are drawn by @remotion/renderer into transparent PNG frames
first (`engine.export.remotion`) and laid over the tracks below as they are (the page applies
no transform to them either). Gaps are black and silent. Which source frame a timeline frame
shows is `engine.shown.source_frame`, the rule the page and the terminal viewer share.

Audio tracks mix with no normalisation (``amix`` would divide by the number of inputs), each
clip sample-exactly delayed to its start, with its gain and fades (`_clip_sound`); muted
tracks are left out, and when any audio track is solo only solo tracks play. The original
media is the source, never a proxy.

Known ffmpeg 5.1 pitfalls this avoids: overlay's default ``eof_action=repeat`` freezes a clip's
last frame into the gap after it (``pass`` here); drawtext expands ``%{...}`` unless told not to
and mangles quotes in an inline text (``expansion=none`` and a text file); ``apad`` with
``atrim`` can hang (the silent bed is cut to the exact sample count instead).

How the layers are composed at the cost of a hand-written command (the back track's opaque
clips joined by ``concat`` into the canvas, blends in the output's pixel layout):
`engine.export.compose`.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from engine.errors import ReelcutError
from engine.export import remotion
from engine.export.compose import blend_formats, canvas
from engine.export.fontmetrics import line_box
from engine.export.presets import Preset
from engine.export.seek import seek_for
from engine.model import Asset, Clip, Project, Track
from engine.shown import source_frame

SAMPLE_RATE = 48000


@dataclass
class Plan:
    """One export: ``ffmpeg`` arguments up to (not including) the output options and path."""

    args: list[str]
    frames: int
    seconds: float
    text_files: dict[str, str] = field(default_factory=dict)
    """Files the graph reads (drawtext's texts): name -> content, written beside the output."""


@dataclass
class _Graph:
    inputs: list[str] = field(default_factory=list)
    chains: list[str] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    n_inputs: int = 0
    remotion: dict[str, Path] = field(default_factory=dict)
    """Remotion clip id -> the folder of its frames (`engine.export.remotion.render`)."""

    def add_input(self, *args: str) -> int:
        self.inputs += args
        self.n_inputs += 1
        return self.n_inputs - 1


def plan(
    root: Path,
    project: Project,
    preset: Preset,
    first: int,
    last: int,
    text_dir: Path,
    stopper: remotion.Stopper | None = None,
) -> Plan:
    """The command for frames ``[first, last)`` of ``project`` (whose media is under
    ``root``); drawtext's text files are named under ``text_dir``, and Remotion clips' frames
    are drawn into it now (blocking: a browser renders them)."""
    if not 0 <= first < last:
        raise ReelcutError(f"nothing to export: the range {first}-{last} holds no frame")
    rate = project.rate
    seconds = float(Fraction(last - first) / rate.fraction)
    g = _Graph()
    assets = {a.id: a for a in project.assets}
    maps: list[str] = []
    if not preset.audio_only:
        g.remotion = remotion.render(root, project, first, last, text_dir, stopper)
        main, blend = blend_formats(preset)
        video = [t for t in project.tracks if t.kind == "video"]
        current, joined = canvas(
            g, project, assets, video, first, last, main, lambda a: _media_path(root, a)
        )
        n = 0
        for track in reversed(video):  # the last listed is at the back
            for clip in track.clips:
                if clip.id in joined:
                    continue  # already in the canvas, in place
                layer = _layer(g, root, project, assets, clip, first, last, text_dir)
                if layer is None:
                    continue
                label, x, y = layer
                out = f"v{n}"
                g.chains.append(
                    f"[{current}][{label}]overlay=x={x}:y={y}:eof_action=pass:format={blend}[{out}]"
                )
                current, n = out, n + 1
        # Cut in the graph, not with -frames:v: that ends the whole output at the last
        # frame and drops the sound still queued (the last 2,000 samples or so).
        g.chains.append(
            f"[{current}]trim=end_frame={last - first},format={preset.pixel_format}[vout]"
        )
        maps += ["-map", "[vout]"]
    samples = round(Fraction(last - first) * SAMPLE_RATE / rate.fraction)
    if preset.audio:
        g.chains.append(f"anullsrc=r={SAMPLE_RATE}:cl=stereo,atrim=end_sample={samples}[abed]")
        sounds = _sounds(g, root, project, assets, first, last)
        if sounds:
            labels = "".join(f"[{s}]" for s in ["abed", *sounds])
            g.chains.append(
                f"{labels}amix=inputs={len(sounds) + 1}:duration=first:normalize=0:"
                f"dropout_transition=0[aout]"
            )
            maps += ["-map", "[aout]"]
        else:
            maps += ["-map", "[abed]"]
    args = [
        "-nostdin",
        "-hide_banner",
        *g.inputs,
        "-filter_complex",
        ";".join(g.chains),
        *maps,
    ]
    return Plan(args, last - first, seconds, g.texts)


def _window(clip: Clip, first: int, last: int) -> tuple[int, int, int] | None:
    """(the source frame it starts at, frames, where it starts in the export), or None."""
    s, e = max(clip.start, first), min(clip.end, last)
    if s >= e:
        return None
    return source_frame(clip, s), e - s, s - first


def _at(frames: int, project: Project) -> str:
    """``frames`` as seconds in a timestamp expression (exact, as a fraction)."""
    return f"{frames * project.rate.den}/{project.rate.num}"


def _layer(
    g: _Graph,
    root: Path,
    project: Project,
    assets: dict[str, Asset],
    clip: Clip,
    first: int,
    last: int,
    text_dir: Path,
) -> tuple[str, str, str] | None:
    """The clip as a canvas-sized transparent layer: (its label, overlay x, overlay y)."""
    window = _window(clip, first, last)
    if window is None:
        return None
    source_in, frames, at = window
    rate = project.rate
    fps = f"{rate.num}/{rate.den}"
    w, h = project.width, project.height
    label = f"c{len(g.chains)}"
    shift = f"setpts=PTS-STARTPTS+({_at(at, project)})/TB"
    fit = (
        f"scale=w={w}:h={h}:force_original_aspect_ratio=decrease,format=yuva420p,"
        f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black@0"
    )
    if clip.kind == "text" and clip.text is not None:
        name = f"text{len(g.texts)}.txt"
        g.texts[name] = clip.text.text
        dur = float(Fraction(frames) / rate.fraction)
        source = (
            f"color=c=black@0:s={w}x{h}:r={fps}:d={dur + 1:.6f},format=yuva444p,"
            f"{_drawtext(clip, text_dir / name)},trim=end_frame={frames},{shift}"
        )
    elif clip.kind == "media" and clip.asset_id in assets:
        asset = assets[clip.asset_id]
        path = _media_path(root, asset)
        if asset.kind == "video":
            m = asset.media
            if clip.transform is None and m and (m.width, m.height, m.rotation) == (w, h, 0):
                # The canvas's own size, untransformed: an opaque layer needs no alpha plane,
                # and overlay copies it instead of blending every pixel
                fit = "format=yuv420p"
            seek = seek_for(path, source_in, rate.fraction)  # near the in-point, same frames
            i = g.add_input(*seek.input_args, "-i", str(path))
            source = (
                f"[{i}:v:0]{seek.restore},fps=fps={fps}:round=up,"
                f"trim=start_pts={source_in}:end_pts={source_in + frames},{shift},{fit}"
            )
        elif asset.kind == "image":
            hold = float(Fraction(frames + 1) / rate.fraction)
            i = g.add_input("-loop", "1", "-framerate", fps, "-t", f"{hold:.6f}", "-i", str(path))
            source = f"[{i}:v:0]trim=end_frame={frames},{shift},{fit}"
        else:
            return None
    elif clip.kind == "remotion" and clip.id in g.remotion:
        # Frames already drawn from the export's frame ``at`` on, transparent around the clip
        frames_at = str(g.remotion[clip.id] / "%06d.png")
        i = g.add_input("-framerate", fps, "-start_number", "0", "-i", frames_at)
        g.chains.append(f"[{i}:v:0]trim=end_frame={frames},{shift},format=yuva444p[{label}]")
        return label, "0", "0"
    else:
        return None
    x, y = "0", "0"
    t = clip.transform
    if t is not None:
        extra = []
        if t.scale != 1.0:
            extra.append(f"scale=w=iw*{t.scale}:h=ih*{t.scale}")
        if t.rotation:
            # rotw/roth take the angle itself: ``a`` is no constant in ow/oh (ffmpeg 5.1
            # refuses the graph), and clockwise for a positive angle, as CSS turns
            angle = f"{t.rotation}*PI/180"
            extra.append(f"rotate=a={angle}:ow=rotw({angle}):oh=roth({angle}):c=black@0")
        if t.opacity < 1.0:
            extra.append(f"colorchannelmixer=aa={t.opacity}")
        if extra:
            source += "," + ",".join(extra)
        x, y = f"(W-w)/2+{t.x}", f"(H-h)/2+{t.y}"
    g.chains.append(f"{source}[{label}]")
    return label, x, y


def _drawtext(clip: Clip, text_file: Path) -> str:
    """The text as the page lays it out: a CSS box of ``line-height: normal`` with padding
    ``0.2em 0.5em``, centred vertically in the canvas, its baseline where Chromium puts it
    (`line_box`). drawtext's own box pads all sides alike, so the background is drawn by a
    first pass with ``0.5em`` round invisible text and its rows outside the CSS box cleared."""
    p = clip.text
    assert p is not None
    font = font_file(p.font)
    pad_x, pad_y = p.size * 0.5, p.size * 0.2
    box = line_box(font, p.size)
    top = f"(h-{box.height + 2 * pad_y:g})/2"
    x = {"left": f"{pad_x:g}", "right": f"w-tw-{pad_x:g}", "center": "(w-tw)/2"}[p.align]
    common = [
        f"fontfile='{_escape(font)}'",
        f"textfile='{_escape(str(text_file))}'",
        "expansion=none",
        f"fontsize={p.size}",
        f"x={x}",
        # drawtext puts the text's highest glyph top at y: its baseline is y + ascent
        f"y={top}+{pad_y + box.baseline:g}-ascent",
    ]
    text = "drawtext=" + ":".join([*common, f"fontcolor={p.color}"])
    if p.background is None:
        return text
    height = box.height + 2 * pad_y
    clear = "color=black@0:t=fill:replace=1"
    return ",".join(
        [
            "drawtext="
            + ":".join(
                [
                    *common,
                    "fontcolor=black@0",
                    "box=1",
                    f"boxcolor={p.background}",
                    f"boxborderw={round(pad_x)}",
                ]
            ),
            f"drawbox=x=0:y=0:w=iw:h=round((ih-{height:g})/2):{clear}",
            f"drawbox=x=0:y=round((ih+{height:g})/2):w=iw:h=ih:{clear}",
            text,
        ]
    )


def _escape(value: str) -> str:
    """A value inside single quotes in a filter graph."""
    return value.replace("\\", "\\\\").replace("'", "'\\''").replace(":", "\\:")


_FONTS: dict[str, str] = {}


def font_file(family: str) -> str:
    """The font file fontconfig gives for a CSS family (what Chromium draws the page with)."""
    if family not in _FONTS:
        program = shutil.which("fc-match")
        if program is None:
            raise ReelcutError("fc-match is missing (Debian: apt install fontconfig)")
        out = subprocess.run(
            [program, "-f", "%{file}", family], capture_output=True, text=True, timeout=30
        )
        if out.returncode != 0 or not out.stdout:
            raise ReelcutError(f"no font for {family!r} (fontconfig found none)")
        _FONTS[family] = out.stdout.strip()
    return _FONTS[family]


def _media_path(root: Path, asset: Asset) -> Path:
    name = asset.filename
    path = root / "assets" / name if name else None
    if path is None or not path.is_file():
        raise ReelcutError(
            f"{asset.name} ({asset.id}) is missing from assets/; import it again or remove its "
            "clips before exporting"
        )
    return path


def _sounds(
    g: _Graph,
    root: Path,
    project: Project,
    assets: dict[str, Asset],
    first: int,
    last: int,
) -> list[str]:
    audio = [t for t in project.tracks if t.kind == "audio" and not t.muted]
    if any(t.solo for t in audio):
        audio = [t for t in audio if t.solo]
    out: list[str] = []
    for track in audio:
        out += _track_sounds(g, root, project, assets, track, first, last)
    return out


def _track_sounds(
    g: _Graph,
    root: Path,
    project: Project,
    assets: dict[str, Asset],
    track: Track,
    first: int,
    last: int,
) -> list[str]:
    labels: list[str] = []
    rate = project.rate.fraction
    for clip in track.clips:
        window = _window(clip, first, last)
        asset = assets.get(clip.asset_id or "")
        if window is None or asset is None or clip.kind != "media":
            continue
        if asset.media is None or not asset.media.audio_codec or asset.filename is None:
            continue  # no sound, or a take still being generated (silent until it lands)
        source_in, frames, at = window
        delay = round(Fraction(at) * SAMPLE_RATE / rate)
        i = g.add_input("-i", str(_media_path(root, asset)))
        label = f"a{len(labels)}t{track.id}"
        g.chains.append(
            f"[{i}:a:0]aresample={SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo,"
            f"{_clip_sound(clip, source_in, frames, rate)},adelay=delays={delay}S:all=1[{label}]"
        )
        labels.append(label)
    return labels


def _clip_sound(clip: Clip, source_in: int, frames: int, rate: Fraction) -> str:
    """The filters that cut ``frames`` frames from ``source_in`` out of a clip's sound, with
    its gain and fades: the whole clip is cut first, so a fade sits on the clip's own samples
    whatever part of it an export's range takes, then the part is cut from that.

    Gain is ``volume`` in dB; the fade-in rises linearly from silence over the clip's first
    ``fade_in`` frames' samples, the fade-out falls to silence over its last ``fade_out``
    frames' samples (afade's default ``tri`` curve is linear in amplitude, as the page's
    volume ramp is). Frame ``k`` of a clip starts at its sample ``round(k * 48000 / rate)``,
    the rule the rest of the graph cuts by."""

    def sample(frame: int) -> int:
        return round(Fraction(frame) * SAMPLE_RATE / rate)

    first = clip.source_in
    clip_start, clip_end = sample(first), sample(first + clip.duration)
    part_start, part_end = sample(source_in), sample(source_in + frames)
    filters = [f"atrim=start_sample={clip_start}:end_sample={clip_end}", "asetpts=PTS-STARTPTS"]
    sound = clip.sound
    if sound.gain_db:
        filters.append(f"volume=volume={sound.gain_db:g}dB:precision=float")
    if sound.fade_in:
        length = sample(first + sound.fade_in) - clip_start
        filters.append(f"afade=t=in:ss=0:ns={length}")
    if sound.fade_out:
        length = clip_end - sample(first + clip.duration - sound.fade_out)
        filters.append(f"afade=t=out:ss={clip_end - clip_start - length}:ns={length}")
    if (part_start, part_end) != (clip_start, clip_end):
        filters += [
            f"atrim=start_sample={part_start - clip_start}:end_sample={part_end - clip_start}",
            "asetpts=PTS-STARTPTS",
        ]
    return ",".join(filters)
