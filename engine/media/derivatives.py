"""The derivatives of an asset: which apply, where they live, whether one is fresh, building one.

Derivatives are media ffmpeg derives from an asset for the front ends: browser proxies,
thumbnail strips and waveform peaks. They live beside the project's assets and are always
rebuildable. Their names are keyed by the source's content hash and by a recipe number, so
building is idempotent and changing a recipe (bump its ``*_RECIPE``, defined beside its
builder) makes every older file stale instead of silently reused::

    proxies/<sha256>.p<PROXY_RECIPE>r<num>[d<den>].mp4
                                             H.264 preview at the project's frame rate (frame k
                                             is project frame k of the source), <= 540 lines
    previews/<sha256>.t<THUMBS_RECIPE>.jpg   every thumbnail tiled into one JPEG
    previews/<sha256>.t<THUMBS_RECIPE>.json  the tile grid of that JPEG (see make_thumbnails)
    previews/<sha256>.w<PEAKS_RECIPE>.json   waveform peaks (see make_peaks)

`build_derivative` is the job handler's one entry point; the builders are `engine.media.proxy`,
`engine.media.thumbnail_strip` and `engine.media.peaks`, and what they share (the temp file and
commit, ffmpeg under the supervisor, progress) is `engine.media.derivative_build`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from engine.errors import MediaError
from engine.media.derivative_build import ProgressCallback
from engine.media.headers import jpeg_complete, mp4_complete
from engine.media.peaks import PEAKS_RECIPE, make_peaks
from engine.media.proxy import PROXY_RECIPE, make_proxy
from engine.media.thumbnail_strip import THUMBS_RECIPE, make_thumbnails, thumbs_index_path
from engine.model import Asset
from engine.timebase import Rate

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
            return mp4_complete(path)
        if path.suffix == ".jpg":
            return jpeg_complete(path) and is_fresh(thumbs_index_path(path))
        return True
    except (OSError, ValueError):
        return False


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
