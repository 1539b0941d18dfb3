"""`reelcut serve DIR [--port N] [--host H]`: the preview server without the editor.

It opens the project's session (the writer lock, as the editor does), runs the background jobs
(proxies and waveforms get built), serves the preview page and prints its URL with the token.
project.json changed on disk (an applied changeset) is reloaded and reaches the page through
the event stream. Ctrl+C or SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from engine.errors import ReelcutError
from engine.events import EventStream
from engine.fsio.durable import atomic_write
from engine.model import Project
from engine.projectfile import PROJECT_FILE
from engine.session import Session
from preview_web.server import PreviewServer, PreviewState, new_token
from tui.cli_args import int_between

DEFAULT_PORT = 8731
TOKEN_FILE = "preview-token"
PORT_FILE = "preview-port"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_serve_parser(sub: Any) -> None:
    p = sub.add_parser("serve", help="serve the preview page (no editor); prints its URL")
    p.add_argument("dir", type=Path)
    p.add_argument(
        "--port",
        type=int_between(0, 65535, "a port number"),
        default=None,
        help=f"default {DEFAULT_PORT}, else any free one; 0: any free one",
    )
    p.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (this machine only)")


def cmd_serve(args: argparse.Namespace) -> int:
    if args.host not in LOOPBACK:
        print(
            f"reelcut: warning: serving on {args.host}: anyone who can reach it and has the URL "
            "can watch this project (prefer an SSH port-forward to 127.0.0.1)",
            file=sys.stderr,
        )
    with Session(args.dir, purpose="reelcut serve") as session:
        return asyncio.run(_serve(session, args.host, args.port))


class HasEvents(Protocol):
    """What the preview server publishes to: the project's workspace."""

    @property
    def events(self) -> EventStream | None: ...


async def start_preview(
    session: Session,
    jobs: HasEvents,
    host: str = "127.0.0.1",
    port: int | None = None,
    *,
    project: Callable[[], Project] | None = None,
) -> PreviewServer:
    """A preview server over ``session`` publishing to ``jobs``' event stream; the default
    port when free, else any free port. ``project`` (default: the session's) is what the page
    plays: the editor swaps in the steps of a changeset it replays."""
    events = jobs.events
    assert events is not None

    async def on_frame(frame: int, hello: bool) -> None:
        data: dict[str, object] = {"frame": frame, "from": "page"}
        if hello:
            data["hello"] = True
        await events.publish("playback", "shown", data)

    async def on_pages(count: int) -> None:
        await events.publish("playback", "pages", {"count": count})

    current = project if project is not None else (lambda: session.project)
    state_dir = session.dir.state
    token = await asyncio.to_thread(project_token, state_dir)
    state = PreviewState(session.dir.root, current, events, token, on_frame, on_pages)
    # The MCP SDK and its pydantic models take seconds to import on a loaded machine: off the
    # event loop, which the editor is drawing with (a `t` pressed meanwhile showed nothing).
    await asyncio.to_thread(_load_mcp)
    state.mcp = _mcp_over_http(session.dir.root, jobs)
    last = _last_port(state_dir)
    candidates = [port] if port is not None else list(dict.fromkeys([last, DEFAULT_PORT, 0]))
    for candidate in [c for c in candidates if c is not None]:
        server = PreviewServer(state, host, candidate)
        try:
            await server.start()
            if port is None:  # a port that cannot be recorded is only a new URL next time
                with contextlib.suppress(ReelcutError):
                    atomic_write(state_dir / PORT_FILE, f"{server.port}\n".encode("ascii"))
            return server
        except OSError as exc:
            await server.stop()
            if port is not None or candidate == 0:
                raise ReelcutError(
                    f"cannot serve on {host}:{candidate} ({exc}); choose another --port"
                ) from None
    raise AssertionError("unreachable")


def _load_mcp() -> None:
    """Import what `_mcp_over_http` needs (run on a worker thread)."""
    import mcp.server.streamable_http_manager  # noqa: F401

    import mcp_server.server  # noqa: F401


def _mcp_over_http(root: Path, workspace: object) -> object:
    """The project's MCP server for ``/mcp``, calling this process's own door."""
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

    from mcp_server.server import ReelcutMCP

    server = ReelcutMCP(root, workspace=workspace).server
    # The preview server's guard checks Host, Origin and the token before a request gets here.
    return StreamableHTTPSessionManager(app=server)


async def _serve(session: Session, host: str, port: int | None) -> int:
    from engine.workspace import Workspace

    workspace = Workspace(session.dir.root, session)
    await workspace.start_jobs(session.project)
    door = await workspace.open_door(lambda *request: None)  # other terminals' changes
    server = await start_preview(session, workspace, host, port)
    print(f"preview: {server.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    path = session.dir.root / PROJECT_FILE
    seen = _stat(path)
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await stop.wait()
            now = _stat(path)
            if now != seen:
                seen = now
                with contextlib.suppress(ReelcutError):
                    await workspace.reload()  # an outside editor's change
    finally:
        await door.stop()
        await server.stop()
        await workspace.close()
    return 0


def project_token(state_dir: Path) -> str:
    """The project's preview token, kept in ``.reelcut/preview-token`` (owner-only) so the URL
    of an open tab stays valid when the editor is restarted; made on first use."""
    path = state_dir / TOKEN_FILE
    try:
        token = path.read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        token = ""
    if len(token) >= 32 and all(c.isalnum() or c in "-_" for c in token):
        return token
    token = new_token()
    atomic_write(path, token.encode("ascii") + b"\n", mode=0o600)
    return token


def _last_port(state_dir: Path) -> int | None:
    try:
        port = int((state_dir / PORT_FILE).read_text("ascii").strip())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return port if 1024 <= port <= 65535 else None


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)
