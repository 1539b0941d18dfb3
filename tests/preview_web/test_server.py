"""The preview server under Starlette's TestClient: every guard (Host, token and its redirect,
Origin, body cap), the project, playback reports, and the SSE encoding. Media and Range are in
test_media.py, connection limits in test_connection.py."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from engine.events import EventStream
from engine.projectdir import ProjectDir
from engine.state.adb import AsyncDB
from preview_web.server import (
    PreviewServer,
    PreviewState,
    create_app,
    host_allowed,
    new_token,
    sse,
)
from tests.preview_web.asgi import call
from tests.preview_web.serving import COOKIE, TOKEN, Served, authed, serve


@pytest.fixture
def served(demo_dir: Path) -> Served:
    return serve(demo_dir)


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("localhost", True),
        ("localhost:8123", True),
        ("127.0.0.1:1", True),
        ("127.0.0.1", True),
        ("[::1]:8123", True),
        ("[::1]", True),
        ("localhost.evil.example", False),
        ("127.0.0.1.nip.io", False),
        ("evil.example:8123", False),
        ("LOCALHOST.evil.example:80", False),
        ("127.0.0.2", False),
        ("", False),
        ("[::2]:80", False),
        ("localhost@evil.example", False),
        # userinfo before an allowed host: urlsplit's hostname is the allowed host (issue 25)
        ("evil.example@127.0.0.1", False),
        ("evil.example@127.0.0.1:8123", False),
        ("user:pass@localhost:8123", False),
        ("localhost:8123@evil.example", False),
        ("localhost/evil.example", False),
        ("localhost:80:80", False),
        ("localhost:http", False),
        ("::1", False),  # an IPv6 literal in Host is bracketed
        ("LOCALHOST:8123", True),
        ("localhost:", True),  # port = *DIGIT (RFC 3986)
    ],
)
def test_host_allow_list(served: Served, host: str, ok: bool) -> None:
    client = authed(served[0])
    assert host_allowed(host) is ok
    res = client.get("/project.json", headers={"host": host})
    assert (res.status_code == 200) is ok
    if not ok:
        assert res.status_code == 421


def test_a_request_without_host_is_refused_before_anything_else(
    served: Served,
) -> None:
    app = served[0].app
    sent: list[dict[str, Any]] = []

    async def go() -> None:
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/project.json",
            "query_string": b"",
            "headers": [(b"cookie", f"{COOKIE}={TOKEN}".encode())],
            "raw_path": b"/",
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)  # type: ignore[operator]

    asyncio.run(go())
    assert sent[0]["status"] == 421


def test_the_token_is_traded_for_a_strict_httponly_cookie_and_leaves_the_url(
    served: Served,
) -> None:
    client = served[0]
    assert client.get("/project.json").status_code == 401
    assert client.get("/project.json?token=wrong").status_code == 401
    client.cookies.set(COOKIE, "wrong")
    assert client.get("/project.json").status_code == 401
    client.cookies.clear()
    res = client.get(f"/?token={TOKEN}&x=1", follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/?x=1"
    cookie = res.headers["set-cookie"]
    assert f"{COOKIE}={TOKEN}" in cookie and "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    assert client.get("/project.json").status_code == 200  # the cookie now
    assert len(new_token()) >= 32 and new_token() != new_token()  # >= 192 bits, random


@pytest.mark.parametrize(
    ("target", "location"),
    [
        ("/", "/"),
        ("//evil.example/", "/evil.example/"),
        ("///evil.example", "/evil.example"),
        ("/\\evil.example/", "/evil.example/"),
        ("/\\/evil.example/", "/evil.example/"),
        ("/%2F%2Fevil.example/", "/%2F%2Fevil.example/"),
        ("/%5Cevil.example/", "/%5Cevil.example/"),
        ("/a%20b/c%3Fd", "/a%20b/c%3Fd"),
    ],
)
def test_the_token_redirect_only_goes_to_a_path_of_this_server(
    served: Served, target: str, location: str
) -> None:
    """``//evil.example/?token=...`` (with the right token) was redirected to
    ``//evil.example/``, which a browser reads as another host (issue 25). The raw request
    goes straight into the app: an HTTP client would merge ``//evil.example/`` into its base."""
    reply = asyncio.run(call(served[0].app, f"{target}?token={TOKEN}"))
    assert reply.status == 303
    assert reply.headers["location"] == location
    base = "http://localhost:8123/deep/page"
    assert urljoin(base, location).startswith("http://localhost:8123/")


