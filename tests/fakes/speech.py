"""A fake Cloud Speech v1 server on 127.0.0.1 that speaks the real REST wire format.

Tests drive the real google-cloud-speech client against it: ``SpeechClient(transport="rest",
client_options={"api_endpoint": fake.url}, credentials=AnonymousCredentials())``, or reelcut
itself with ``REELCUT_SPEECH_ENDPOINT=fake.url``. It answers

- ``POST /v1/speech:recognize?$alt=json;enum-encoding=int`` with a ``RecognizeResponse`` JSON:
  ``results[].alternatives[0].{transcript, confidence, words[]}`` (each word ``startTime`` and
  ``endTime`` as proto-JSON durations, ``"1.250s"``, relative to the audio sent; ``confidence``
  with ``enableWordConfidence``; ``speakerTag`` with diarization, where, as the real service
  does, a last result repeats every word with its tag), ``resultEndTime``, ``languageCode``,
  ``totalBilledTime`` (whole seconds, rounded up) and ``requestId``;
- the real refusals as the Google error body ``{"error": {"code", "message", "status"}}``: a
  sync request over one minute of audio ("Sync input too long...") or 10 MB, a config without
  ``sampleRateHertz``/``languageCode`` or with another encoding than LINEAR16;
- errors queued by a test (`FakeSpeech.fail`), served before the next answers, with headers
  (``Retry-After``).

What the fake "hears": `FakeSpeech.hear(pcm, words)` gives it the whole 16 kHz mono s16le
recording a test made and the truth of where each word is in it. A request's audio is found
in that recording byte for byte (reelcut sends pieces of the very PCM ffmpeg decoded), and the
words whose middle lies inside the piece come back with times relative to the piece. Audio it
cannot place is silence to it (no results), as it would be to the real service.
"""

from __future__ import annotations

import base64
import json
import math
import struct
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

RATE = 16000
SYNC_LIMIT_SECONDS = 60.0
SYNC_LIMIT_BYTES = 10 * 1024 * 1024
LINEAR16 = 1
API_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


@dataclass(frozen=True)
class Spoken:
    """A word of the truth: ``[start, end)`` in seconds of the whole recording."""

    text: str
    start: float
    end: float
    speaker: int = 1
    confidence: float = 0.92


@dataclass(frozen=True)
class Error:
    status: int
    message: str = "fake error"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    """One request as it arrived: path, query, headers and the decoded JSON body."""

    path: str
    query: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.body.get("config") or {})

    @property
    def audio(self) -> bytes:
        return base64.b64decode((self.body.get("audio") or {}).get("content") or "")

    @property
    def seconds(self) -> float:
        return len(self.audio) / 2 / RATE


# -- what tests build --------------------------------------------------------------------------


def speech_pcm(words: list[Spoken], seconds: float, *, rate: int = RATE) -> bytes:
    """A recording where every word is a tone burst at its place (a different pitch for each
    word, loud enough to be far from silence) and everything else is digital silence."""
    n = int(seconds * rate)
    samples = [0] * n
    for i, w in enumerate(words):
        freq = 220.0 + 37.0 * (i % 20)
        a, b = int(w.start * rate), min(n, int(w.end * rate))
        for k in range(a, b):
            samples[k] = int(9000 * math.sin(2 * math.pi * freq * (k - a) / rate))
    return struct.pack(f"<{n}h", *samples)


def _duration(seconds: float) -> str:
    """A proto-JSON Duration, as the service writes word offsets (millisecond steps)."""
    ms = round(seconds * 1000)
    whole, frac = divmod(ms, 1000)
    return f"{whole}s" if frac == 0 else f"{whole}.{frac:03d}s"


# -- the server ---------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeSpeech) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up mid-answer is not the test's business


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer(404, _error(404, f"fake: no route GET {self.path}"))

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        parts = urlsplit(self.path)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._answer(400, _error(400, "Invalid JSON payload received."))
            return
        req = Request(parts.path, parts.query, dict(self.headers), body)
        with fake.lock:
            fake.requests.append(req)
            failure = fake.failures.popleft() if fake.failures else None
        if parts.path != "/v1/speech:recognize":
            self._answer(404, _error(404, f"fake: no route POST {parts.path}"))
            return
        if failure is not None:
            self._answer(failure.status, _error(failure.status, failure.message), failure.headers)
            return
        status, answer = fake.recognize(req)
        self._answer(status, answer)

    def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


