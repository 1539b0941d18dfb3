"""`reelcut chat` headless, as a user runs it (a subprocess), against the fake Gemini server:
the answer streams to stdout, tool calls are one line each, the changeset is left for
`reelcut changes`; --jsonl prints the run's events as they come, --json one document at the end;
no key and a bad workflow fail in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.fakes.gemini import FakeGemini, Stream, call, chunk, text, thought, usage_metadata

REELCUT = str(Path(sys.executable).with_name("reelcut"))


def chat(root: Path, fake: FakeGemini | None, *args: str, key: bool = True) -> Any:
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    if fake is not None:
        env["GOOGLE_GEMINI_BASE_URL"] = fake.url
    if key:
        env["GEMINI_API_KEY"] = "test-key"
    return subprocess.run(
        [REELCUT, "chat", str(root), *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_chat_streams_and_leaves_the_changeset_for_review(demo_dir: Path) -> None:
    with FakeGemini() as fake:
        fake.queue(
            Stream(
                [
                    chunk(thought("Thinking about it.")),
                    chunk(
                        call(
                            "text_insert_lines",
                            {"path": "scripts/script.md", "after": 0, "text": "Hi"},
                        )
                    ),
                ],
                usage=usage_metadata(100, 5),
            ),
            Stream(
                [chunk(text("I added ")), chunk(text("a greeting."))], usage=usage_metadata(120, 4)
            ),
        )
        res = chat(demo_dir, fake, "Add a greeting", "--model", "gemini-2.5-flash")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "→ text_insert_lines" in out and "← text_insert_lines: ok (changeset 1)" in out
    assert "I added a greeting." in out
    assert "Thinking about it." not in out  # piped: thoughts left out
    assert "run 1 complete" in out and "2 calls" in out and "$" in out
    assert "changeset 1 waits for review: reelcut changes" in out
    assert not (demo_dir / "scripts/script.md").read_text().startswith("Hi")
    shown = subprocess.run(
        [REELCUT, "changes", str(demo_dir), "show", "1", "--json"], capture_output=True, text=True
    )
    assert shown.returncode == 0 and "scripts/script.md" in shown.stdout
    listed = chat(demo_dir, None, "--list")
    assert listed.returncode == 0, listed.stderr
    assert "thread 1: Add a greeting" in listed.stdout
    assert "run 1: complete (gemini-2.5-flash, Editor, 2 steps, 2 calls" in listed.stdout
    assert "thread 1: Add a greeting  (2 calls, 220 in / 9 out, $0.0001)" in listed.stdout


def test_chat_jsonl_prints_the_events(demo_dir: Path) -> None:
    with FakeGemini() as fake:
        fake.queue(Stream([chunk(text("Hello."))], usage=usage_metadata(10, 1)))
        res = chat(demo_dir, fake, "Say hello", "--jsonl", "--model", "gemini-2.5-flash")
    assert res.returncode == 0, res.stderr
    events = [json.loads(line) for line in res.stdout.splitlines()]
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "pending" and "running" in kinds and kinds[-1] == "complete"
    assert (
        "".join(e["data"].get("text", "") for e in events if e["kind"] == "streaming") == "Hello."
    )
    assert all(e["topic"] == "run" for e in events)


def test_chat_json_is_one_document_with_the_run_its_events_and_cost(demo_dir: Path) -> None:
    with FakeGemini() as fake:
        fake.queue(Stream([chunk(text("Hello."))], usage=usage_metadata(10, 1)))
        res = chat(demo_dir, fake, "Say hello", "--json", "--model", "gemini-2.5-flash")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)  # the whole of stdout is one document
    assert doc["run"]["status"] == "complete" and doc["calls"] == 1
    assert doc["usage"]["prompt"] == 10 and doc["usage"]["output"] == 1
    assert doc["cost_usd"] is not None and doc["changesets"] == []
    kinds = [e["kind"] for e in doc["events"]]
    assert kinds[0] == "pending" and kinds[-1] == "complete"


def test_chat_refuses_without_a_key_or_with_a_bad_workflow(demo_dir: Path) -> None:
    res = chat(demo_dir, None, "hello", key=False)
    assert res.returncode == 13 and res.stderr.count("\n") == 1
    assert "GEMINI_API_KEY" in res.stderr and "Traceback" not in res.stderr
    workflow = demo_dir / "scripts/workflows/editor.json"
    workflow.write_text(workflow.read_text().replace('"name"', '"nmae"'))
    with FakeGemini() as fake:
        res = chat(demo_dir, fake, "hello")
        assert fake.requests == []
    assert res.returncode != 0 and res.stderr.count("\n") == 1
    assert "scripts/workflows/editor.json" in res.stderr and "nmae" in res.stderr


def test_ctrl_c_cancels_the_run(demo_dir: Path) -> None:
    import signal
    import sqlite3

    with FakeGemini() as fake:
        fake.queue(Stream([chunk(text(f"w{i} ")) for i in range(400)], delay=0.02))
        env = dict(os.environ, GOOGLE_GEMINI_BASE_URL=fake.url, GEMINI_API_KEY="test-key")
        proc = subprocess.Popen(
            [REELCUT, "chat", str(demo_dir), "talk", "--model", "gemini-2.5-flash"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        seen = ""
        while "w3 " not in seen:  # streaming has begun
            more = proc.stdout.read(1)
            assert more, f"the run ended before streaming: {seen!r}"
            seen += more
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "cancelled" in out and "Traceback" not in err
    db = sqlite3.connect(demo_dir / ".reelcut" / "state.sqlite")
    try:
        assert db.execute("SELECT status FROM runs").fetchall() == [("cancelled",)]
    finally:
        db.close()


def test_attach_shows_a_run_from_its_start_and_follows_it(demo_dir: Path) -> None:
    """A second client attaches while the run streams: it prints everything from the run's
    first event (no gap), then the rest live, and ends with the run."""

    words = [f"word{i}" for i in range(60)]  # 3 s of streaming
    with FakeGemini() as fake:
        fake.queue(Stream([chunk(text(w + " ")) for w in words], delay=0.05))
        env = dict(os.environ, GOOGLE_GEMINI_BASE_URL=fake.url, GEMINI_API_KEY="test-key")
        first = subprocess.Popen(
            [REELCUT, "chat", str(demo_dir), "talk", "--model", "gemini-2.5-flash"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert first.stdout is not None
        seen = ""
        while "word5 " not in seen:  # the run is streaming
            more = first.stdout.read(1)
            assert more, f"the run ended before streaming: {seen!r}"
            seen += more
        assert "word59" not in seen
        second = subprocess.run(
            [REELCUT, "chat", str(demo_dir), "--attach", "1"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        first.communicate(timeout=60)
    assert second.returncode == 0, second.stderr
    assert " ".join(words) in second.stdout  # from the first word, none missing or repeated
    assert second.stdout.count("word0 ") == 1 and "run 1 complete" in second.stdout
    again = subprocess.run(  # a finished run: printed whole, then the command ends
        [REELCUT, "chat", str(demo_dir), "--attach", "1"], capture_output=True, text=True, env=env
    )
    assert again.returncode == 0 and " ".join(words) in again.stdout


def _state(root: Path, sql: str, *args: Any) -> list[Any]:
    import sqlite3

    conn = sqlite3.connect(root / ".reelcut" / "state.sqlite")
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _streamed(root: Path) -> int:
    """How many streaming events the run has sent (0 before the database is made)."""
    import sqlite3

    if not (root / ".reelcut" / "state.sqlite").exists():
        return 0
    try:
        return int(_state(root, "SELECT count(*) FROM events WHERE kind = 'streaming'")[0][0])
    except sqlite3.OperationalError:  # created, not yet migrated
        return 0


def _killed_mid_run(root: Path, fake: FakeGemini) -> None:
    """`reelcut chat` killed with SIGKILL while the model streams: run 1 is left `running`."""
    import signal
    import time

    fake.queue(Stream([chunk(text(f"slow {i} ")) for i in range(200)], delay=0.05))
    env = {**os.environ, "GOOGLE_GEMINI_BASE_URL": fake.url, "GEMINI_API_KEY": "test-key"}
    proc = subprocess.Popen(
        [REELCUT, "chat", str(root), "talk slowly"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if _streamed(root) >= 2:
                break
        else:
            raise AssertionError("the run never streamed")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert _state(root, "SELECT status FROM runs WHERE id = 1") == [("running",)]


def test_an_orphan_is_left_alone_listed_and_resumed_on_purpose(demo_dir: Path) -> None:
    with FakeGemini() as fake:
        _killed_mid_run(demo_dir, fake)
        asked = len(fake.requests)
        # An unrelated chat runs its own run only.
        fake.queue(Stream([chunk(text("Other done."))]))
        other = chat(demo_dir, fake, "something else")
        assert other.returncode == 0, other.stderr
        assert "Other done." in other.stdout and "run 2 complete" in other.stdout
        assert len(fake.requests) == asked + 1
        assert _state(demo_dir, "SELECT status FROM runs WHERE id = 1") == [("running",)]
        # Listed as an orphan, with the way on.
        listed = chat(demo_dir, None, "--list")
        assert "run 1: running (orphaned)" in listed.stdout, listed.stdout
        assert f"reelcut chat {demo_dir} --attach 1" in listed.stdout
        as_json = json.loads(chat(demo_dir, None, "--list", "--json").stdout)
        assert [r["orphaned"] for r in as_json["runs"]] == [True, False]
        # Resumed on purpose.
        fake.queue(Stream([chunk(text("Resumed."))]))
        resumed = chat(demo_dir, fake, "--attach", "1")
        assert resumed.returncode == 0, resumed.stderr
        assert "resuming orphaned run 1 here" in resumed.stderr
        assert "Resumed." in resumed.stdout and "run 1 complete" in resumed.stdout
    statuses = _state(demo_dir, "SELECT status FROM jobs WHERE kind = 'agent.run' ORDER BY id")
    assert all(s in ("succeeded", "dead", "failed") for (s,) in statuses), statuses


def test_cancelling_a_run_whose_process_was_killed_ends_it_at_once(demo_dir: Path) -> None:
    with FakeGemini() as fake:
        _killed_mid_run(demo_dir, fake)
    res = chat(demo_dir, None, "--cancel", "1")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "run 1: cancelled"
    assert _state(demo_dir, "SELECT status FROM runs WHERE id = 1") == [("cancelled",)]
    events = _state(demo_dir, "SELECT kind FROM events WHERE topic = 'run' AND kind = 'cancelled'")
    assert events == [("cancelled",)]
    again = chat(demo_dir, None, "--cancel", "1", "--json")
    assert json.loads(again.stdout)["run"]["status"] == "cancelled"


def test_the_agent_job_has_ended_when_chat_exits(demo_dir: Path) -> None:
    with FakeGemini() as fake:
        fake.queue(Stream([chunk(text("Hello."))]))
        res = chat(demo_dir, fake, "hello")
    assert res.returncode == 0, res.stderr
    assert _state(demo_dir, "SELECT status, attempts FROM jobs") == [("succeeded", 1)]


def test_list_attach_and_cancel_work_while_project_json_is_broken(demo_dir: Path) -> None:
    with FakeGemini() as fake:
        fake.queue(Stream([chunk(text("Hello."))]))
        assert chat(demo_dir, fake, "hello").returncode == 0
    (demo_dir / "project.json").write_text("{ broken")
    listed = chat(demo_dir, None, "--list")
    assert listed.returncode == 0 and "run 1: complete" in listed.stdout, listed.stderr
    attached = chat(demo_dir, None, "--attach", "1")
    assert attached.returncode == 0 and "Hello." in attached.stdout, attached.stderr
    assert chat(demo_dir, None, "--cancel", "1").stdout.strip() == "run 1: complete"


def test_attaching_to_a_run_another_process_holds_names_it_and_follows(demo_dir: Path) -> None:
    import time

    with FakeGemini() as fake:
        fake.queue(Stream([chunk(text(f"w{i} ")) for i in range(60)], delay=0.05))
        env = {**os.environ, "GOOGLE_GEMINI_BASE_URL": fake.url, "GEMINI_API_KEY": "test-key"}
        first = subprocess.Popen(
            [REELCUT, "chat", str(demo_dir), "talk"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                time.sleep(0.05)
                if _streamed(demo_dir):
                    break
            attached = chat(demo_dir, None, "--attach", "1")
        finally:
            first.communicate(timeout=60)
    assert first.returncode == 0
    assert attached.returncode == 0, attached.stderr
    assert "is being run by" in attached.stderr and f":{first.pid}:" in attached.stderr
    assert "w59" in attached.stdout and "run 1 complete" in attached.stdout
    assert len(fake.requests) == 1  # followed, not run a second time


def test_a_headless_chat_holds_the_project_and_other_commands_go_through_it(
    demo_dir: Path,
) -> None:
    """While `reelcut chat` runs with nobody else holding the project, it is the project's one
    writer: a timeline edit from another terminal goes through its door (not beside it, not
    locked out), and nothing else can take the writer lock."""
    import time

    import pytest

    from engine.errors import ProjectLocked
    from engine.lock import WriterLock

    with FakeGemini() as fake:
        fake.queue(Stream([chunk(text(f"w{i} ")) for i in range(80)], delay=0.05))
        env = {**os.environ, "GOOGLE_GEMINI_BASE_URL": fake.url, "GEMINI_API_KEY": "test-key"}
        running = subprocess.Popen(
            [REELCUT, "chat", str(demo_dir), "talk"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            deadline = time.monotonic() + 30
            while not _streamed(demo_dir) and time.monotonic() < deadline:
                time.sleep(0.05)
            with pytest.raises(ProjectLocked, match="reelcut chat"):
                WriterLock(demo_dir, purpose="test").acquire()
            cut = subprocess.run(
                [REELCUT, "edit", str(demo_dir), "blade", "--at", "45", "--json"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            still_running = running.poll() is None
        finally:
            out, err = running.communicate(timeout=60)
    assert running.returncode == 0, err
    assert still_running  # the edit went in while the chat held the project
    assert cut.returncode == 0, cut.stderr
    assert "cut" in json.loads(cut.stdout)["summary"]
    history = subprocess.run(
        [REELCUT, "history", str(demo_dir), "--json"], capture_output=True, text=True
    )
    assert json.loads(history.stdout)[-1]["author"] == "cli"
    assert "run 1 complete" in out


def test_listing_runs_writes_nothing(demo_dir: Path) -> None:
    """`chat --list` shows a run whose job was cancelled while its worker was gone as
    cancelled, without writing it so: only the door writes the state database."""
    with FakeGemini() as fake:
        _killed_mid_run(demo_dir, fake)
    _write_state(demo_dir, "UPDATE jobs SET status = 'cancelled' WHERE kind = 'agent.run'")
    listed = chat(demo_dir, None, "--list")
    assert listed.returncode == 0, listed.stderr
    assert "run 1: cancelled" in listed.stdout
    assert _state(demo_dir, "SELECT status FROM runs WHERE id = 1") == [("running",)]


def _write_state(root: Path, sql: str) -> None:
    import sqlite3

    conn = sqlite3.connect(root / ".reelcut" / "state.sqlite")
    try:
        conn.execute(sql)
        conn.commit()
    finally:
        conn.close()