def test_the_token_redirect_keeps_the_query_as_it_came(served: Served) -> None:
    """Every other parameter is kept byte for byte, still encoded; it was re-assembled
    decoded, so ``next=a%26b%3Dc`` became ``next=a&b=c`` (two parameters)."""
    query = f"token={TOKEN}&next=a%26b%3Dc&q=%20x+y&e=%E2%82%AC&flag&token={TOKEN}"
    reply = asyncio.run(call(served[0].app, f"/x?{query}"))
    assert reply.status == 303
    assert reply.headers["location"] == "/x?next=a%26b%3Dc&q=%20x+y&e=%E2%82%AC&flag"
    assert f"{COOKIE}={TOKEN}" in reply.headers["set-cookie"]


def test_non_get_needs_a_local_origin_and_a_small_body(
    served: Served,
) -> None:
    client, _, frames = served
    authed(client)
    ok = {"origin": "http://localhost:8123"}
    assert client.post("/playback", json={"frame": 3}).status_code == 403  # no Origin
    assert (
        client.post(
            "/playback", json={"frame": 3}, headers={"origin": "http://evil.example"}
        ).status_code
        == 403
    )
    assert (
        client.post("/playback", json={"frame": 3}, headers={"origin": "null"}).status_code == 403
    )
    for origin in ("http://evil.example@localhost:8123", "ftp://localhost", "http://localhost/x"):
        res = client.post("/playback", json={"frame": 3}, headers={"origin": origin})
        assert res.status_code == 403, origin
    assert client.post("/playback", json={"frame": 12}, headers=ok).json() == {"frame": 12}
    assert frames == [12]
    assert client.post("/playback", content=b"x" * 20_000, headers=ok).status_code == 413

    def chunks() -> Any:
        for _ in range(40):
            yield b"x" * 1000  # no Content-Length: counted as it arrives

    assert client.post("/playback", content=chunks(), headers=ok).status_code == 413
    assert client.post("/playback", content=b'{"frame": -1}', headers=ok).status_code == 400
    assert client.post("/playback", content=b"nonsense", headers=ok).status_code == 400
    assert client.post("/playback", content=b"[1]", headers=ok).status_code == 400
    assert (
        client.post("/playback", json={"frame": 5, "hello": "yes"}, headers=ok).status_code == 400
    )
    assert frames == [12]
    assert client.post("/playback", json={"frame": 5, "hello": True}, headers=ok).status_code == 200
    assert frames == [12, -5]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"frame": true}', "Expected `int`, got `bool` - at `$.frame`"),
        (b'{"frame": "5"}', "Expected `int`, got `str` - at `$.frame`"),
        (b'{"frame": 1.9}', "Expected `int`, got `float` - at `$.frame`"),
        (b'{"frame": 1e308}', "Expected `int`, got `float` - at `$.frame`"),
        (b'{"frame": 5.0}', "Expected `int`, got `float` - at `$.frame`"),
        (b'{"frame": 2147483648}', "Expected `int` <= 2147483647 - at `$.frame`"),
        (b'{"frame": 99999999999999999999999}', "<= 2147483647 - at `$.frame`"),
        (b'{"frame": -1}', "Expected `int` >= 0 - at `$.frame`"),
        (b'{"frame": null}', "got `null` - at `$.frame`"),
        (b"{}", "missing required field `frame`"),
        (b'{"frame": 5, "hello": 1}', "Expected `bool`, got `int` - at `$.hello`"),
        (b'{"frame": 5, "at\\nx": 3}', "unknown field `at x`"),
        (b"[5]", "Expected `object`, got `array`"),
        (b"nonsense", "JSON is malformed"),
    ],
)
def test_playback_takes_a_whole_frame_number_and_says_what_was_wrong(
    served: Served, body: bytes, says: str
) -> None:
    """``true``, ``"5"``, ``1.9`` and ``1e308`` were taken as frames 1, 5, 1 and a 309-digit
    number (issue 25). Now: one 400, one line naming the field and what it must be."""
    client, _, frames = served
    authed(client)
    res = client.post("/playback", content=body, headers={"origin": "http://localhost:8123"})
    assert res.status_code == 400
    assert says in res.text
    assert "\n" not in res.text and res.text.startswith("bad playback report: ")
    assert "whole number from 0 to 2147483647" in res.text
    assert frames == []
    ok = client.post(
        "/playback", json={"frame": 2147483647}, headers={"origin": "http://localhost"}
    )
    assert ok.json() == {"frame": 2147483647} and frames == [2147483647]


