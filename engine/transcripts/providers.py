"""Speech to words behind one interface: PCM in (16 kHz mono, `engine.transcripts.audio`),
words with times in the asset out.

- `GoogleProvider`: Cloud Speech v1 through google-cloud-speech's REST transport
  (``transport="rest"``; the async REST client does not work, so the sync client runs in a
  thread), word time offsets and word confidence on. A synchronous request takes about a
  minute of audio (and 10 MB), so longer audio goes in pieces cut at silences
  (`audio.plan_chunks`) and each piece's word times are offset back by where it starts. The
  SDK's own retries are off: 429, 5xx and dropped connections are retried here with back-off
  (Retry-After honoured); 400, 401, 403 and 404 fail at once. The billed time of every
  request is summed for the job's cost.
- `LocalProvider`: pocketsphinx, offline, with the US English model inside its wheel. With
  the words known (a TTS take's line, a script the user gives) it aligns them to the sound
  (exact word timings); otherwise it recognizes, in pieces of at most 30 s cut at silences.

Where the client points: ``REELCUT_SPEECH_ENDPOINT`` (a loopback ``http://`` URL) with
anonymous credentials, for tests and local gateways, as ``GOOGLE_GEMINI_BASE_URL`` does for
Gemini; otherwise the usual Google credentials (``GOOGLE_APPLICATION_CREDENTIALS`` or the
gcloud application-default file). No metadata server is ever probed: without either, one line
says what to set.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from engine.errors import ReelcutError
from engine.transcripts.align import align, decoder, is_filler
from engine.transcripts.audio import RATE, Chunk, loudness, plan_chunks
from engine.transcripts.document import Word

Progress = Callable[[float, str], None]
PROVIDERS = ("google", "local")
ENDPOINT_ENV = "REELCUT_SPEECH_ENDPOINT"
MAX_SYNC_SECONDS = 55.0
"""A piece sent to Cloud Speech's synchronous ``recognize`` (its limit is one minute)."""
LOCAL_PIECE_SECONDS = 30.0
USD_PER_MINUTE = 0.016
"""Cloud Speech v1 standard models, per minute billed (the price list, 2026)."""
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
REQUEST_TIMEOUT = 120.0
_HTTP_PREFIX = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) \S+: ")


class TranscribeFailed(ReelcutError):
    """The provider cannot transcribe this as asked (a refusal, no credentials): no retry."""

    exit_code = 13


class TranscribeUnavailable(ReelcutError):
    """A transient failure that outlived the retries (the queue may try the job again)."""

    exit_code = 13


@dataclass
class Heard:
    """What a provider made of an asset's sound."""

    words: list[Word]
    method: str  # "recognized" | "aligned"
    model: str
    billed_seconds: float = 0.0
    requests: int = 0
    pieces: int = 1
    notes: list[str] = field(default_factory=list)


class Provider(Protocol):
    name: str

    async def transcribe(
        self, pcm: bytes, known_text: str | None, on_progress: Progress, stop: threading.Event
    ) -> Heard: ...


def pieces(pcm: bytes, max_seconds: float) -> list[Chunk]:
    n = len(pcm) // 2
    return plan_chunks(loudness(pcm), n, max_seconds=max_seconds, min_seconds=max_seconds / 3)


def _ms(samples: int) -> int:
    return samples * 1000 // RATE


# -- Google Cloud Speech ------------------------------------------------------------------------


