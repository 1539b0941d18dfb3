"""The preview server's connection limits (`preview_web.connection`), on the real server over
real sockets: a client that never reads is dropped, one that never sends a request is closed,
neither keeps a descriptor, and the server goes on serving others meanwhile.

Both used to be kept forever (issue 25; before this change, a probe found both connections
still held 15 s on, with the never-reading one's task stuck in uvicorn's drain)."""

from __future__ import annotations

import asyncio
import os
import select
import socket
from pathlib import Path
from typing import Any

from engine.projectdir import ProjectDir
from preview_web.connection import bounded_protocol
from preview_web.server import PreviewServer, PreviewState
from tests.preview_web.serving import COOKIE, TOKEN

BIG = 64 << 20  # far past what the kernel buffers on both ends hold


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def _until(check: Any, what: str, deadline: float = 30.0) -> None:
    """Wait for ``check()`` to hold, up to ``deadline`` seconds (a bound for a stuck run, not
    a timing assertion: the limits under test are a second or less)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not check():
        if loop.time() > end:
            raise AssertionError(f"still waiting after {deadline:.0f} s: {what}")
        await asyncio.sleep(0.05)


def _hung_up(sock: socket.socket) -> bool:
    """Whether the peer closed or reset ``sock``, seen without reading from it."""
    poller = select.poll()
    poller.register(sock, select.POLLRDHUP | select.POLLHUP | select.POLLERR)
    return any(
        ev & (select.POLLRDHUP | select.POLLHUP | select.POLLERR) for _, ev in poller.poll(0)
    )


def test_a_client_that_never_reads_is_dropped_while_others_are_served(demo_dir: Path) -> None:
    import httpx2 as httpx

    name = "9a" * 32 + ".mp4"
    with open(demo_dir / "assets" / name, "wb") as f:
        f.truncate(BIG)  # sparse: 64 MB to send, nothing on disk
    project = ProjectDir(demo_dir).load()

    async def go() -> None:
        state = PreviewState(demo_dir, lambda: project, None, TOKEN)
        server = PreviewServer(state, port=0, write_timeout=0.5, idle_timeout=30)
        base = (await server.start()).split("?")[0]
        try:
            baseline = _open_fds()
            stuck = socket.socket()
            stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            stuck.setblocking(False)
            loop = asyncio.get_running_loop()
            await loop.sock_connect(stuck, ("127.0.0.1", server.port))
            await loop.sock_sendall(
                stuck,
                f"GET /assets/{name} HTTP/1.1\r\nHost: localhost\r\n"
                f"Cookie: {COOKIE}={TOKEN}\r\n\r\n".encode(),
            )
            # While it stalls (its writes are paused), another client is served.
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                client.cookies.set(COOKIE, TOKEN)
                assert (await client.get("/project.json")).status_code == 200
            await _until(lambda: _hung_up(stuck), "the server to drop the client")
            received = 0
            try:
                while chunk := stuck.recv(1 << 20):
                    received += len(chunk)
            except (ConnectionResetError, BlockingIOError):
                pass
            assert received < BIG
            stuck.close()
            # Its connection, task and media descriptor are gone.
            await _until(lambda: _open_fds() <= baseline, "descriptors back to the baseline")
        finally:
            await server.stop()

    asyncio.run(go())


def test_a_connection_that_never_sends_a_request_is_closed(demo_dir: Path) -> None:
    """uvicorn's keep-alive timer started only after a first response; now at connect."""
    project = ProjectDir(demo_dir).load()

    async def go() -> None:
        state = PreviewState(demo_dir, lambda: project, None, TOKEN)
        server = PreviewServer(state, port=0, idle_timeout=1)
        await server.start()
        try:
            baseline = _open_fds()
            idle = socket.create_connection(("127.0.0.1", server.port))
            idle.setblocking(False)
            await _until(lambda: _hung_up(idle), "the server to close the idle connection")
            assert idle.recv(1) == b""  # an orderly close: no response to no request
            idle.close()
            await _until(lambda: _open_fds() <= baseline, "descriptors back to the baseline")
        finally:
            await server.stop()

    asyncio.run(go())


class _Transport(asyncio.Transport):
    """Just enough of a socket transport for uvicorn's H11Protocol to run on."""

    def __init__(self) -> None:
        super().__init__()
        self.aborted = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def abort(self) -> None:
        self.aborted = True

    def is_closing(self) -> bool:
        return self.aborted

    def close(self) -> None:
        self.aborted = True


def test_the_write_timeout_counts_only_an_unbroken_stall() -> None:
    """Paused then resumed (the client read something), the clock stops: no abort however long
    after; paused and never resumed, the connection is aborted (not closed: a close waits for
    a buffer that will never drain)."""
    import uvicorn
    from uvicorn.server import ServerState

    async def go() -> None:
        config = uvicorn.Config(lambda *_: None, timeout_keep_alive=60)
        config.load()
        protocol_class = bounded_protocol(0.05)
        protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
        transport = _Transport()
        protocol.connection_made(transport)
        for _ in range(3):
            protocol.pause_writing()
            await asyncio.sleep(0.01)
            protocol.resume_writing()
        await asyncio.sleep(0.2)  # four times the timeout with no stall in progress
        assert not transport.aborted
        protocol.pause_writing()
        await _until(lambda: transport.aborted, "the stalled connection to be aborted", 10)
        protocol.connection_lost(None)

    asyncio.run(go())
