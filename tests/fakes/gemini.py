"""A fake Gemini API server on 127.0.0.1 that speaks the real REST wire format.

Tests drive the real google-genai SDK against it: ``genai.Client(api_key=...,
http_options=types.HttpOptions(base_url=fake.url))`` (or ``fake.client()``). The server answers

- ``POST /{version}/models/{model}:streamGenerateContent?alt=sse`` with a chunked
  ``text/event-stream`` body of ``data: {GenerateContentResponse JSON}\\r\\n\\r\\n`` events,
  the last of which carries ``finishReason`` and ``usageMetadata``;
- ``POST /{version}/models/{model}:generateContent`` with one GenerateContentResponse JSON;
- any error as the Google error body ``{"error": {"code", "message", "status"}}``.

Replies are queued in order, one per request (:meth:`FakeGemini.queue`); a request that finds the
queue empty gets a 500 whose message is ``fake: no reply queued``. Every request is recorded in
:attr:`FakeGemini.requests`, so a test can assert on exactly what the SDK sent.

The builders (:func:`text`, :func:`thought`, :func:`call`, :func:`audio`, :func:`wav_audio`,
:func:`chunk`, :func:`usage_metadata`, :func:`tts_usage`, :func:`response`) produce the
camelCase JSON of the real API.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import struct
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

from google import genai
from google.genai import types

from engine.agent import provider

Part = dict[str, Any]
"""One ``Part`` of a ``Content``, in wire form (``{"text": ...}``, ``{"functionCall": ...}``)."""

NO_REPLY = "fake: no reply queued"

# The google.rpc.Code name the real API puts in ``error.status`` for each HTTP status.
API_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_PATH = re.compile(r"^/(?P<version>[^/]+)/models/(?P<model>[^/:]+):(?P<action>[A-Za-z]+)$")


# --- builders ----------------------------------------------------------------------------------


def _signed(part: Part, signature: bytes | None) -> Part:
    if signature is not None:
        part["thoughtSignature"] = base64.b64encode(signature).decode("ascii")
    return part


def text(s: str, *, signature: bytes | None = None) -> Part:
    """A text part. ``signature`` adds a ``thoughtSignature`` (base64 on the wire, bytes in the
    SDK's ``part.thought_signature``)."""
    return _signed({"text": s}, signature)


def thought(s: str, *, signature: bytes | None = None) -> Part:
    """A thought-summary part (``"thought": true``), sent only with ``include_thoughts``."""
    return _signed({"text": s, "thought": True}, signature)


def call(
    name: str,
    args: dict[str, Any] | None = None,
    *,
    id: str | None = None,
    signature: bytes | None = None,
) -> Part:
    """A ``functionCall`` part. The SDK's ``FunctionCall`` has an optional ``id``, and the
    Developer API may or may not fill it, so it is left out unless given. Gemini 3 attaches a
    ``thoughtSignature`` to the (first) function-call part of a turn, which must be sent back."""
    fc: dict[str, Any] = {"name": name, "args": {} if args is None else args}
    if id is not None:
        fc["id"] = id
    return _signed({"functionCall": fc}, signature)


def audio(pcm: bytes, rate: int = 24000) -> Part:
    """An ``inlineData`` part of raw 16-bit little-endian mono PCM, as TTS models return it."""
    data = base64.b64encode(pcm).decode("ascii")
    return {"inlineData": {"mimeType": f"audio/L16;codec=pcm;rate={rate}", "data": data}}


def wav_audio(pcm: bytes, rate: int = 24000) -> Part:
    """An ``inlineData`` part holding a whole WAV file (``audio/wav``), the other form TTS
    models answer in."""
    import io
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return {"inlineData": {"mimeType": "audio/wav", "data": data}}


def tone(seconds: float, rate: int = 24000) -> bytes:
    """``seconds`` of a quiet square wave as 16-bit mono PCM (audible, exact in length)."""
    n = int(seconds * rate)
    period = max(2, rate // 220)
    return b"".join(
        (3000 if (i // (period // 2)) % 2 else -3000).to_bytes(2, "little", signed=True)
        for i in range(n)
    )


def tts_usage(prompt: int, audio: int) -> dict[str, Any]:
    """``usageMetadata`` of a TTS answer: the candidates are audio tokens, itemised by
    modality in ``candidatesTokensDetails`` as the API does."""
    return {
        "promptTokenCount": prompt,
        "candidatesTokenCount": audio,
        "totalTokenCount": prompt + audio,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
        "candidatesTokensDetails": [{"modality": "AUDIO", "tokenCount": audio}],
    }


def chunk(*parts: Part) -> dict[str, Any]:
    """One GenerateContentResponse holding ``parts`` in the first candidate's model content."""
    return {"candidates": [{"content": {"role": "model", "parts": list(parts)}, "index": 0}]}


def usage_metadata(
    prompt: int = 0,
    candidates: int = 0,
    *,
    cached: int = 0,
    thoughts: int = 0,
) -> dict[str, Any]:
    """``usageMetadata`` as the API sends it. ``cached`` is part of ``prompt``; ``thoughts`` is
    not part of ``candidates`` but is part of ``totalTokenCount``."""
    out: dict[str, Any] = {"promptTokenCount": prompt, "candidatesTokenCount": candidates}
    if cached:
        out["cachedContentTokenCount"] = cached
    if thoughts:
        out["thoughtsTokenCount"] = thoughts
    out["totalTokenCount"] = prompt + candidates + thoughts
    return out


def response(
    *parts: Part,
    finish: str = "STOP",
    usage: dict[str, Any] | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """A complete non-streaming GenerateContentResponse, for :class:`Json`."""
    body = _finished(chunk(*parts), finish, usage)
    if model is not None:
        body["modelVersion"] = model
    return body


def _finished(body: dict[str, Any], finish: str, usage: dict[str, Any] | None) -> dict[str, Any]:
    body = json.loads(json.dumps(body))  # a deep copy: the test's dicts stay as they were
    candidates = body.get("candidates") or [{"content": {"role": "model", "parts": []}}]
    body["candidates"] = candidates
    candidates[0]["finishReason"] = finish
    candidates[0].setdefault("index", 0)
    if usage is not None:
        body["usageMetadata"] = usage
    return body


# --- replies -----------------------------------------------------------------------------------


@dataclass
class Error:
    """An error reply: HTTP ``status`` with the Google error body.

    ``api_status`` defaults to the real one for the status (429 RESOURCE_EXHAUSTED, 503
    UNAVAILABLE, 400 INVALID_ARGUMENT, 403 PERMISSION_DENIED, ...). ``retry_after`` adds a
    ``Retry-After`` header (seconds); ``retry_delay`` (e.g. ``"17s"``) adds the
    ``google.rpc.RetryInfo`` detail that the real API uses for quota errors.
    """

    status: int
    message: str
    retry_after: float | None = None
    api_status: str | None = None
    retry_delay: str | None = None

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.status,
            "message": self.message,
            "status": self.api_status or API_STATUS.get(self.status, "UNKNOWN"),
        }
        if self.retry_delay is not None:
            info = "type.googleapis.com/google.rpc.RetryInfo"
            error["details"] = [{"@type": info, "retryDelay": self.retry_delay}]
        return {"error": error}

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        seconds = self.retry_after
        return {"Retry-After": str(int(seconds)) if seconds == int(seconds) else str(seconds)}


@dataclass
class Json:
    """A plain JSON reply. To ``:generateContent`` it is the body; to a streaming request it is
    sent as the single SSE event of the stream."""

    body: dict[str, Any]
    status: int = 200
    delay: float = 0.0
    """Seconds to wait before answering (a slow TTS model, so its job is seen running)."""


@dataclass(frozen=True)
class Raw:
    """One SSE event's data sent exactly as given (see :class:`Stream`)."""

    text: str


@dataclass
class Stream:
    """An SSE reply to ``:streamGenerateContent?alt=sse``: one event per chunk (see :func:`chunk`).

    The last chunk gets ``finishReason`` = ``finish`` and, when given, ``usageMetadata`` =
    ``usage`` (see :func:`usage_metadata`); every chunk gets ``modelVersion`` (the requested model)
    and a ``responseId`` shared by the stream. With no chunks, one empty final chunk is sent.

    - ``cut_after=n``: send the first n chunks unchanged (no final chunk), then drop the
      connection without ending the chunked body (a FIN; with ``reset=True`` a TCP RST).
    - ``error``: after the chunks (none of them final), send an ``{"error": ...}`` event in the
      stream and end it, as the API does for a failure after the stream has started.
    - ``delay``: seconds to sleep before each event.
    - ``stall=(n, seconds)``: after the first n events, send nothing for that long (a stalled
      stream), then go on.
    - A :class:`Raw` among the chunks is sent as it is (``data: <its text>``): bytes that are
      not JSON, or JSON that is not a GenerateContentResponse.
    """

    chunks: list[dict[str, Any] | Raw]
    usage: dict[str, Any] | None = None
    finish: str = "STOP"
    cut_after: int | None = None
    reset: bool = False
    error: Error | None = None
    delay: float = 0.0
    stall: tuple[int, float] | None = None

    def events(self, model: str | None) -> list[dict[str, Any] | Raw]:
        """The GenerateContentResponse bodies this stream sends before it ends or is cut."""
        bodies: list[Any] = [
            c if isinstance(c, Raw) else json.loads(json.dumps(c)) for c in self.chunks
        ]
        if self.cut_after is not None:
            bodies = bodies[: self.cut_after]
        elif self.error is None:
            last = bodies.pop() if bodies else {}
            if isinstance(last, Raw):
                bodies.append(last)  # a raw last event: no finish reason is added to it
            else:
                bodies.append(_finished(last, self.finish, self.usage))
        rid = uuid.uuid4().hex[:22]
        out = [b if isinstance(b, Raw) else _stamped(b, model, rid) for b in bodies]
        if self.error is not None and self.cut_after is None:
            out.append(self.error.body())
        return out


def _stamped(body: dict[str, Any], model: str | None, response_id: str) -> dict[str, Any]:
    body.setdefault("modelVersion", model or "fake-model")
    body.setdefault("responseId", response_id)
    return body


Reply = Stream | Json | Error
Answer = Reply | Callable[["Request"], Reply]
"""What `FakeGemini.queue` takes: a reply, or a function of the request that makes one (a
scripted model that reads what a tool answered, such as the job ids to wait for)."""


# --- what the SDK sent -------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One request as received. ``headers`` has lower-case names; ``body`` is the parsed JSON
    (``None`` when empty or not JSON). ``model``/``action``/``api_version`` come from a
    ``/{api_version}/models/{model}:{action}`` path, else ``None``.

    The SDK writes the envelope in camelCase but dumps function declarations and the thinking
    config with snake_case keys (``parameters_json_schema``, ``include_thoughts``), so the
    properties below return those nested dicts exactly as sent."""

    method: str
    path: str
    model: str | None
    action: str | None
    api_version: str | None
    query: dict[str, str]
    headers: dict[str, str]
    body: Any

    @property
    def stream(self) -> bool:
        return self.action == "streamGenerateContent"

    @property
    def api_key(self) -> str | None:
        return self.headers.get("x-goog-api-key")

    def _get(self, key: str) -> Any:
        return self.body.get(key) if isinstance(self.body, dict) else None

    @property
    def contents(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._get("contents") or [])

    @property
    def system_instruction(self) -> dict[str, Any] | None:
        return cast("dict[str, Any] | None", self._get("systemInstruction"))

    @property
    def tools(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._get("tools") or [])

    @property
    def function_declarations(self) -> list[dict[str, Any]]:
        """Every ``functionDeclarations`` entry of every tool, in order."""
        return [d for t in self.tools for d in t.get("functionDeclarations", [])]

    @property
    def generation_config(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._get("generationConfig") or {})

    @property
    def thinking_config(self) -> dict[str, Any] | None:
        return cast("dict[str, Any] | None", self.generation_config.get("thinkingConfig"))

    @property
    def tool_config(self) -> dict[str, Any] | None:
        return cast("dict[str, Any] | None", self._get("toolConfig"))


# --- the server --------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeGemini) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-stream (a cancelled run) is not an error of the fake."""
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # an idle keep-alive connection's thread ends after this

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def _handle(self) -> None:
        fake = cast(_Server, self.server).fake
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        split = urlsplit(self.path)
        m = _PATH.match(split.path)
        request = Request(
            method=self.command,
            path=split.path,
            model=m["model"] if m else None,
            action=m["action"] if m else None,
            api_version=m["version"] if m else None,
            query=dict(parse_qsl(split.query)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        reply = fake._take(request)
        if callable(reply):
            reply = reply(request)
        if reply is None:
            self._json(500, Error(500, NO_REPLY).body())
        elif isinstance(reply, Error):
            self._json(reply.status, reply.body(), reply.headers())
        elif isinstance(reply, Json):
            if reply.delay:
                time.sleep(reply.delay)
            if request.stream:
                self._stream(Stream([]), [reply.body])
            else:
                self._json(reply.status, reply.body)
        elif not request.stream:
            msg = f"fake: a Stream reply was queued for {request.method} {request.path}"
            self._json(500, Error(500, msg).body())
        else:
            self._stream(reply, reply.events(request.model))

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, reply: Stream, events: list[Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Disposition", "attachment")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for n, event in enumerate(events):
            if reply.delay:
                time.sleep(reply.delay)
            if reply.stall is not None and n == reply.stall[0]:
                self.wfile.flush()
                time.sleep(reply.stall[1])
            body = event.text if isinstance(event, Raw) else json.dumps(event, ensure_ascii=False)
            data = b"data: " + body.encode() + b"\r\n\r\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        if reply.cut_after is None:
            self.wfile.write(b"0\r\n\r\n")
            return
        # Dropped mid-stream: no terminating zero-length chunk.
        self.close_connection = True
        if reply.reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()


class FakeGemini:
    """The fake server; a context manager (``with FakeGemini() as fake: ...``)."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._replies: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        if self._server is None:
            raise RuntimeError("FakeGemini is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def queue(self, *replies: Answer) -> None:
        """Append replies; each request takes the next one, in order."""
        with self._lock:
            self._replies.extend(replies)

    @property
    def pending(self) -> int:
        """How many queued replies no request has taken yet."""
        with self._lock:
            return len(self._replies)

    def _take(self, request: Request) -> Answer | None:
        with self._lock:
            self.requests.append(request)
            return self._replies.popleft() if self._replies else None

    def client(self, api_key: str = "test-key", **http_options: Any) -> genai.Client:
        """A real ``genai.Client`` pointed at this server."""
        # The product's transport (httpx2 even where aiohttp is installed), as make_client().
        http_options.setdefault("async_client_args", provider.http_options().async_client_args)
        options = types.HttpOptions(base_url=self.url, **http_options)
        return genai.Client(api_key=api_key, http_options=options)

    def start(self) -> FakeGemini:
        if self._server is None:
            self._server = _Server(self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="fake-gemini",
                daemon=True,
            )
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

    def __enter__(self) -> FakeGemini:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