def check_endpoint(url: str) -> str:
    """``url`` if it is a loopback ``http(s)://host:port`` URL, else one clear line."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    loopback = host == "localhost"
    if not loopback:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
    if parts.scheme not in ("http", "https") or not loopback or parts.path not in ("", "/"):
        raise TranscribeFailed(
            f"{ENDPOINT_ENV}={url!r} is not a loopback URL; it takes http://127.0.0.1:PORT "
            "(a local fake or gateway), or unset it to use Google's service"
        )
    return url.rstrip("/")


def credentials() -> Any:
    """The Google credentials to use, read from a file only (never a metadata server)."""
    import google.auth
    from google.auth import _cloud_sdk
    from google.auth.exceptions import GoogleAuthError

    path = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS") or ""
    if not path:
        adc = _cloud_sdk.get_application_default_credentials_path()  # type: ignore[no-untyped-call]
        path = adc if Path(adc).is_file() else ""
    if not path:
        raise TranscribeFailed(
            "no Google credentials for Cloud Speech: set GOOGLE_APPLICATION_CREDENTIALS to a "
            "service-account key file (or run `gcloud auth application-default login`), or "
            "use --provider local"
        )
    try:
        creds, _ = google.auth.load_credentials_from_file(  # type: ignore[no-untyped-call]
            path, scopes=["https://www.googleapis.com/auth/cloud-platform"]
        )
    except (GoogleAuthError, OSError, ValueError) as exc:
        raise TranscribeFailed(f"Google credentials in {path} cannot be used: {exc}") from None
    return creds


def make_client() -> Any:
    """A sync `SpeechClient` on the REST transport, pointed as the module's docstring says."""
    from google.cloud import speech_v1

    endpoint = os.environ.get(ENDPOINT_ENV)
    if endpoint:
        from google.auth.credentials import AnonymousCredentials

        return speech_v1.SpeechClient(
            transport="rest",
            client_options={"api_endpoint": check_endpoint(endpoint)},
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        )
    return speech_v1.SpeechClient(transport="rest", credentials=credentials())


@dataclass
class GoogleProvider:
    """Cloud Speech v1 (see the module's docstring)."""

    client: Any
    language: str = "en-US"
    model: str = ""
    speakers: int = 0
    """Speaker diarization with up to this many speakers (0: off)."""
    attempts: int = 5
    base_wait: float = 1.0
    name: str = "google"

    def _config(self) -> Any:
        from google.cloud import speech_v1 as speech

        config = speech.RecognitionConfig(
            encoding=speech.RecognitionConfig.AudioEncoding.LINEAR16,
            sample_rate_hertz=RATE,
            language_code=self.language,
            enable_word_time_offsets=True,
            enable_word_confidence=True,
            enable_automatic_punctuation=True,
        )
        if self.model:
            config.model = self.model
        if self.speakers > 1:
            config.diarization_config = speech.SpeakerDiarizationConfig(
                enable_speaker_diarization=True,
                min_speaker_count=1,
                max_speaker_count=self.speakers,
            )
        return config

    def _recognize(self, piece: bytes) -> Any:
        from google.cloud import speech_v1 as speech

        return self.client.recognize(
            config=self._config(),
            audio=speech.RecognitionAudio(content=piece),
            retry=None,  # ours, below: the SDK would retry for minutes without saying so
            timeout=REQUEST_TIMEOUT,
        )

    async def _call(self, piece: bytes, on_progress: Progress, at: float) -> Any:
        import random

        from google.api_core import exceptions as gexc
        from requests import exceptions as rexc

        for attempt in range(self.attempts):
            try:
                return await asyncio.to_thread(self._recognize, piece)
            except gexc.GoogleAPICallError as exc:
                code = int(exc.code or 0)
                said = _HTTP_PREFIX.sub("", str(exc.message))  # the SDK leads with its URL
                if code not in RETRY_STATUSES:
                    raise TranscribeFailed(f"Cloud Speech refused: HTTP {code}: {said}") from None
                reason, retry_after = f"HTTP {code}: {said}", _retry_after(exc)
            except (rexc.ConnectionError, rexc.Timeout) as exc:
                reason, retry_after = f"the connection failed ({type(exc).__name__})", None
            if attempt + 1 >= self.attempts:
                raise TranscribeUnavailable(
                    f"Cloud Speech failed {self.attempts} times; the last: {reason}"
                )
            wait = random.uniform(0, min(30.0, self.base_wait * 2**attempt))
            if retry_after is not None:
                wait = max(wait, min(retry_after, 120.0))
            on_progress(at, f"retry {attempt + 1} in {wait:.1f}s: {reason}"[:200])
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def transcribe(
        self, pcm: bytes, known_text: str | None, on_progress: Progress, stop: threading.Event
    ) -> Heard:
        chunks = pieces(pcm, MAX_SYNC_SECONDS)
        heard = Heard([], "recognized", self.model or "default", pieces=len(chunks))
        for i, ch in enumerate(chunks):
            at = 0.05 + 0.9 * i / len(chunks)
            on_progress(at, f"piece {i + 1}/{len(chunks)} to Cloud Speech")
            response = await self._call(pcm[ch.start * 2 : ch.end * 2], on_progress, at)
            heard.requests += 1
            billed = response.total_billed_time
            heard.billed_seconds += billed.total_seconds() if billed is not None else 0.0
            heard.words.extend(_google_words(response, ch.start_ms, self.speakers > 1))
            if not ch.cut_in_silence:
                heard.notes.append(f"no silence near {ch.end * 1000 // RATE} ms: cut mid-sound")
        heard.words.sort(key=lambda w: (w.start_ms, w.end_ms))
        return heard


