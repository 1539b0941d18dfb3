"""The agent's SQL (threads, messages, runs, run changesets, usage): plain functions on a
connection inside the caller's transaction (`AsyncDB.write` / `read`), like `engine.jobs.store`.

A run's status change publishes a ``run`` event through the trigger of migration 0006, so the
event and the status commit together.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from engine.agent.pricing import Usage
from engine.errors import ReelcutError

TERMINAL = ("complete", "error", "cancelled")
JOB_KIND = "agent.run"  # the job an agent run is worked as


class NoSuchRun(ReelcutError):
    pass


@dataclass(frozen=True)
class Run:
    id: int
    thread_id: int
    job_id: int | None
    status: str
    model: str
    thinking_level: str | None
    auto_apply: bool
    max_steps: int
    steps: int
    workflow_path: str | None
    workflow_name: str | None
    workflow_sha256: str | None
    stopped: str | None
    error: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    settings: dict[str, Any]
    """What the run was started with and keeps using: the system instruction's text, the
    temperature, thinking level, model, step limit, the workflow's path, name and sha256 (empty
    for runs stored before the settings were kept)."""

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


_RUN_COLUMNS = (
    "id, thread_id, job_id, status, model, thinking_level, auto_apply, max_steps, steps, "
    "workflow_path, workflow_name, workflow_sha256, stopped, error, created_at, started_at, "
    "finished_at, settings"
)


def _run(row: tuple[Any, ...]) -> Run:
    values = list(row)
    values[6] = bool(values[6])
    values[17] = json.loads(values[17] or "{}")
    return Run(*values)


def create_thread(conn: sqlite3.Connection, title: str) -> int:
    cur = conn.execute(
        "INSERT INTO threads (title, created_at) VALUES (?, ?)", (title[:200], time.time())
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def thread_exists(conn: sqlite3.Connection, thread_id: int) -> bool:
    return conn.execute("SELECT 1 FROM threads WHERE id = ?", (thread_id,)).fetchone() is not None


def threads(conn: sqlite3.Connection) -> list[tuple[int, str, float]]:
    return conn.execute("SELECT id, title, created_at FROM threads ORDER BY id").fetchall()


def add_message(
    conn: sqlite3.Connection,
    thread_id: int,
    role: str,
    parts: list[dict[str, Any]],
    *,
    run_id: int | None = None,
    step: int | None = None,
) -> int:
    cur = conn.execute(
        "INSERT INTO messages (thread_id, run_id, step, role, parts, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (thread_id, run_id, step, role, json.dumps(parts, separators=(",", ":")), time.time()),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def contents(conn: sqlite3.Connection, thread_id: int) -> list[dict[str, Any]]:
    """The thread as Gemini ``contents``, oldest first, in a shape the API accepts whatever
    happened to the runs that wrote it: consecutive messages of one role (a run that ended
    before the model answered, then the next run's message) become one turn, and function calls
    that were never answered (a run stopped between the model's turn and the tools' results)
    are left out, with a turn they leave empty."""
    rows = conn.execute(
        "SELECT role, parts FROM messages WHERE thread_id = ? ORDER BY id", (thread_id,)
    ).fetchall()
    turns: list[dict[str, Any]] = []
    for role, parts in rows:
        if turns and turns[-1]["role"] == role:
            turns[-1]["parts"].extend(json.loads(parts))
        else:
            turns.append({"role": role, "parts": json.loads(parts)})
    out: list[dict[str, Any]] = []
    for i, turn in enumerate(turns):
        if turn["role"] == "model" and any("function_call" in p for p in turn["parts"]):
            following = turns[i + 1]["parts"] if i + 1 < len(turns) else []
            if not any("function_response" in p for p in following):
                turn = {**turn, "parts": [p for p in turn["parts"] if "function_call" not in p]}
        if turn["role"] == "user" and i > 0:
            prior = out[-1]["parts"] if out and out[-1]["role"] == "model" else []
            if not any("function_call" in p for p in prior):
                parts = [p for p in turn["parts"] if "function_response" not in p]
                turn = {**turn, "parts": parts}
        if turn["parts"]:
            if out and out[-1]["role"] == turn["role"]:
                out[-1] = {**out[-1], "parts": out[-1]["parts"] + turn["parts"]}
            else:
                out.append(turn)
    return out


def unanswered(conn: sqlite3.Connection, run_id: int, step: int) -> list[dict[str, Any]] | None:
    """The parts of the run's model turn ``step`` when it asked for function calls and their
    results were never stored (its worker stopped mid-tool); else None."""
    rows = conn.execute(
        "SELECT role, parts FROM messages WHERE run_id = ? AND step = ? ORDER BY id",
        (run_id, step),
    ).fetchall()
    if len(rows) != 1 or rows[0][0] != "model":
        return None
    parts: list[dict[str, Any]] = json.loads(rows[0][1])
    return parts if any("function_call" in p for p in parts) else None


def recorded_bytes(conn: sqlite3.Connection, run_id: int) -> int:
    """What the run has stored so far: its messages and its tool calls' audit rows."""
    row = conn.execute(
        "SELECT (SELECT COALESCE(SUM(length(parts)), 0) FROM messages WHERE run_id = ?) + "
        "(SELECT COALESCE(SUM(length(args_json) + length(audit_json) "
        "+ COALESCE(length(result_json), 0)), 0) FROM tool_events WHERE run_id = ?)",
        (run_id, run_id),
    ).fetchone()
    return int(row[0])


def messages(conn: sqlite3.Connection, thread_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, run_id, step, role, parts, created_at FROM messages WHERE thread_id = ? "
        "ORDER BY id",
        (thread_id,),
    ).fetchall()
    return [
        {"id": i, "run": r, "step": s, "role": role, "parts": json.loads(p), "at": at}
        for i, r, s, role, p, at in rows
    ]


def create_run(
    conn: sqlite3.Connection,
    thread_id: int,
    *,
    model: str,
    thinking_level: str | None,
    auto_apply: bool,
    max_steps: int,
    workflow: tuple[str, str, str] | None,
    settings: dict[str, Any] | None = None,
) -> int:
    path, name, digest = workflow if workflow is not None else (None, None, None)
    cur = conn.execute(
        "INSERT INTO runs (thread_id, model, thinking_level, auto_apply, max_steps, "
        "workflow_path, workflow_name, workflow_sha256, created_at, settings) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            thread_id,
            model,
            thinking_level,
            int(auto_apply),
            max_steps,
            path,
            name,
            digest,
            time.time(),
            json.dumps(settings or {}, separators=(",", ":")),
        ),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def set_job(conn: sqlite3.Connection, run_id: int, job_id: int) -> None:
    conn.execute("UPDATE runs SET job_id = ? WHERE id = ?", (job_id, run_id))


def get_run(conn: sqlite3.Connection, run_id: int) -> Run:
    row = conn.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise NoSuchRun(f"no run {run_id}; `reelcut chat DIR --list` shows the runs")
    return _run(row)


def runs(conn: sqlite3.Connection, thread_id: int | None = None) -> list[Run]:
    if thread_id is None:
        rows = conn.execute(f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY id").fetchall()
    else:
        rows = conn.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE thread_id = ? ORDER BY id", (thread_id,)
        ).fetchall()
    return [_run(r) for r in rows]


def set_status(
    conn: sqlite3.Connection,
    run_id: int,
    status: str,
    *,
    error: str | None = None,
    stopped: str | None = None,
) -> bool:
    """Set a run's status; a run that has ended keeps its end (returns False then)."""
    now = time.time()
    cur = conn.execute(
        "UPDATE runs SET status = ?, error = ?, stopped = COALESCE(?, stopped), "
        "started_at = CASE WHEN ? = 'running' THEN COALESCE(started_at, ?) ELSE started_at END, "
        "finished_at = CASE WHEN ? IN ('complete', 'error', 'cancelled') THEN ? ELSE NULL END "
        "WHERE id = ? AND status NOT IN ('complete', 'error', 'cancelled')",
        (status, error, stopped, status, now, status, now, run_id),
    )
    return cur.rowcount > 0


def step_done(conn: sqlite3.Connection, run_id: int, step: int) -> None:
    conn.execute("UPDATE runs SET steps = MAX(steps, ?) WHERE id = ?", (step, run_id))


def add_changeset(conn: sqlite3.Connection, run_id: int, changeset_id: int) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO run_changesets (run_id, changeset_id) VALUES (?, ?)",
        (run_id, changeset_id),
    )


