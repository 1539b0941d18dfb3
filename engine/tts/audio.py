"""Audio as TTS providers hand it back: raw PCM or whole WAV files, made into one WAV.

Gemini TTS models answer with ``inlineData`` parts whose mime type says what the bytes are:
``audio/L16;codec=pcm;rate=24000`` (raw 16-bit little-endian mono PCM at that rate) or
``audio/wav`` (a RIFF/WAVE file). `to_wav` takes the parts of one answer, decided by the mime
type alone, and joins them into one WAV file (parts must agree on rate and format).
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

from engine.errors import ReelcutError


class BadAudio(ReelcutError):
    """The provider's audio cannot be read (unknown mime type, broken WAV, mixed formats)."""


@dataclass(frozen=True)
class Pcm:
    """Interleaved little-endian samples and their format."""

    data: bytes
    rate: int
    channels: int = 1
    width: int = 2


def parse_mime(mime: str) -> tuple[str, dict[str, str]]:
    """``("audio/l16", {"codec": "pcm", "rate": "24000"})`` from the parameters' form."""
    head, *params = [p.strip() for p in mime.split(";")]
    out = {}
    for p in params:
        k, _, v = p.partition("=")
        out[k.strip().lower()] = v.strip()
    return head.lower(), out


def decode(mime: str, data: bytes) -> Pcm:
    """One part's audio as PCM, by its mime type."""
    kind, params = parse_mime(mime)
    if kind in ("audio/l16", "audio/pcm"):
        try:
            rate = int(params.get("rate", "24000"))
            channels = int(params.get("channels", "1"))
        except ValueError:
            raise BadAudio(f"the audio's mime type {mime!r} has a bad rate or channels") from None
        if not (1000 <= rate <= 384000 and 1 <= channels <= 8):
            raise BadAudio(f"the audio's mime type {mime!r} has an unusable rate or channels")
        if len(data) % (2 * channels):
            data = data[: len(data) - len(data) % (2 * channels)]
        return Pcm(data, rate, channels)
    if kind in ("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"):
        try:
            with wave.open(io.BytesIO(data)) as w:
                return Pcm(
                    w.readframes(w.getnframes()),
                    w.getframerate(),
                    w.getnchannels(),
                    w.getsampwidth(),
                )
        except (wave.Error, EOFError) as exc:
            raise BadAudio(f"the provider's WAV cannot be read ({exc})") from None
    raise BadAudio(f"the provider sent audio as {mime!r}; reelcut reads PCM (audio/L16) or WAV")


def to_wav(parts: list[tuple[str, bytes]]) -> bytes:
    """The parts (mime type, bytes) as one WAV file."""
    if not parts:
        raise BadAudio("the provider's answer holds no audio")
    pcms = [decode(mime, data) for mime, data in parts]
    first = pcms[0]
    for p in pcms[1:]:
        if (p.rate, p.channels, p.width) != (first.rate, first.channels, first.width):
            raise BadAudio("the provider's audio parts differ in rate or format")
    data = b"".join(p.data for p in pcms)
    if not data:
        raise BadAudio("the provider's audio is empty")
    return wav_bytes(Pcm(data, first.rate, first.channels, first.width))


def checked_wav(data: bytes) -> bytes:
    """``data`` itself when it is a WAV file with samples the wave module reads (the header
    only: no copy of the samples); else `BadAudio`, worded as `to_wav` words it."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            empty = w.getnframes() == 0
    except (wave.Error, EOFError) as exc:
        raise BadAudio(f"the provider's WAV cannot be read ({exc})") from None
    if empty:
        raise BadAudio("the provider's audio is empty")
    return data


def wav_bytes(pcm: Pcm) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(pcm.channels)
        w.setsampwidth(pcm.width)
        w.setframerate(pcm.rate)
        w.writeframes(pcm.data)
    return buf.getvalue()


def wav_seconds(data: bytes) -> float:
    """The length of a WAV file in seconds."""
    with wave.open(io.BytesIO(data)) as w:
        return float(w.getnframes() / w.getframerate())