def test_the_project_is_served_and_the_page_cannot_change_it(
    served: Served, demo_dir: Path
) -> None:
    client = authed(served[0])
    before = (demo_dir / "project.json").read_bytes()
    res = client.get("/project.json")
    assert res.headers["cache-control"] == "no-store"
    assert json.loads(res.content)["name"] == "reelcut demo"
    origin = {"origin": "http://localhost:8123"}
    for method in ("put", "delete", "patch"):
        assert getattr(client, method)("/project.json", headers=origin).status_code == 405
    assert (demo_dir / "project.json").read_bytes() == before


def test_sse_encodes_events_resumes_after_an_id_and_keeps_alive(demo_dir: Path) -> None:
    class Client:
        async def is_disconnected(self) -> bool:
            return False

    async def go() -> list[bytes]:
        adb = await AsyncDB.open(demo_dir / ".reelcut")
        stream = EventStream(adb)
        await stream.start()
        for i in range(3):
            await stream.publish("playback", "frame", {"frame": i})
        out: list[bytes] = []
        gen = sse(stream, 1, Client(), keepalive=0.05)  # type: ignore[arg-type]
        async for chunk in gen:
            out.append(chunk)
            if chunk.startswith(b": keep-alive"):
                break
        await gen.aclose()
        await stream.close()
        await adb.close()
        return out

    out = asyncio.run(go())
    assert out[0] == b"retry: 1000\n\n"
    blocks = [c.decode() for c in out[1:-1]]
    assert [b.split("\n")[0] for b in blocks] == ["id: 2", "id: 3"]  # after id 1
    assert all(b.split("\n")[1] == "event: playback" for b in blocks)
    assert json.loads(blocks[0].split("data: ", 1)[1])["data"] == {"frame": 1}
    assert out[-1] == b": keep-alive\n\n"


def test_a_new_stream_gets_an_event_published_as_soon_as_it_opened(demo_dir: Path) -> None:
    """A client without Last-Event-ID gets events "from now on", and now is when it sees the
    stream open: its headers. Here the event is published the moment the headers are sent,
    as a test (or the editor) does when the page's EventSource says open. The starting id
    used to be read after that, in the body, and the event was skipped (seen in CI through
    Chromium: a seek sent as the page connected never arrived)."""
    project = ProjectDir(demo_dir).load()

    async def go() -> bytes:
        adb = await AsyncDB.open(demo_dir / ".reelcut")
        stream = EventStream(adb)
        await stream.start()
        await stream.publish("playback", "frame", {"frame": 1})  # before: not for this client
        app = create_app(PreviewState(demo_dir, lambda: project, stream, TOKEN))
        body = bytearray()
        got = asyncio.Event()

        async def receive() -> dict[str, Any]:
            await asyncio.sleep(30)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                await stream.publish("playback", "seek", {"frame": 77})
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if b"\n\n" in body.split(b"retry: 1000\n\n", 1)[-1]:
                    got.set()

        scope = {
            "type": "http",
            "method": "GET",
            "path": "/events",
            "raw_path": b"/events",
            "query_string": b"",
            "headers": [],
            "scheme": "http",
            "server": ("127.0.0.1", 8123),
            "client": ("127.0.0.1", 5555),
            "http_version": "1.1",
            "root_path": "",
        }
        task = asyncio.ensure_future(app(scope, receive, send))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(3):  # without the fix, only keep-alives would follow
                await got.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await stream.close()
        await adb.close()
        return bytes(body)

    body = asyncio.run(go())
    first = body.split(b"retry: 1000\n\n", 1)[-1]
    assert first.startswith(b"id: 2\nevent: playback\n"), body
    assert b'"frame":77' in first


