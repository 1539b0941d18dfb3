"""The preview server: a Starlette app over one project, for the page that plays it.

It serves the page and its bundle (``/``, ``/bundle.js``), the project (``/project.json``),
media by content-hash name with HTTP Range (``/assets/<sha256>.<ext>``,
``/proxies/<sha256>.p<recipe>.mp4``), the event stream as Server-Sent Events (``/events``),
and ``/playback``, where the page reports the frame it shows. It is read-mostly: the page can
read and report playback, never change the project.

Guards, in order, on every request (see ``../shared/RELIABILITY.md``):

1. **Host allow-list** before anything else: ``localhost``, ``127.0.0.1`` and ``[::1]`` on any
   port (so an SSH port-forward works); anything else, or no Host, is answered 421. This is
   what stops DNS rebinding (``localhost.evil.example``, ``127.0.0.1.nip.io``).
2. **Token**: the printed URL carries ``?token=`` (at least 128 random bits); the first visit
   trades it for an HttpOnly, SameSite=Strict cookie and is redirected to the same path without
   it (so it leaves the address bar and the history). Every request needs the cookie (or the
   token), compared in constant time; else 401.
3. **Origin** on every non-GET request: present and on the allow-list, else 403.
4. **Body cap**: ``MAX_BODY`` bytes, else 413.

The token never reaches a log: uvicorn runs without an access log (`run_server`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import re
import secrets
import socket
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from engine import sandbox
from engine.events import EventStream, SubscriberDropped
from engine.media import derivatives
from engine.model import Project
from engine.projectfile import encode_project
from preview_web.build import STATIC_DIR
from preview_web.ranges import Span, Unsatisfiable, parse

MAX_BODY = 16 * 1024
KEEPALIVE_SECONDS = 15.0
CHUNK = 256 * 1024
ALLOWED_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
# assets/<sha256>.<ext> and proxies/<sha256>.p<recipe>.mp4
# An asset (``<sha256>.<ext>``) or a proxy (``<sha256>.p<recipe>r<num>[d<den>].mp4``).
MEDIA_NAME = re.compile(r"^[0-9a-f]{64}(\.p[0-9]+r[0-9]+(d[0-9]+)?)?\.[a-z0-9]{1,8}$")
PROXY_NAME = re.compile(r"\.p[0-9]+r[0-9]+(d[0-9]+)?\.mp4$")
STATIC_FILES = {
    "bundle.js": "text/javascript; charset=utf-8",
    "compiler.js": "text/javascript; charset=utf-8",
    "build.json": "application/json",
}
ASSET_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def cookie_name(token: str) -> str:
    """The cookie of one project's server: named after its token, so two projects served on
    one host (cookies ignore ports) never overwrite each other's."""
    return f"reelcut_{hashlib.sha256(token.encode()).hexdigest()[:16]}"


