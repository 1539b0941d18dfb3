"""The preview server under Starlette's TestClient: every guard (Host, token, Origin, body cap),
media names and the Range table, the project, playback reports, and the SSE encoding."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from engine.events import EventStream
from engine.projectdir import ProjectDir
from engine.state.adb import AsyncDB
from preview_web.ranges import MAX_RANGES
from preview_web.server import (
    PreviewServer,
    PreviewState,
    build,
    cookie_name,
    create_app,
    host_allowed,
    new_token,
    sse,
)

TOKEN = "t" * 32
COOKIE = cookie_name(TOKEN)


@pytest.fixture
def served(demo_dir: Path) -> tuple[TestClient, PreviewState, list[int]]:
    frames: list[int] = []
    project = ProjectDir(demo_dir).load()

    async def on_frame(frame: int, hello: bool) -> None:
        frames.append(-frame if hello else frame)  # a hello shows as a negative frame here

    state = PreviewState(demo_dir, lambda: project, None, TOKEN, on_frame)
    client = TestClient(build(state), base_url="http://localhost:8123")
    return client, state, frames


def authed(client: TestClient) -> TestClient:
    client.cookies.set(COOKIE, TOKEN)
    return client


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
    ],
)
def test_host_allow_list(
    served: tuple[TestClient, PreviewState, list[int]], host: str, ok: bool
) -> None:
    client = authed(served[0])
    assert host_allowed(host) is ok
    res = client.get("/project.json", headers={"host": host})
    assert (res.status_code == 200) is ok
    if not ok:
        assert res.status_code == 421


def test_a_request_without_host_is_refused_before_anything_else(
    served: tuple[TestClient, PreviewState, list[int]],
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
    served: tuple[TestClient, PreviewState, list[int]],
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


def test_non_get_needs_a_local_origin_and_a_small_body(
    served: tuple[TestClient, PreviewState, list[int]],
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


def test_the_project_is_served_and_the_page_cannot_change_it(
    served: tuple[TestClient, PreviewState, list[int]], demo_dir: Path
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


@pytest.fixture
def asset(demo_dir: Path) -> tuple[str, bytes]:
    path = next(p for p in (demo_dir / "assets").iterdir() if p.suffix == ".mp4")
    return path.name, path.read_bytes()


@pytest.mark.parametrize(
    "name",
    [
        "x.mp4",
        "%2e%2e%2fproject.json",
        "..%2fproject.json",
        "ABC" + "0" * 61 + ".mp4",
        "0" * 64 + ".mp4",
        "0" * 64 + ".p2r30.mp4",
        "0" * 64 + ".p2r30000d1001.mp4",
        "0" * 64 + ".p1.mp4",  # the old recipe's name
    ],
)
def test_media_names_must_be_content_hashes_that_exist(
    served: tuple[TestClient, PreviewState, list[int]], name: str
) -> None:
    client = authed(served[0])
    assert client.get(f"/assets/{name}").status_code == 404
    assert client.get("/assets/").status_code == 404  # no listing
    assert client.get("/proxies/").status_code == 404


def test_links_out_of_the_project_are_never_served(
    served: tuple[TestClient, PreviewState, list[int]], demo_dir: Path, tmp_path: Path
) -> None:
    """A media name or a manifest that is a symlink (to a file outside, or inside) is 404,
    as is a media folder that is itself a link: the server serves the project's own files."""
    client = authed(served[0])
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the project")
    name = "ab" * 32 + ".mp4"
    (demo_dir / "assets" / name).symlink_to(secret)
    assert client.get(f"/assets/{name}").status_code == 404
    link = demo_dir / "remotion" / "a_99"
    link.mkdir(parents=True)
    (link / "manifest.json").symlink_to(secret)
    assert client.get("/remotion/a_99/manifest.json").status_code == 404
    (demo_dir / "proxies").rename(demo_dir / "proxies-real")
    outside = tmp_path / "proxies"
    outside.mkdir()
    proxy = "cd" * 32 + ".p2r30.mp4"
    (outside / proxy).write_bytes(b"outside")
    (demo_dir / "proxies").symlink_to(outside)
    assert client.get(f"/proxies/{proxy}").status_code == 404


def test_a_proxy_name_is_only_found_under_proxies(
    served: tuple[TestClient, PreviewState, list[int]], asset: tuple[str, bytes], demo_dir: Path
) -> None:
    client = authed(served[0])
    name, data = asset
    assert client.get(f"/proxies/{name}").status_code == 404
    assert client.get(f"/assets/{name}").status_code == 200
    # Proxies are named by the project's rate: <sha>.p<recipe>r<num>[d<den>].mp4.
    sha = name.split(".")[0]
    for proxy in (f"{sha}.p2r30.mp4", f"{sha}.p2r30000d1001.mp4"):
        (demo_dir / "proxies" / proxy).write_bytes(data)
        (demo_dir / "assets" / proxy).write_bytes(data)
        got = client.get(f"/proxies/{proxy}")
        assert (got.status_code, got.content) == (200, data)
        assert client.get(f"/assets/{proxy}").status_code == 404


def test_range_table(
    served: tuple[TestClient, PreviewState, list[int]], asset: tuple[str, bytes]
) -> None:
    client = authed(served[0])
    name, data = asset
    size = len(data)
    url = f"/assets/{name}"

    def get(range_: str | None) -> Any:
        return client.get(url, headers={"range": range_} if range_ else {})

    full = get(None)
    assert full.status_code == 200 and full.content == data
    assert full.headers["accept-ranges"] == "bytes"
    cases = [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, size - 1),
        ("bytes=-100", size - 100, size - 1),
        (f"bytes={size - 1}-{size + 50}", size - 1, size - 1),
        (f"bytes=-{size + 10}", 0, size - 1),
    ]
    for header, first, last in cases:
        res = get(header)
        assert res.status_code == 206, header
        assert res.headers["content-range"] == f"bytes {first}-{last}/{size}", header
        assert res.content == data[first : last + 1], header
    for header in (f"bytes={size}-", f"bytes={size + 5}-{size + 9}", "bytes=-0"):
        res = get(header)
        assert res.status_code == 416, header
        assert res.headers["content-range"] == f"bytes */{size}"
    for header in ("items=0-1", "bytes=5-2", "bytes=a-b", "bytes=0-1;x"):
        res = get(header)
        assert res.status_code == 200 and res.content == data, header  # ignored, per RFC
    multi = get("bytes=0-9, -5, 20-29")
    assert multi.status_code == 206
    kind = multi.headers["content-type"]
    assert kind.startswith("multipart/byteranges; boundary=")
    boundary = kind.split("boundary=")[1]
    parts = multi.content.split(f"--{boundary}".encode())
    bodies = [p.split(b"\r\n\r\n", 1)[1][:-2] for p in parts[1:-1]]
    assert bodies == [data[0:10], data[size - 5 :], data[20:30]]
    assert int(multi.headers["content-length"]) == len(multi.content)
    many = get("bytes=" + ",".join(f"{i}-{i}" for i in range(10_000)))
    assert many.status_code == 416  # more than MAX_RANGES: refused without reading them all
    assert get("bytes=" + ",".join(f"{i}-{i}" for i in range(MAX_RANGES))).status_code == 206
    head = client.head(url, headers={"range": "bytes=0-9"})
    assert head.status_code == 206 and head.content == b""
    assert head.headers["content-length"] == "10"


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
