"""What the timeline shows at a frame: the one frame-selection rule of the page, the export and
the terminal viewer.

Timeline frame ``n`` of a clip plays source frame ``source_in + (n - start)`` of its asset,
counted at the project's rate (`source_frame`). For a video that is frame ``k`` of the source
conformed to the project rate, which is exactly the proxy's frame ``k``
(`engine.media.proxy.make_proxy`) and the export's conform (`engine.export.graph`); the page
computes the same ``k`` (``preview_web/web/src/ExactVideo.tsx``: ``sourceIn + frame``) and
seeks to its middle. Video tracks stack as the editor lists them: the first video track is in
front (``Timeline.tsx`` reverses them; the export overlays the last listed first). A gap is
black.

`layers_at` lists what is under frame ``n``, front to back; `picture_at` is the front-most
layer that is a picture (a video or a still with bytes, not fully transparent) and the text
clips in front of it. The export and the page tests pick their clips with it, so the viewer,
the export and the tests cannot disagree about which clip and which frame.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.model import Asset, Clip, Project, Track


@dataclass(frozen=True)
class Layer:
    """One clip under a timeline frame: its track, the clip, its asset (None for text and for
    an asset missing from the project) and the source frame it shows there."""

    track: Track
    clip: Clip
    asset: Asset | None
    source_frame: int

    @property
    def is_picture(self) -> bool:
        """A video or a still the page draws from a file (a take still being generated, or an
        asset whose bytes are not known, draws nothing), and not fully transparent."""
        a = self.asset
        if self.clip.kind != "media" or a is None or a.filename is None:
            return False
        if self.clip.transform is not None and self.clip.transform.opacity <= 0:
            return False
        return a.kind in ("video", "image")


@dataclass(frozen=True)
class Picture:
    """What the timeline shows at a frame: the front-most picture layer (None in a gap, which
    is black) and the text clips drawn in front of it, front first."""

    frame: int
    layer: Layer | None
    texts: tuple[Clip, ...] = ()


def source_frame(clip: Clip, frame: int) -> int:
    """The asset frame (at the project's rate) that timeline ``frame`` of ``clip`` shows."""
    return clip.source_in + (frame - clip.start)


def layers_at(project: Project, frame: int) -> list[Layer]:
    """Every clip on a video track under ``frame``, front to back (the first video track
    listed is in front)."""
    assets = {a.id: a for a in project.assets}
    out: list[Layer] = []
    for track in project.tracks:
        if track.kind != "video":
            continue
        for clip in track.clips:
            if clip.start <= frame < clip.end:
                asset = assets.get(clip.asset_id) if clip.asset_id else None
                out.append(Layer(track, clip, asset, source_frame(clip, frame)))
                break  # clips on a track never overlap
            if clip.start > frame:
                break
    return out


def picture_at(project: Project, frame: int) -> Picture:
    """The front-most picture under ``frame`` and the text clips in front of it."""
    texts: list[Clip] = []
    for layer in layers_at(project, frame):
        if layer.is_picture:
            return Picture(frame, layer, tuple(texts))
        if layer.clip.kind == "text" and layer.clip.text is not None:
            texts.append(layer.clip)
    return Picture(frame, None, tuple(texts))
