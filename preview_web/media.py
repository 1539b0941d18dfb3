"""Media by descriptor: ``assets/<sha256>.<ext>`` and ``proxies/<sha256>.p<recipe>.mp4``.

The name must look like a content hash; then the file is opened ONCE through the sandbox
(`engine.fsio.files.open_regular`: folder descriptors, ``O_NOFOLLOW``, no link anywhere on the
way, regular files only) and everything after that uses the descriptor: ``fstat`` gives the
size and the validators (``ETag``, ``Last-Modified``), ``pread`` the bytes. Checking a name
and then opening it again let a name swapped for a link in between serve a file from outside
the project (113 of 3000 requests in issue 25's probe); a descriptor cannot be swapped.

Range follows RFC 9110 §14 (`preview_web.ranges`) and §13.1.5 If-Range: the ranges are sent
only when If-Range holds our strong ETag, or an HTTP-date equal to ``Last-Modified`` of a file
unchanged for at least a second; any other If-Range (a weak tag, another tag, no validator at
all, garbage) means the client's copy may differ, so it gets the whole file (200).
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

import anyio
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from engine.errors import ReelcutError
from engine.fsio.files import open_regular
from engine.fsio.paths import PathRefused
from preview_web.ranges import Span, Unsatisfiable, parse

CHUNK = 256 * 1024
# An asset (``<sha256>.<ext>``) or a proxy (``<sha256>.p<recipe>r<num>[d<den>].mp4``).
MEDIA_NAME = re.compile(r"^[0-9a-f]{64}(\.p[0-9]+r[0-9]+(d[0-9]+)?)?\.[a-z0-9]{1,8}$")
PROXY_NAME = re.compile(r"\.p[0-9]+r[0-9]+(d[0-9]+)?\.mp4$")
KINDS = {
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".m4a": "audio/mp4",
}
_CACHE = {"Accept-Ranges": "bytes", "Cache-Control": "public, max-age=31536000, immutable"}


async def serve_media(request: Request, root: Path) -> Response:
    """The ``/assets/{name}`` and ``/proxies/{name}`` route."""
    name = request.path_params["name"]
    folder = request.url.path.split("/")[1]  # "assets" or "proxies"
    proxy = PROXY_NAME.search(name) is not None
    if not MEDIA_NAME.match(name) or proxy != (folder == "proxies"):
        return PlainTextResponse("not found: media names are content hashes", 404)
    try:
        fd = await anyio.to_thread.run_sync(open_regular, root, f"{folder}/{name}")
    except PathRefused:  # missing, a link, a folder, a special file
        return PlainTextResponse("not found", 404)
    except ReelcutError as exc:  # permission denied, too many open files...
        return PlainTextResponse(f"cannot read {folder}/{name}: {exc}", 503)
    try:
        response = answer(request, fd, Path(name).suffix)
    except BaseException:
        os.close(fd)
        raise
    if not isinstance(response, DescriptorResponse):
        os.close(fd)
    return response


def answer(request: Request, fd: int, suffix: str) -> Response:
    """What to send from ``fd`` for ``request``: the file (200), its ranges (206, multipart
    for several) or 416. A `DescriptorResponse` closes ``fd`` when sent; anything else does
    not use it (the caller closes it)."""
    st = os.fstat(fd)
    size = st.st_size
    etag = f'"{st.st_ino:x}-{size:x}-{st.st_mtime_ns:x}"'
    common = {**_CACHE, "ETag": etag, "Last-Modified": formatdate(st.st_mtime, usegmt=True)}
    kind = KINDS.get(suffix, "application/octet-stream")
    head = request.method == "HEAD"
    ranges = request.headers.get("range")
    if ranges is not None and not if_range_holds(request.headers.get("if-range"), etag, st):
        ranges = None  # the client's copy may not be this file: send it whole
    try:
        spans = parse(ranges, size)
    except Unsatisfiable:
        return Response(status_code=416, headers={**common, "Content-Range": f"bytes */{size}"})
    if spans is None:
        headers = {**common, "Content-Length": str(size)}
        if head:
            return Response(b"", 200, headers=headers, media_type=kind)
        return DescriptorResponse(
            fd, _read(fd, [Span(0, size - 1)] if size else []), 200, headers, kind
        )
    if len(spans) == 1:
        (s,) = spans
        headers = {
            **common,
            "Content-Range": f"bytes {s.start}-{s.end}/{size}",
            "Content-Length": str(s.length),
        }
        if head:
            return Response(b"", 206, headers=headers, media_type=kind)
        return DescriptorResponse(fd, _read(fd, spans), 206, headers, kind)
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
    headers = {**common, "Content-Length": str(length)}
    multipart = f"multipart/byteranges; boundary={boundary}"
    if head:
        return Response(b"", 206, headers=headers, media_type=multipart)

    async def body() -> AsyncIterator[bytes]:
        for part, span in zip(parts, spans, strict=True):
            yield part
            async for chunk in _read(fd, [span]):
                yield chunk
        yield tail

    return DescriptorResponse(fd, body(), 206, headers, multipart)


def if_range_holds(value: str | None, etag: str, st: os.stat_result) -> bool:
    """Whether the Range header may be honoured under ``If-Range: value`` (RFC 9110 §13.1.5):
    no If-Range, our strong ETag exactly, or an HTTP-date equal to the file's Last-Modified
    when that date is a strong validator (the file is at least a second old, §8.8.2.2)."""
    if value is None:
        return True
    value = value.strip(" \t")
    if value.startswith('"'):
        return value == etag
    if not value or value.startswith("W/"):
        return False  # no validator; a weak tag never matches in a strong comparison
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # an HTTP-date is always GMT
    return int(when.timestamp()) == int(st.st_mtime) and time.time() - st.st_mtime >= 1


class DescriptorResponse(StreamingResponse):
    """A streamed body read from ``fd``, which this response owns: it is closed once the
    response is over, sent whole, cut by the client or failed. Starlette waits for a read in
    a worker thread to finish before a cancelled stream returns, so no read can reach the fd
    number after it is closed (and perhaps reused by another open)."""

    def __init__(
        self, fd: int, body: AsyncIterator[bytes], status: int, headers: dict[str, str], kind: str
    ) -> None:
        super().__init__(body, status, headers=headers, media_type=kind)
        self.fd = fd

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            os.close(self.fd)


async def _read(fd: int, spans: list[Span]) -> AsyncIterator[bytes]:
    """The bytes of ``spans`` from ``fd``, in chunks read off the event loop (``pread``: no
    shared file offset between the spans)."""
    for span in spans:
        offset, left = span.start, span.length
        while left > 0:
            chunk = await anyio.to_thread.run_sync(os.pread, fd, min(CHUNK, left), offset)
            if not chunk:
                return  # the file shrank: the connection ends short of Content-Length
            offset += len(chunk)
            left -= len(chunk)
            yield chunk
