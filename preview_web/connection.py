"""uvicorn's HTTP/1.1 connection (h11) with two limits it lacks: a write timeout and an idle
timeout from the first byte.

uvicorn (0.55) has no write timeout. Its response ``send`` waits for the transport to drain
whenever the write buffer is past the high-water mark (64 KiB), so the buffer per connection
stays bounded, but a client that stops reading is waited for forever: the connection, its task
and the open media descriptor were all held (issue 25: 2 connections still held after 15 s, one
that never read and one that never sent a byte, and never let go). Here the connection is
aborted once its writes have been paused for ``write_timeout`` seconds in a row: the client has
not taken a byte in that time. A client that reads, however slowly, resumes the writes and
restarts the clock; a browser that pauses a media download and comes back later asks again
with a Range request.

uvicorn starts its keep-alive timer only after a first response, so a connection that never
sends a request was kept forever too; here the same timer starts when the connection opens.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

from uvicorn.protocols.http.h11_impl import H11Protocol

# struct linger {l_onoff = 1, l_linger = 0}: close() resets the connection at once.
_RESET = struct.pack("ii", 1, 0)


def bounded_protocol(write_timeout: float) -> type[H11Protocol]:
    """An `H11Protocol` class whose connections abort after ``write_timeout`` seconds with no
    byte taken by the client, and close if no request starts within uvicorn's
    ``timeout_keep_alive``."""

    class BoundedH11Protocol(H11Protocol):
        _stalled: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

        def pause_writing(self) -> None:
            super().pause_writing()
            if self._stalled is None:
                self._stalled = self.loop.call_later(write_timeout, self._abort_stalled)

        def resume_writing(self) -> None:
            super().resume_writing()
            self._unstall()

        def connection_lost(self, exc: Exception | None) -> None:
            self._unstall()
            super().connection_lost(exc)

        def _unstall(self) -> None:
            if self._stalled is not None:
                self._stalled.cancel()
                self._stalled = None

        def _abort_stalled(self) -> None:
            # A reset, not a close: a close waits for the buffers to drain, which they never
            # will. abort() drops asyncio's buffer; a zero linger makes the kernel drop its own
            # (up to tcp_wmem's 4 MB) and send RST, instead of keeping the socket to deliver
            # them behind a FIN.
            self._stalled = None
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
            self.transport.abort()

    return BoundedH11Protocol
