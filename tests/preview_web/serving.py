"""The preview app over a demo project, as the HTTP-level tests use it: one token, its cookie,
and a TestClient on ``localhost:8123`` (any port passes the Host allow-list)."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from engine.projectdir import ProjectDir
from preview_web.server import PreviewState, build, cookie_name

TOKEN = "t" * 32
COOKIE = cookie_name(TOKEN)

Served = tuple[TestClient, PreviewState, list[int]]


def serve(root: Path) -> Served:
    """A client of the guarded app over ``root``, its state, and the frames the page reported
    (a hello shows as a negative frame)."""
    frames: list[int] = []
    project = ProjectDir(root).load()

    async def on_frame(frame: int, hello: bool) -> None:
        frames.append(-frame if hello else frame)

    state = PreviewState(root, lambda: project, None, TOKEN, on_frame)
    client = TestClient(build(state), base_url="http://localhost:8123")
    return client, state, frames


def authed(client: TestClient) -> TestClient:
    """``client`` with the cookie the token is traded for."""
    client.cookies.set(COOKIE, TOKEN)
    return client
