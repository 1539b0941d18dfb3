"""`reelcut mcp` and ``/mcp``, driven by the official SDK's own client: in process, over stdio
(a subprocess, as an MCP client starts it) and over streamable HTTP on the preview server.

Each path lists the tools, reads, makes a write that becomes a changeset waiting for review,
applies it and reads again; the HTTP endpoint refuses a missing token, a foreign Host and a
foreign Origin."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.subscriptions import ResourceUpdated

from engine.projectdir import ProjectDir
from engine.session import Session
from engine.tools import REGISTRY
from mcp_server.server import ReelcutMCP
from mcp_server.tools import EXTRA_TOOLS

REELCUT = str(Path(sys.executable).with_name("reelcut"))
TIMELINE = "reelcut://project/timeline"


def clip_starts(root: Path) -> set[int]:
    return {c.start for t in ProjectDir(root).load().tracks for c in t.clips}


async def write_review_apply(client: Client, root: Path, author: str) -> None:
    """The round every transport must make: list, read, write (a changeset waits), apply."""
    tools = {t.name: t for t in (await client.list_tools()).tools}
    for name, t in REGISTRY.items():  # the registry's tools, schemas as generated there
        if name in EXTRA_TOOLS:  # served by the server's own tool of that name (jobs_wait)
            continue
        assert tools[name].input_schema == t.schema
        assert tools[name].annotations is not None
        assert tools[name].annotations.read_only_hint is (not t.writes)
    assert {"changes_list", "changes_show", "changes_apply", "changes_revert", "jobs_wait"} <= set(
        tools
    )
    read = await client.call_tool("timeline_read", {})
    assert not read.is_error and read.structured_content is not None
    assert read.structured_content["result"]["project"] == "reelcut demo"
    assert 30 not in clip_starts(root)

    cut = await client.call_tool("timeline_blade", {"at": 30})
    assert not cut.is_error, cut.content
    assert cut.structured_content is not None
    cs = cut.structured_content["changeset"]
    assert cut.structured_content["applied"] is False
    assert 30 not in clip_starts(root)  # waits for review: nothing written
    # A second write by the same client joins its changeset.
    more = await client.call_tool(
        "text_insert_lines", {"path": "scripts/script.md", "after": 0, "text": "From MCP"}
    )
    assert more.structured_content is not None and more.structured_content["changeset"] == cs
    shown = await client.call_tool("changes_show", {"id": cs})
    doc = shown.structured_content
    assert doc is not None and doc["author"] == author and doc["status"] == "ready"
    assert {f["path"] for f in doc["files"]} == {"project.json", "scripts/script.md"}
    assert "+From MCP" in doc["diff"]

    applied = await client.call_tool("changes_apply", {"id": cs})
    assert not applied.is_error and applied.structured_content is not None
    assert applied.structured_content["status"] == "applied"
    assert 30 in clip_starts(root)
    assert (root / "scripts" / "script.md").read_text().startswith("From MCP")
    again = await client.read_resource(TIMELINE)
    assert "00:00:01:00" in again.contents[0].text  # type: ignore[union-attr]
    twice = await client.call_tool("changes_apply", {"id": cs})
    assert twice.is_error and "applied" in str(twice.content[0].text)  # type: ignore[union-attr]


def test_in_process_the_round_and_the_resources_and_prompts(demo_dir: Path) -> None:
    async def go() -> None:
        async with Client(ReelcutMCP(demo_dir).server) as client:
            await write_review_apply(client, demo_dir, "mcp:mcp")
            uris = {str(r.uri) for r in (await client.list_resources()).resources}
            assert {
                "reelcut://project/project.json",
                TIMELINE,
                "reelcut://project/changesets",
                "reelcut://project/files/scripts/script.md",
            } <= uris
            listed = json.loads(
                (await client.read_resource("reelcut://project/changesets")).contents[0].text  # type: ignore[union-attr]
            )
            assert listed[0]["status"] == "applied" and listed[0]["author"] == "mcp:mcp"
            prompts = (await client.list_prompts()).prompts
            assert [p.name for p in prompts] == ["Editor"]
            prompt = await client.get_prompt("Editor", {"request": "tighten scene 1"})
            text = prompt.messages[0].content.text  # type: ignore[union-attr]
            assert "editing assistant" in text and text.endswith("tighten scene 1")
            # The playhead the agent reads is the person's (the view is not in project.json).
            with Session(demo_dir) as session:
                session.set_editor(playhead=77)
            read = await client.call_tool("timeline_read", {})
            assert read.structured_content is not None
            assert read.structured_content["result"]["playhead"] == 77
            bad = await client.call_tool("changes_show", {"id": 999})
            assert bad.is_error and "no changeset 999" in bad.content[0].text  # type: ignore[union-attr]

    anyio.run(go)


def test_a_listener_hears_the_timeline_change_whoever_changes_it(demo_dir: Path) -> None:
    """A change made outside the MCP server (here `reelcut edit` in another process) reaches a
    ``subscriptions/listen`` listener of the timeline resource, from the event stream."""

    async def go() -> None:
        async with Client(ReelcutMCP(demo_dir).server) as client:
            async with client.listen(resource_subscriptions=[TIMELINE]) as sub:
                await anyio.sleep(0.3)  # the server's watcher is on the stream
                await anyio.to_thread.run_sync(
                    lambda: subprocess.run(
                        [REELCUT, "edit", str(demo_dir), "blade", "--at", "40"],
                        check=True,
                        capture_output=True,
                    )
                )
                with anyio.fail_after(20):
                    async for event in sub:
                        if isinstance(event, ResourceUpdated) and event.uri == TIMELINE:
                            break
            after = await client.read_resource(TIMELINE)
            assert "00:00:01:10" in after.contents[0].text  # type: ignore[union-attr]

    anyio.run(go)


def test_over_stdio_as_a_client_starts_it(demo_dir: Path) -> None:
    params = StdioServerParameters(
        command=REELCUT, args=["mcp", str(demo_dir)], env=dict(os.environ)
    )

    async def go() -> None:
        async with Client(params) as client:
            await write_review_apply(client, demo_dir, "mcp:mcp")

    anyio.run(go)


def test_stdio_refuses_a_folder_that_is_not_a_project_in_one_line(tmp_path: Path) -> None:
    res = subprocess.run(
        [REELCUT, "mcp", str(tmp_path)], capture_output=True, text=True, timeout=30
    )
    assert res.returncode == 3 and res.stdout == ""
    assert res.stderr.count("\n") == 1 and "project.json" in res.stderr


class Served:
    """`reelcut serve` on a project: its preview server, with /mcp."""

    def __init__(self, root: Path) -> None:
        self.proc = subprocess.Popen(
            [REELCUT, "serve", str(root), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("preview: "), self.proc.stderr.read()  # type: ignore[union-attr]
        url = line.split(" ", 1)[1].strip()
        self.base, _, self.token = url.partition("/?token=")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=20)


@pytest.fixture
def served(demo_dir: Path) -> Any:
    s = Served(demo_dir)
    try:
        yield s
    finally:
        s.stop()


def test_over_http_on_the_preview_server(served: Served, demo_dir: Path) -> None:
    async def go() -> None:
        headers = {"Authorization": f"Bearer {served.token}"}
        async with httpx2.AsyncClient(headers=headers) as http:
            transport = streamable_http_client(served.base + "/mcp", http_client=http)
            async with Client(transport) as client:
                await write_review_apply(client, demo_dir, "mcp:mcp")

    anyio.run(go)


def test_http_refuses_no_token_a_foreign_host_and_a_foreign_origin(served: Served) -> None:
    url = served.base + "/mcp"
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "probe", "version": "1"},
        },
    }
    good = {
        "Authorization": f"Bearer {served.token}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
    }
    with httpx2.Client(timeout=10) as http:
        missing = http.post(url, json=body, headers={**good, "Authorization": ""})
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        wrong = http.post(url, json=body, headers={**good, "Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        cookie_only = http.post(
            url,
            json=body,
            headers={k: v for k, v in good.items() if k != "Authorization"},
            params={"token": served.token},
        )
        assert cookie_only.status_code == 401  # the page's token in a query is not a bearer
        host = http.post(url, json=body, headers={**good, "Host": "evil.example"})
        assert host.status_code == 421
        origin = http.post(url, json=body, headers={**good, "Origin": "http://evil.example"})
        assert origin.status_code == 403
        ok = http.post(url, json=body, headers=good)  # the same request, as it should be
        assert ok.status_code == 200, ok.text
        assert "reelcut" in ok.text


def _job_states(root: Path, ids: list[int]) -> list[str]:
    import sqlite3

    conn = sqlite3.connect(root / ".reelcut" / "state.sqlite")
    try:
        marks = ",".join("?" * len(ids))
        rows = conn.execute(f"SELECT status FROM jobs WHERE id IN ({marks})", ids).fetchall()
    finally:
        conn.close()
    return [r[0] for r in rows]


def test_jobs_report_progress_while_they_run_and_a_cancelled_wait_cancels_them(
    demo_dir: Path,
) -> None:
    """jobs_queue, then jobs_wait with a progress callback: progress arrives while the jobs
    wait and run (`reelcut jobs run` works them, holding the project, and the server's calls go
    through it); a second queue's wait cancelled by the client cancels those jobs."""

    async def go() -> None:
        async with Client(ReelcutMCP(demo_dir).server) as client:
            # Nothing queued yet (the demo's derivatives are not built): queue them.
            queued = await client.call_tool("jobs_queue", {})
            assert queued.structured_content is not None
            ids = [j["id"] for j in queued.structured_content["queued"]]
            assert ids
            seen: list[tuple[float, float | None, str | None]] = []
            first = anyio.Event()

            async def progress(value: float, total: float | None, message: str | None) -> None:
                seen.append((value, total, message))
                first.set()

            result: dict[str, Any] = {}

            async def wait() -> None:
                done = await client.call_tool(
                    "jobs_wait", {"ids": ids, "timeout": 120}, progress_callback=progress
                )
                result.update(done.structured_content or {})

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(wait)
                with anyio.fail_after(20):
                    await first.wait()  # reported while the jobs wait in the queue
                runner = await anyio.open_process([REELCUT, "jobs", str(demo_dir), "run"])
            await runner.wait()
            assert result["finished"] is True, result
            assert {j["status"] for j in result["jobs"]} == {"succeeded"}
            assert seen and all(total == float(len(ids)) for _, total, _ in seen)

            # A wait the client gives up on cancels what it waited for.
            (demo_dir / "proxies").mkdir(exist_ok=True)
            for f in (demo_dir / "proxies").iterdir():
                f.unlink()
            requeued = await client.call_tool("jobs_queue", {})
            assert requeued.structured_content is not None
            again = [j["id"] for j in requeued.structured_content["queued"]]
            assert again
            started = anyio.Event()

            async def note(value: float, total: float | None, message: str | None) -> None:
                started.set()

            async with anyio.create_task_group() as tasks:

                async def doomed() -> None:
                    await client.call_tool("jobs_wait", {"ids": again}, progress_callback=note)

                tasks.start_soon(doomed)
                with anyio.fail_after(20):
                    await started.wait()
                tasks.cancel_scope.cancel()
            with anyio.fail_after(20):
                while set(_job_states(demo_dir, again)) != {"cancelled"}:
                    await anyio.sleep(0.1)

    anyio.run(go)


