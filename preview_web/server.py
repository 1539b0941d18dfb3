"""The preview server: a Starlette app over one project, for the page that plays it.

It serves the page and its bundle (``/``, ``/bundle.js``), the project (``/project.json``),
the words under the timeline in frames (``/words.json``, for the word under the playhead),
media by content-hash name with HTTP Range (``/assets/<sha256>.<ext>``,
``/proxies/<sha256>.p<recipe>.mp4``), the event stream as Server-Sent Events (``/events``),
and ``/playback``, where the page reports the frame it shows. It is read-mostly: the page can
read and report playback, never change the project.

Every request passes `preview_web.guard.Guard` first (Host allow-list, token, Origin, body
cap). Media is served by descriptor (`preview_web.media`). The token never reaches a log:
uvicorn runs without an access log (`PreviewServer`), over a connection with a write timeout
and an idle timeout (`preview_web.connection`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import anyio
import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route
from starlette.types import ASGIApp

from engine import sandbox
from engine.events import EventStream, SubscriberDropped
from engine.media import derivatives
from engine.model import Project
from engine.projectfile import encode_project
from engine.timebase import MAX_FRAMES
from preview_web.build import STATIC_DIR
from preview_web.guard import BodyTooLarge, Guard, cookie_name, host_allowed, new_token
from preview_web.media import serve_media

__all__ = [
    "Guard",
    "PreviewServer",
    "PreviewState",
    "build",
    "cookie_name",
    "create_app",
    "host_allowed",
    "new_token",
    "sse",
]

KEEPALIVE_SECONDS = 15.0
# Seconds a connection may go without its client taking a byte we send (`preview_web.connection`).
WRITE_TIMEOUT = 60.0
# Seconds a new connection may wait before its request starts (uvicorn's keep-alive default).
IDLE_TIMEOUT = 5
STATIC_FILES = {
    "bundle.js": "text/javascript; charset=utf-8",
    "compiler.js": "text/javascript; charset=utf-8",
    "build.json": "application/json",
}
ASSET_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class PlaybackReport(msgspec.Struct, forbid_unknown_fields=True):
    """What the page POSTs to ``/playback``: the frame it shows, and ``hello`` on its first
    report after it loaded. Decoded strictly: ``true``, ``"5"``, ``1.9`` or ``1e308`` is not a
    frame, nor is anything past `engine.timebase.MAX_FRAMES`."""

    frame: Annotated[int, msgspec.Meta(ge=0, le=MAX_FRAMES)]
    hello: bool = False


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
    # The project's MCP server over streamable HTTP at /mcp (a StreamableHTTPSessionManager of
    # `mcp_server`), behind the same guard with a bearer token; None: no /mcp.
    mcp: Any = None


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

    async def words(request: Request) -> Response:
        """``words.json``: the words under the timeline in frames (`words_on_timeline`), for
        the page's word under the playhead."""
        from engine.errors import ReelcutError
        from engine.transcripts.timeline import words_on_timeline

        project = state.project()
        try:
            found = await anyio.to_thread.run_sync(words_on_timeline, state.root, project)
        except ReelcutError as exc:  # a hand-edited transcript that does not read: no words
            return JSONResponse(
                {"words": [], "error": str(exc)}, headers={"Cache-Control": "no-store"}
            )
        return JSONResponse({"words": found}, headers={"Cache-Control": "no-store"})

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
        return await serve_media(request, state.root)

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
            report = msgspec.json.decode(await request.body(), type=PlaybackReport)
        except BodyTooLarge:
            return PlainTextResponse("request body too large", 413)
        except msgspec.DecodeError as exc:  # ValidationError included: it names the field
            return PlainTextResponse(
                f"bad playback report: {' '.join(str(exc).split())}; "
                f'send {{"frame": N}} with N a whole number '
                f'from 0 to {MAX_FRAMES}, and "hello": true on the first report',
                400,
            )
        if state.on_frame is not None:
            await state.on_frame(report.frame, report.hello)
        return JSONResponse({"frame": report.frame})

    mcp_routes = []
    if state.mcp is not None:
        from mcp.server.streamable_http_manager import StreamableHTTPASGIApp

        mcp_routes.append(
            Route("/mcp", StreamableHTTPASGIApp(state.mcp), methods=["GET", "POST", "DELETE"])
        )
    return Starlette(
        routes=[
            *mcp_routes,
            Route("/", index),
            Route("/project.json", project),
            Route("/media.json", media_map),
            Route("/words.json", words),
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
    access log (the token would be in it). A connection is dropped once its client has taken
    no byte for ``write_timeout`` seconds, or sent no request ``idle_timeout`` seconds after it
    opened (`preview_web.connection`)."""

    def __init__(
        self,
        state: PreviewState,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        write_timeout: float = WRITE_TIMEOUT,
        idle_timeout: int = IDLE_TIMEOUT,
    ) -> None:
        self.state = state
        self.host = host
        self.port = port
        self.write_timeout = write_timeout
        self.idle_timeout = idle_timeout
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None
        self._mcp_task: asyncio.Task[None] | None = None
        self._mcp_stop = asyncio.Event()

    async def start(self) -> str:
        """Listen; return the URL to open (with the token)."""
        import uvicorn

        from preview_web.connection import bounded_protocol

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
            http=bounded_protocol(self.write_timeout),
            timeout_keep_alive=self.idle_timeout,
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
        if self.state.mcp is not None:  # its sessions live in a task group of their own
            ready = asyncio.Event()
            self._mcp_task = asyncio.create_task(self._run_mcp(ready), name="reelcut-mcp")
            await ready.wait()
        return self.url

    async def _run_mcp(self, ready: asyncio.Event) -> None:
        async with self.state.mcp.run():
            ready.set()
            await self._mcp_stop.wait()

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/?token={self.state.token}"

    async def stop(self) -> None:
        if self._mcp_task is not None:
            self._mcp_stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self._mcp_task
            self._mcp_task = None
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._socket is not None:
            self._socket.close()
        self._server = self._task = self._socket = None
