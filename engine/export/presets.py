"""Export presets: the container, codecs and settings for each kind of file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    extensions: tuple[str, ...]
    format: str
    """ffmpeg's muxer (the output is written to a temp name, so it is given, not guessed)."""
    codec_args: tuple[str, ...]
    description: str
    pixel_format: str = "yuv420p"
    audio: bool = True
    audio_only: bool = False


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "h264",
            (".mp4", ".m4v"),
            "mp4",
            (
                "-c:v", "libx264", "-preset", "medium", "-crf", "18", "-profile:v", "high",
                "-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart",
            ),
            "H.264 / AAC in MP4 (the default): plays everywhere",
        ),
        Preset(
            "prores",
            (".mov",),
            "mov",
            ("-c:v", "prores_ks", "-profile:v", "3", "-vendor", "apl0", "-c:a", "pcm_s16le"),
            "ProRes 422 HQ / PCM in MOV: for finishing in another editor",
            pixel_format="yuv422p10le",
        ),
        Preset(
            "vp9",
            (".webm",),
            "webm",
            (
                "-c:v", "libvpx-vp9", "-crf", "32", "-b:v", "0", "-row-mt", "1",
                "-deadline", "good", "-cpu-used", "4", "-c:a", "libopus", "-b:a", "128k",
            ),
            "VP9 / Opus in WebM: for the web",
        ),
        Preset(
            "wav",
            (".wav",),
            "wav",
            ("-c:a", "pcm_s16le"),
            "audio only, 48 kHz 16-bit stereo WAV",
            audio_only=True,
        ),
    )
}  # fmt: skip


def preset_for(suffix: str, name: str | None) -> Preset:
    """The preset named ``name``, else the one for the output's extension ``suffix``."""
    from engine.errors import UsageError

    if name is not None:
        preset = PRESETS.get(name)
        if preset is None:
            raise UsageError(f"no preset {name!r}; presets: {', '.join(PRESETS)}")
        if suffix.lower() not in preset.extensions:
            given = suffix or "a file without an extension"
            raise UsageError(
                f"the {name} preset writes {' or '.join(preset.extensions)}, not {given}; "
                "name the output so"
            )
        return preset
    for preset in PRESETS.values():
        if suffix.lower() in preset.extensions:
            return preset
    known = ", ".join(e for p in PRESETS.values() for e in p.extensions)
    raise UsageError(
        f"cannot tell the format from {suffix or 'no extension'!r}; use one of {known}"
    )