def changesets(conn: sqlite3.Connection, run_id: int) -> list[int]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT changeset_id FROM run_changesets WHERE run_id = ? ORDER BY changeset_id",
            (run_id,),
        )
    ]


def add_usage(
    conn: sqlite3.Connection,
    run_id: int,
    step: int,
    model: str,
    usage: Usage,
    cost_usd: float | None,
    meta: dict[str, Any],
) -> None:
    conn.execute(
        "INSERT INTO usage_records (run_id, step, model, prompt_tokens, output_tokens, "
        "cached_tokens, thought_tokens, cost_usd, meta, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            run_id,
            step,
            model,
            usage.prompt,
            usage.output,
            usage.cached,
            usage.thoughts,
            cost_usd,
            json.dumps(meta, separators=(",", ":")),
            time.time(),
        ),
    )


def run_usage(conn: sqlite3.Connection, run_id: int) -> tuple[Usage, float | None, int]:
    """(total usage, total cost (None if any call had no price), number of calls)."""
    row = conn.execute(
        "SELECT COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(output_tokens), 0), "
        "COALESCE(SUM(cached_tokens), 0), COALESCE(SUM(thought_tokens), 0), SUM(cost_usd), "
        "COUNT(*), COUNT(cost_usd) FROM usage_records WHERE run_id = ?",
        (run_id,),
    ).fetchone()
    return _totals(row)


def thread_usage(conn: sqlite3.Connection, thread_id: int) -> tuple[Usage, float | None, int]:
    """`run_usage` summed over every run of a thread."""
    row = conn.execute(
        "SELECT COALESCE(SUM(u.prompt_tokens), 0), COALESCE(SUM(u.output_tokens), 0), "
        "COALESCE(SUM(u.cached_tokens), 0), COALESCE(SUM(u.thought_tokens), 0), "
        "SUM(u.cost_usd), COUNT(u.id), COUNT(u.cost_usd) "
        "FROM usage_records u JOIN runs r ON r.id = u.run_id WHERE r.thread_id = ?",
        (thread_id,),
    ).fetchone()
    return _totals(row)


def _totals(row: tuple[Any, ...]) -> tuple[Usage, float | None, int]:
    usage = Usage(row[0], row[1], row[2], row[3])
    # No calls cost nothing; any call without a price makes the total unknown.
    total = (row[4] or 0.0) if row[5] == row[6] else None
    return usage, total, row[5]