def test_an_agent_exports_through_mcp_and_waits_for_the_file(
    demo_dir: Path, tmp_path: Path
) -> None:
    """export_start queues the render (no holder: `reelcut jobs run` works the queue, holding
    the project), jobs_wait follows it to the end, and the file holds the frames asked for."""

    async def go() -> None:
        async with Client(ReelcutMCP(demo_dir).server) as client:
            out = tmp_path / "short.mp4"
            started = await client.call_tool("export_start", {"out": str(out), "range": "0-30"})
            assert not started.is_error, started.content
            assert started.structured_content is not None
            job = started.structured_content["id"]
            assert started.structured_content["kind"] == "export"
            bad = await client.call_tool("export_start", {"out": "relative.mp4"})
            assert bad.is_error and "absolute path" in bad.content[0].text  # type: ignore[union-attr]
            runner = await anyio.open_process([REELCUT, "jobs", str(demo_dir), "run"])
            done = await client.call_tool("jobs_wait", {"ids": [job], "timeout": 300})
            await runner.wait()
            assert done.structured_content is not None
            assert done.structured_content["jobs"][0]["status"] == "succeeded", done.content
            probe = subprocess.run(
                ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v",
                 "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", str(out)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            assert probe.stdout.strip() == "30"

    anyio.run(go)


def test_an_agent_hands_the_timeline_to_another_editor_and_back(
    demo_dir: Path, tmp_path: Path
) -> None:
    """timeline_export writes .otio with its warnings; timeline_import brings it back beside
    the cut as one edit (the tracks double); a relative path is refused."""

    async def go() -> None:
        async with Client(ReelcutMCP(demo_dir).server) as client:
            out = tmp_path / "cut.otio"
            written = await client.call_tool("timeline_export", {"out": str(out)})
            assert written.structured_content is not None, written.content
            assert written.structured_content["clips"] == 5
            assert any("Title" in w for w in written.structured_content["warnings"])
            done = await client.call_tool("timeline_import", {"file": str(out)})
            assert done.structured_content is not None, done.content
            assert done.structured_content["replaced"] is False
            assert done.structured_content["relinked"] == {"hash": 5, "name": 0}
            bad = await client.call_tool("timeline_import", {"file": "cut.otio"})
            assert bad.is_error and "absolute path" in bad.content[0].text  # type: ignore[union-attr]
        assert len(ProjectDir(demo_dir).load().tracks) == 8

    anyio.run(go)


def test_tts_start_through_mcp_plans_and_queues_the_scenarios_lines(demo_dir: Path) -> None:
    async def go() -> None:
        async with Client(ReelcutMCP(demo_dir).server) as client:
            plan = await client.call_tool("tts_start", {"provider": "local", "dry_run": True})
            assert plan.structured_content is not None, plan.content
            assert plan.structured_content["generate"] == ["l_1", "l_2", "l_3"]
            assert plan.structured_content["jobs"] == []  # a dry run queues nothing
            queued = await client.call_tool("tts_start", {"provider": "local", "lines": ["l_2"]})
            assert queued.structured_content is not None, queued.content
            assert [j["line"] for j in queued.structured_content["jobs"]] == ["l_2"]
            bad = await client.call_tool("tts_start", {"provider": "loud"})
            assert bad.is_error

    anyio.run(go)


def test_transcribe_start_through_mcp_queues_a_job_per_asset_with_sound(demo_dir: Path) -> None:
    async def go() -> None:
        async with Client(ReelcutMCP(demo_dir).server) as client:
            queued = await client.call_tool("transcribe_start", {"provider": "local"})
            assert queued.structured_content is not None, queued.content
            jobs = queued.structured_content["jobs"]
            assert jobs and all(j["status"] == "queued" for j in jobs)
            listed = await client.call_tool("jobs_list", {})
            assert listed.structured_content is not None
            kinds = {j["id"]: j["kind"] for j in listed.structured_content["jobs"]}
            assert {kinds[j["job"]] for j in jobs} == {"transcribe"}
            bad = await client.call_tool("transcribe_start", {"provider": "loud"})
            assert bad.is_error

    anyio.run(go)