def _retry_after(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    value = getattr(response, "headers", {}).get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _google_words(response: Any, offset_ms: int, diarized: bool) -> list[Word]:
    """The words of a v1 response, at ``offset_ms`` plus their offsets in the piece. With
    diarization the last result repeats every word with its speaker tag: only that one is
    read then."""
    results = list(response.results)
    if diarized and results and any(w.speaker_tag for w in _alt(results[-1]).words):
        results = results[-1:]
    out = []
    for result in results:
        for w in _alt(result).words:
            start = offset_ms + round(w.start_time.total_seconds() * 1000)
            end = offset_ms + round(w.end_time.total_seconds() * 1000)
            conf = float(w.confidence) if w.confidence else None
            speaker = str(w.speaker_tag) if diarized and w.speaker_tag else None
            out.append(
                Word(
                    w.word,
                    start,
                    max(end, start + 1),
                    None if conf is None else _prob(conf),
                    speaker,
                )
            )
    return out


def _alt(result: Any) -> Any:
    from google.cloud import speech_v1 as speech

    return result.alternatives[0] if result.alternatives else speech.SpeechRecognitionAlternative()


# -- pocketsphinx -------------------------------------------------------------------------------


def _prob(p: float) -> float:
    return round(min(1.0, max(0.0, float(p))), 3)


def recognize(pcm: bytes, stop: threading.Event, on_piece: Callable[[int, int], None]) -> Heard:
    """pocketsphinx's best guess of the words in ``pcm``, piece by piece."""
    chunks = pieces(pcm, LOCAL_PIECE_SECONDS)
    d = decoder()
    words: list[Word] = []
    for n, ch in enumerate(chunks):
        if stop.is_set():
            break
        on_piece(n, len(chunks))
        d.start_utt()
        d.process_raw(pcm[ch.start * 2 : ch.end * 2], full_utt=True)
        d.end_utt()
        if d.hyp() is None:
            continue
        base = ch.start_ms
        for s in d.seg():
            if is_filler(s.word):
                continue
            text = re.sub(r"\(\d+\)$", "", s.word)
            start = base + s.start_frame * 10
            words.append(Word(text, start, base + (s.end_frame + 1) * 10, _prob(s.prob)))
    return Heard(words, "recognized", "pocketsphinx en-us", pieces=len(chunks))


@dataclass
class LocalProvider:
    """pocketsphinx (see the module's docstring)."""

    name: str = "local"

    async def transcribe(
        self, pcm: bytes, known_text: str | None, on_progress: Progress, stop: threading.Event
    ) -> Heard:
        notes: list[str] = []
        if known_text and known_text.strip():
            on_progress(0.1, "aligning the known words")
            aligned = await asyncio.to_thread(align, pcm, known_text)
            if aligned is not None:
                return Heard(aligned, "aligned", "pocketsphinx en-us (alignment)")
            notes.append("the known words did not align with the sound; recognized instead")

        def piece(n: int, total: int) -> None:
            on_progress(0.1 + 0.85 * n / max(1, total), f"recognizing piece {n + 1}/{total}")

        heard = await asyncio.to_thread(recognize, pcm, stop, piece)
        heard.notes[:0] = notes
        return heard


def make(name: str, *, language: str = "en-US", model: str = "", speakers: int = 0) -> Provider:
    """The provider ``name`` (``google`` makes its client: credentials are checked here)."""
    if name == "local":
        return LocalProvider()
    if name == "google":
        return GoogleProvider(make_client(), language=language, model=model, speakers=speakers)
    raise ReelcutError(f"no transcription provider {name!r}; use one of {', '.join(PROVIDERS)}")