def new_token() -> str:
    """192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def host_allowed(host: str | None, extra: frozenset[str] = frozenset()) -> bool:
    """``localhost``, ``127.0.0.1`` or ``[::1]`` (or a host named with ``--host``), with any
    port (or none)."""
    if not host:
        return False
    try:
        name = urlsplit(f"//{host}").hostname
    except ValueError:
        return False
    if name is None:
        return False
    return name in ALLOWED_HOSTS or name in extra


@dataclass
class PreviewState:
    """What the routes read: the project (a callable, so the editor's live one is served), the
    project folder, the event stream, and where reported frames go."""

    root: Path
    project: Callable[[], Project]
    events: EventStream | None
    token: str
    # (frame, hello): hello is the page's first report after it loaded
    on_frame: Callable[[int, bool], Awaitable[None]] | None = None
    # How many pages hold the event stream open, called each time that changes.
    on_pages: Callable[[int], Awaitable[None]] | None = None
    pages: int = 0


class Guard:
    """Host allow-list, token/cookie, Origin and body cap, before any route (pure ASGI)."""

    def __init__(
        self,
        app: ASGIApp,
        token: str,
        max_body: int = MAX_BODY,
        extra_hosts: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.token = token.encode()
        self.cookie = cookie_name(token)
        self.max_body = max_body
        self.extra_hosts = extra_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if not host_allowed(headers.get("host"), self.extra_hosts):
            await PlainTextResponse("misdirected request: unknown Host", 421)(scope, receive, send)
            return
        request = Request(scope)
        given = request.query_params.get("token")
        cookie = request.cookies.get(self.cookie)
        if given is not None and self._ok(given):
            # Trade the token for a cookie and drop it from the address bar.
            query = "&".join(
                f"{k}={v}" for k, v in request.query_params.multi_items() if k != "token"
            )
            target = scope["path"] + (f"?{query}" if query else "")
            response = RedirectResponse(target, 303)
            response.set_cookie(
                self.cookie, given, httponly=True, samesite="strict", path="/", secure=False
            )
            await response(scope, receive, send)
            return
        if cookie is None or not self._ok(cookie):
            await PlainTextResponse(
                "unauthorised: open the URL reelcut printed (it carries the token)", 401
            )(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            origin = headers.get("origin")
            if not origin or not host_allowed(urlsplit(origin).netloc, self.extra_hosts):
                await PlainTextResponse("forbidden: cross-origin request", 403)(
                    scope, receive, send
                )
                return
            length = headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_body):
                await PlainTextResponse("request body too large", 413)(scope, receive, send)
                return
            receive = self._capped(receive, scope, send)
        await self.app(scope, receive, send)

    def _ok(self, value: str) -> bool:
        return hmac.compare_digest(value.encode(), self.token)

    def _capped(self, receive: Receive, scope: Scope, send: Send) -> Receive:
        seen = 0
        cap = self.max_body

        async def capped() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    raise BodyTooLarge
            return message

        return capped


class BodyTooLarge(Exception):
    pass


def create_app(state: PreviewState) -> Starlette:
    """The preview app (wrap it in `Guard`, as `build` does)."""

    async def index(request: Request) -> Response:
        page = STATIC_DIR / "index.html"
        if not page.is_file():
            return PlainTextResponse(
                "the preview page is not built; run ./dev setup (it builds preview_web/web)", 503
            )
        return Response(
            page.read_bytes(),
            media_type="text/html; charset=utf-8",
            headers={"Cache-Control": "no-store"},
        )

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        path = STATIC_DIR / name
        if name not in STATIC_FILES or not path.is_file():
            return PlainTextResponse("not found", 404)
        return Response(path.read_bytes(), media_type=STATIC_FILES[name])

    async def project(request: Request) -> Response:
        return Response(
            encode_project(state.project()),
            media_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    async def media_map(request: Request) -> Response:
        """Asset id -> its proxy's URL, for every proxy that is built and complete."""
        project = state.project()

        def find() -> dict[str, str]:
            out = {}
            for asset in project.assets:
                path = derivatives.derivative_paths(state.root, asset, project.rate).get("proxy")
                if path is not None and derivatives.is_fresh(path):
                    out[asset.id] = f"proxies/{path.name}"
            return out

        return JSONResponse(
            await anyio.to_thread.run_sync(find), headers={"Cache-Control": "no-store"}
        )

    async def remotion_manifest(request: Request) -> Response:
        """``remotion/<asset-id>/manifest.json``: a Remotion clip's TSX source and props."""
        asset_id = request.path_params["asset_id"]
        if not ASSET_ID.match(asset_id):
            return PlainTextResponse("not found", 404)
        rel = f"remotion/{asset_id}/manifest.json"
        try:  # through the sandbox: a link out of the project is not followed
            data = await anyio.to_thread.run_sync(sandbox.read_bytes, state.root, rel)
        except (sandbox.PathRefused, OSError):
            return PlainTextResponse(f"no manifest for {asset_id}", 404)
        return Response(data, media_type="application/json", headers={"Cache-Control": "no-store"})

    async def media(request: Request) -> Response:
        name = request.path_params["name"]
        folder = request.url.path.split("/")[1]  # "assets" or "proxies"
        proxy = PROXY_NAME.search(name) is not None
        if not MEDIA_NAME.match(name) or proxy != (folder == "proxies"):
            return PlainTextResponse("not found: media names are content hashes", 404)
        path = state.root / folder / name
        try:
            size = await anyio.to_thread.run_sync(_plain_file_size, state.root, folder, name)
        except OSError:
            return PlainTextResponse("not found", 404)
        return await ranged(request, path, size)

    async def events(request: Request) -> Response:
        if state.events is None:
            return PlainTextResponse("no event stream", 503)
        last = request.headers.get("last-event-id") or request.query_params.get("after")
        after = int(last) if last and last.isdigit() else None
        if after is None:
            # "From now on" means from before the client sees the stream open: the headers go
            # out before the body's first line, and an event published as soon as the page's
            # EventSource says open (a seek right after it connects) must not be skipped.
            after = await state.events.newest_id()
        return StreamingResponse(
            _counted(state, sse(state.events, after, request)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def playback(request: Request) -> Response:
        try:
            body = msgspec.json.decode(await request.body())
            frame = int(body["frame"])
            hello = body.get("hello", False)
            if not isinstance(hello, bool):
                raise TypeError
        except BodyTooLarge:
            return PlainTextResponse("request body too large", 413)
        except (msgspec.DecodeError, KeyError, TypeError, ValueError, AttributeError):
            return PlainTextResponse('expected {"frame": N} or {"frame": N, "hello": true}', 400)
        if frame < 0:
            return PlainTextResponse("frame must be 0 or more", 400)
        if state.on_frame is not None:
            await state.on_frame(frame, hello)
        return JSONResponse({"frame": frame})

    return Starlette(
        routes=[
            Route("/", index),
            Route("/project.json", project),
            Route("/media.json", media_map),
            Route("/remotion/{asset_id}/manifest.json", remotion_manifest),
            Route("/events", events),
            Route("/playback", playback, methods=["POST"]),
            Route("/assets/{name}", media, methods=["GET", "HEAD"]),
            Route("/proxies/{name}", media, methods=["GET", "HEAD"]),
            Route("/{name}", static),
        ]
    )


def build(state: PreviewState) -> ASGIApp:
    return Guard(create_app(state), state.token)


def _plain_file_size(root: Path, folder: str, name: str) -> int:
    """The size of ``root/folder/name`` if it is a regular file in a real folder of the project;
    a link (to anywhere) is refused, so nothing outside the project is ever served."""
    real_root = os.path.realpath(root)
    if os.path.realpath(os.path.join(real_root, folder)) != os.path.join(real_root, folder):
        raise FileNotFoundError(folder)
    st = os.lstat(os.path.join(real_root, folder, name))
    if not stat.S_ISREG(st.st_mode):
        raise FileNotFoundError(name)
    return st.st_size


async def ranged(request: Request, path: Path, size: int) -> Response:
    """The file, or the ranges the request asks for (206; multipart for several; 416)."""
    try:
        spans = parse(request.headers.get("range"), size)
    except Unsatisfiable:
        return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
    kind = "video/mp4" if path.suffix == ".mp4" else "application/octet-stream"
    guessed = {
        ".webm": "video/webm",
        ".wav": "audio/wav",
        ".mp3": "audio/mpeg",
        ".png": "image/png",
        ".jpg": "image/jpeg",
        ".m4a": "audio/mp4",
    }
    kind = guessed.get(path.suffix, kind)
    common = {"Accept-Ranges": "bytes", "Cache-Control": "public, max-age=31536000, immutable"}
    head = request.method == "HEAD"
    if spans is None:
        body = None if head else _read(path, [Span(0, size - 1)] if size else [])
        return _stream(body, 200, {**common, "Content-Length": str(size)}, kind)
    if len(spans) == 1:
        (s,) = spans
        headers = {
            **common,
            "Content-Range": f"bytes {s.start}-{s.end}/{size}",
            "Content-Length": str(s.length),
        }
        return _stream(None if head else _read(path, spans), 206, headers, kind)
    boundary = secrets.token_hex(12)
    parts = [
        (
            f"\r\n--{boundary}\r\nContent-Type: {kind}\r\n"
            f"Content-Range: bytes {s.start}-{s.end}/{size}\r\n\r\n"
        ).encode()
        for s in spans
    ]
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = sum(len(p) for p in parts) + sum(s.length for s in spans) + len(tail)

    async def multipart() -> AsyncIterator[bytes]:
        for part, span in zip(parts, spans, strict=True):
            yield part
            async for chunk in _read(path, [span]):
                yield chunk
        yield tail

    headers = {**common, "Content-Length": str(length)}
    return _stream(
        None if head else multipart(), 206, headers, f"multipart/byteranges; boundary={boundary}"
    )


def _stream(
    body: AsyncIterator[bytes] | None, status: int, headers: dict[str, str], kind: str
) -> Response:
    if body is None:
        return Response(b"", status, headers=headers, media_type=kind)
    return StreamingResponse(body, status, headers=headers, media_type=kind)


async def _read(path: Path, spans: list[Span]) -> AsyncIterator[bytes]:
    """The bytes of ``spans``, read in chunks off the event loop."""
    f = await anyio.to_thread.run_sync(path.open, "rb")
    try:
        for span in spans:
            await anyio.to_thread.run_sync(f.seek, span.start)
            left = span.length
            while left > 0:
                chunk = await anyio.to_thread.run_sync(f.read, min(CHUNK, left))
                if not chunk:
                    return
                left -= len(chunk)
                yield chunk
    finally:
        await anyio.to_thread.run_sync(f.close)


async def _counted(state: PreviewState, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """``body``, with ``state.pages`` counting it while it runs (and ``on_pages`` told)."""
    state.pages += 1
    try:
        if state.on_pages is not None:
            await state.on_pages(state.pages)
        async for chunk in body:
            yield chunk
    finally:
        state.pages -= 1
        if state.on_pages is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(state.on_pages(state.pages))


async def sse(
    stream: EventStream, after: int, request: Request, keepalive: float = KEEPALIVE_SECONDS
) -> AsyncIterator[bytes]:
    """Events as ``id:``/``event:``/``data:`` blocks, resuming after ``after`` (a new client's
    is the newest id, which the route reads before the headers go out); a comment every
    ``keepalive`` seconds of quiet; ends when the client goes or is dropped for falling
    behind (it reconnects with Last-Event-ID and loses nothing)."""
    yield b"retry: 1000\n\n"
    events = stream.watch(after=after, idle=keepalive)
    try:
        async for event in events:
            if event is None:  # quiet for ``keepalive`` seconds
                if await request.is_disconnected():
                    return
                yield b": keep-alive\n\n"
                continue
            yield f"id: {event.id}\nevent: {event.topic}\ndata: {event.encoded()}\n\n".encode()
    except SubscriberDropped:
        return
    finally:
        await events.aclose()  # type: ignore[attr-defined]


class PreviewServer:
    """uvicorn serving `build(state)` inside the running event loop (the editor's, or
    ``reelcut serve``'s): no signal handlers of its own, no log lines on the terminal, no
    access log (the token would be in it)."""

    def __init__(self, state: PreviewState, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state
        self.host = host
        self.port = port
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    async def start(self) -> str:
        """Listen; return the URL to open (with the token)."""
        import uvicorn

        extra = (
            frozenset()
            if self.host in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "::")
            else frozenset({self.host})
        )
        app = Guard(create_app(self.state), self.state.token, extra_hosts=extra)
        config = uvicorn.Config(
            app,
            host=self.host,
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="off",
            log_level="critical",
            # An open page keeps its event stream open: do not let it hold up quitting.
            timeout_graceful_shutdown=1,
        )
        # Bind here, not in uvicorn: on a taken port uvicorn calls sys.exit(), which would end
        # the editor's event loop; an OSError from bind() is ours to handle.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(128)
        except OSError:
            sock.close()
            raise
        server = uvicorn.Server(config)
        server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
        self._server = server
        self._socket = sock
        self._task = asyncio.create_task(server.serve(sockets=[sock]), name="reelcut-preview")
        while not server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it (the port is taken...)
                raise OSError("the preview server stopped before it started")
            await asyncio.sleep(0.01)
        self.port = sock.getsockname()[1]
        return self.url

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/?token={self.state.token}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._socket is not None:
            self._socket.close()
        self._server = self._task = self._socket = None