def test_events_resume_from_last_event_id_over_http(demo_dir: Path) -> None:
    """The real route: ``Last-Event-ID: 2`` gives event 3 first."""
    project = ProjectDir(demo_dir).load()

    async def publish() -> None:
        adb = await AsyncDB.open(demo_dir / ".reelcut")
        stream = EventStream(adb)
        await stream.start()
        for i in range(3):
            await stream.publish("playback", "frame", {"frame": i})
        await stream.close()
        await adb.close()

    asyncio.run(publish())

    async def go() -> list[str]:
        import httpx2 as httpx

        adb = await AsyncDB.open(demo_dir / ".reelcut")
        stream = EventStream(adb)
        await stream.start()
        state = PreviewState(demo_dir, lambda: project, stream, TOKEN)
        server = PreviewServer(state, port=0)  # a real server: SSE needs real streaming
        base = (await server.start()).split("?")[0]
        lines: list[str] = []
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            client.cookies.set(COOKIE, TOKEN)
            async with client.stream("GET", "/events", headers={"last-event-id": "2"}) as res:
                assert res.status_code == 200
                assert res.headers["content-type"].startswith("text/event-stream")
                async for line in res.aiter_lines():
                    lines.append(line)
                    if line.startswith("data:"):
                        break
        await server.stop()
        await stream.close()
        await adb.close()
        return lines

    lines = asyncio.run(asyncio.wait_for(go(), 20))
    assert "id: 3" in lines and "event: playback" in lines
    assert json.loads(lines[-1][len("data: ") :])["data"] == {"frame": 2}


def test_reelcut_serve_prints_a_url_that_works_and_stops_on_sigterm(demo_dir: Path) -> None:
    import http.cookiejar
    import re
    import signal
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "serve", str(demo_dir), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+/\?token=\S+", line)
        assert match, line
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(match.group(), timeout=10).read()
        assert b'<div id="root"' in page or b"not built" in page
        base = match.group().split("?")[0]
        data = json.loads(opener.open(base + "project.json", timeout=10).read())
        assert data["name"] == "reelcut demo"
        # A request refused for a bad token, and one with the token in the query, again.
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(base + "project.json?token=nope", timeout=10)
        opener.open(match.group(), timeout=10).read()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    token = match.group().split("token=")[1]
    assert token not in out and token not in err  # printed once, in the URL line; never logged


def test_a_taken_port_falls_back_to_a_free_one_and_an_explicit_one_is_a_clear_error(
    demo_dir: Path,
) -> None:
    import socket as socketlib

    from engine.errors import ReelcutError
    from engine.session import Session
    from engine.workspace import Workspace
    from tui.serve_cli import DEFAULT_PORT, start_preview

    blocker = socketlib.socket()
    blocker.setsockopt(socketlib.SOL_SOCKET, socketlib.SO_REUSEADDR, 1)
    try:
        blocker.bind(("127.0.0.1", DEFAULT_PORT))
        blocker.listen(1)
    except OSError:
        pass  # already taken by something else: the point stands

    async def go() -> None:
        with Session(demo_dir) as session:
            workspace = Workspace(demo_dir)
            await workspace.start_jobs(session.project)
            try:
                server = await start_preview(session, workspace)  # the default port is taken
                assert server.port != DEFAULT_PORT
                await server.stop()
                with pytest.raises(ReelcutError, match="choose another --port"):
                    await start_preview(session, workspace, port=DEFAULT_PORT)
            finally:
                await workspace.close()

    try:
        asyncio.run(go())
    finally:
        blocker.close()
