"""The symlink race on media: a thread swaps a media name between the project's own file and a
link to a file outside the project while a client asks for that name, again and again.

A server that checks the name (not a link) and then opens it by name again can serve the
outside file when the swap lands between the two steps; one that opens the name once, without
following links, and serves that descriptor never can. `race` counts what came back: the
project's bytes, refusals (404: the name was a link when it was opened) and outside bytes, which
must stay 0. Both of the first two must be seen, or the swap never raced the server and the run
proves nothing.
"""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from starlette.types import ASGIApp

from tests.preview_web.asgi import call

SIZE = 64 * 1024
INSIDE = b"i" * SIZE
# The outside file is as long as the inside one, so a server that took the size from the
# project's file and the bytes from the link's target sends the target's bytes whole.
OUTSIDE = b"SECRET-OUTSIDE-THE-PROJECT:" + b"o" * (SIZE - 27)
NAME = "5e" * 32 + ".mp4"


@dataclass
class RaceCount:
    """What ``requests`` requests for a name being swapped came back with."""

    requests: int = 0
    inside: int = 0
    refused: int = 0
    outside: int = 0
    other: int = 0
    swaps: int = 0

    def __str__(self) -> str:
        return (
            f"{self.requests} requests, {self.swaps} swaps: {self.inside} served the project's "
            f"file, {self.refused} refused (404), {self.outside} served the outside file, "
            f"{self.other} other"
        )


def race(
    app: ASGIApp,
    root: Path,
    outside_dir: Path,
    cookie: tuple[str, str],
    requests: int,
    *,
    stop_at_outside: bool = False,
) -> RaceCount:
    """Ask for ``assets/NAME`` up to ``requests`` times while a thread swaps it; count the
    answers (``stop_at_outside``: stop at the first outside file served).

    The swap is two renames over the name (a hard link of the real file, then a symlink to
    ``outside_dir/secret``), each prepared under a temp name, so the name is always one or the
    other, never missing: every answer is either the file or a refusal of the link."""
    assets = root / "assets"
    real = assets / ".race-real"
    real.write_bytes(INSIDE)
    secret = outside_dir / "secret"
    secret.write_bytes(OUTSIDE)
    target = assets / NAME
    os.link(real, target)
    count = RaceCount()
    stop = threading.Event()

    def swap() -> None:
        # Each rename releases the GIL, so the swaps land between the server's own system calls
        # (a swapper in another process was scheduled in bursts and raced far less often).
        tmp = str(assets / ".race-swap")
        while not stop.is_set():
            os.symlink(secret, tmp)
            os.replace(tmp, target)
            os.link(real, tmp)
            os.replace(tmp, target)
            count.swaps += 1

    swapper = threading.Thread(target=swap, name="symlink-swapper")
    swapper.start()
    try:
        asyncio.run(_ask(app, cookie, requests, count, stop_at_outside))
    finally:
        stop.set()
        swapper.join()
    return count


async def _ask(
    app: ASGIApp, cookie: tuple[str, str], requests: int, count: RaceCount, stop_at_outside: bool
) -> None:
    """``requests`` GETs straight into the ASGI app, one after another (`asgi.call`)."""
    for i in range(requests):
        headers = {"cookie": f"{cookie[0]}={cookie[1]}"}
        if i % 3 == 2:  # every third request asks for two ranges: both ways of serving race
            headers["range"] = "bytes=0-99,1000-"
        reply = await call(app, f"/assets/{NAME}", headers)
        status, body = reply.status, reply.body
        count.requests += 1
        if b"SECRET-OUTSIDE" in body or b"o" * 32 in body:
            count.outside += 1
            if stop_at_outside:
                return
        elif status == 404:
            count.refused += 1
        elif status in (200, 206) and b"i" * 32 in body:
            count.inside += 1
        else:
            count.other += 1