def _error(status: int, message: str) -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "status": API_STATUS.get(status, "")}}


class FakeSpeech:
    """The server (see the module's docstring); a context manager that starts and stops it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[Request] = []
        self.failures: deque[Error] = deque()
        self.recording = b""
        self.truth: list[Spoken] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        return f"http://127.0.0.1:{self._server.server_port}"

    def hear(self, pcm: bytes, words: list[Spoken]) -> None:
        """What the fake recognizes: this recording, with these words in it."""
        self.recording, self.truth = pcm, sorted(words, key=lambda w: w.start)

    def fail(self, *errors: Error) -> None:
        """Answer the next requests with these errors, in order."""
        with self.lock:
            self.failures.extend(errors)

    def recognize(self, req: Request) -> tuple[int, dict[str, Any]]:
        config = req.config
        encoding = config.get("encoding", 0)
        if encoding not in (LINEAR16, "LINEAR16"):
            return 400, _error(400, f"Invalid recognition 'config': bad encoding {encoding!r}.")
        if int(config.get("sampleRateHertz") or 0) != RATE:
            return 400, _error(400, "Invalid recognition 'config': sample_rate_hertz must be set.")
        if not config.get("languageCode"):
            return 400, _error(400, "Invalid recognition 'config': language_code is required.")
        audio = req.audio
        if len(req.body.get("audio", {}).get("content", "")) > SYNC_LIMIT_BYTES:
            return 400, _error(400, "Request payload size exceeds the limit: 10485760 bytes.")
        if req.seconds > SYNC_LIMIT_SECONDS:
            return 400, _error(
                400,
                "Sync input too long. For audio longer than 1 min use LongRunningRecognize "
                "with a 'uri' parameter.",
            )
        at = self._find(audio)
        billed = f"{math.ceil(req.seconds)}s"
        answer: dict[str, Any] = {
            "totalBilledTime": billed,
            "requestId": str(uuid.uuid4().int)[:18],
        }
        if at is None:
            return 200, answer
        start, end = at / 2 / RATE, (at + len(audio)) / 2 / RATE
        heard = [w for w in self.truth if start <= (w.start + w.end) / 2 < end]
        if not heard:
            return 200, answer
        offsets = bool(config.get("enableWordTimeOffsets"))
        conf = bool(config.get("enableWordConfidence"))
        diarize = bool((config.get("diarizationConfig") or {}).get("enableSpeakerDiarization"))

        def word(w: Spoken, tagged: bool) -> dict[str, Any]:
            out: dict[str, Any] = {"word": w.text}
            if offsets or tagged:
                out["startTime"] = _duration(max(0.0, w.start - start))
                out["endTime"] = _duration(min(end, w.end) - start)
            if conf:
                out["confidence"] = w.confidence
            if tagged:
                out["speakerTag"] = w.speaker
            return out

        results = []
        for group in _sentences(heard):
            results.append(
                {
                    "alternatives": [
                        {
                            "transcript": " ".join(w.text for w in group),
                            "confidence": 0.9,
                            "words": [word(w, False) for w in group] if offsets or conf else [],
                        }
                    ],
                    "resultEndTime": _duration(group[-1].end - start),
                    "languageCode": str(config["languageCode"]).lower(),
                }
            )
        if diarize:
            results.append(
                {
                    "alternatives": [{"words": [word(w, True) for w in heard]}],
                    "resultEndTime": _duration(heard[-1].end - start),
                    "languageCode": str(config["languageCode"]).lower(),
                }
            )
        answer["results"] = results
        return 200, answer

    def _find(self, audio: bytes) -> int | None:
        """Where ``audio`` lies in the recording (a sample boundary), or None."""
        if not audio or not self.recording:
            return None
        at = self.recording.find(audio)
        while at >= 0 and at % 2:
            at = self.recording.find(audio, at + 1)
        return at if at >= 0 else None

    def start(self) -> FakeSpeech:
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSpeech:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _sentences(words: list[Spoken]) -> list[list[Spoken]]:
    """Results as the service splits them: at a pause of a second or more."""
    groups: list[list[Spoken]] = [[words[0]]]
    for w in words[1:]:
        if w.start - groups[-1][-1].end >= 1.0:
            groups.append([w])
        else:
            groups[-1].append(w)
    return groups
