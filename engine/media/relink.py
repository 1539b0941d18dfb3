"""Relink an asset to a different file: the new file probed, checked against what the timeline
uses of the asset, stored content-addressed, and described as the asset's new record
(`engine.ops.relink.RelinkMedia` makes it an undoable edit).

What refuses and what only warns follows what Premiere's Link Media and Resolve's relink do
with a file whose attributes differ: another kind of media (a still for a video, sound for a
picture) is refused, and so is a file shorter than the source frames the clips play (they
would run past its end); a video whose sound the timeline uses must bring sound. Another
frame rate, picture size or sound layout is accepted with a warning: the clips keep their
frame ranges, counted at the project's rate, as both editors keep the clips' in and out
points.

Blocking (probe, hash, copy): run it on a worker thread, under the writer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from engine.errors import MediaError, ReelcutError
from engine.media.importer import _extension, _remove, _store, _Stored
from engine.media.probe import Probe, probe
from engine.model import Asset, MediaInfo, Project
from engine.ops.draft import Draft
from engine.ops.relink import RelinkMedia, check_stands_in
from engine.projectdir import ProjectDir
from engine.timebase import Rate, frames_from_seconds


@dataclass
class Prepared:
    """The edit that relinks, the warnings to show with it, and the store files this call
    created (removed again if the edit is refused)."""

    op: RelinkMedia
    warnings: list[str] = field(default_factory=list)
    created: list[Path] = field(default_factory=list)

    def discard(self) -> None:
        _remove(self.created)


def prepare(root: Path, project: Project, asset_id: str, source: Path) -> Prepared:
    """Check ``source`` can stand in for asset ``asset_id`` and store its bytes; a refusal is a
    `ReelcutError` with nothing written."""
    asset = project.asset(asset_id)
    if asset is None:
        raise ReelcutError(f"asset {asset_id!r} does not exist; the media bin lists them")
    if asset.filename is None or asset.media is None:
        raise ReelcutError(f"{asset.name} has no media file to relink (a {asset.kind} asset)")
    try:
        st = source.stat()
    except OSError as exc:
        raise MediaError(f"{source.name}: cannot read it ({exc.strerror})") from None
    if not source.is_file() or st.st_size == 0:
        raise MediaError(f"{source.name}: not a media file (a folder, or empty)")
    info = probe(source)
    sound = next((a for a in project.assets if a.derived_from == asset.id), None)
    media = info.media_info(st.st_size, project.rate)
    if info.kind == "video" and info.video_duration:
        media = msgspec.structs.replace(
            media, duration_frames=frames_from_seconds(info.video_duration, project.rate)
        )
    new = msgspec.structs.replace(asset, hash="0" * 64, ext=_extension(source, info))
    new = msgspec.structs.replace(new, kind=info.kind, source_name=source.name, media=media)
    draft = Draft(project)
    check_stands_in(draft, asset, new)  # before anything is copied
    if sound is not None and info.audio is None and _used(project, sound.id):
        raise ReelcutError(
            f"relink: {source.name} has no sound, but the timeline plays {sound.name}; "
            "pick a file with sound"
        )
    warnings = _differences(asset.media, media, asset.name)
    pd = ProjectDir(root)
    pd.assets.mkdir(exist_ok=True)
    created: list[Path] = []
    try:
        video, audio = _store(pd.assets, source, info, new.ext or "bin", created)
    except OSError as exc:
        _remove(created)
        raise MediaError(f"{source.name}: could not store it in assets/: {exc}") from None
    assets = [msgspec.structs.replace(new, hash=video.sha)]
    if sound is not None and audio is not None:
        assets.append(_sound(sound, audio.stored, audio.ext, audio.info, source, project))
    elif sound is not None:
        warnings.append(f"{source.name} has no sound: {sound.name} keeps its file")
    elif audio is not None and audio.stored.created:
        # The asset has no sound of its own to take it (it had none when imported).
        audio.stored.path.unlink(missing_ok=True)
        created.remove(audio.stored.path)
    return Prepared(RelinkMedia(tuple(assets)), warnings, created)


def _sound(
    sound: Asset, stored: _Stored, ext: str, info: Probe, source: Path, project: Project
) -> Asset:
    media = info.media_info(stored.path.stat().st_size, project.rate)
    return msgspec.structs.replace(
        sound, hash=stored.sha, ext=ext, source_name=source.name, media=media
    )


def _used(project: Project, asset_id: str) -> bool:
    return any(c.asset_id == asset_id for t in project.tracks for c in t.clips)


def _differences(old: MediaInfo, new: MediaInfo, name: str) -> list[str]:
    """The attributes that differ but do not refuse, one phrase each."""
    out = []
    if old.rate is not None and new.rate is not None and old.rate != new.rate:
        out.append(f"its frame rate is {_rate(new.rate)} ({name}'s was {_rate(old.rate)})")
    if (old.width, old.height) != (new.width, new.height) and old.width and new.width:
        out.append(f"its picture is {new.width}x{new.height} (was {old.width}x{old.height})")
    if old.audio_channels and new.audio_channels and old.audio_channels != new.audio_channels:
        out.append(f"it has {new.audio_channels} sound channel(s) (was {old.audio_channels})")
    return out


def _rate(rate: Rate) -> str:
    return f"{rate.num / rate.den:g} fps"
