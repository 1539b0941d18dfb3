"""The job queue's SQL: enqueue, claim, heartbeat, progress, finish, cancel, reap.

Every state change is one transaction that also appends its ``job`` event, so the stream and the
table never disagree: the event is written by a trigger (migration 0007) when a statement sets
the ``event`` column to the event's kind, in that same statement. Claiming is ``BEGIN
IMMEDIATE`` + ``UPDATE ... RETURNING`` over the oldest claimable rows, so two workers (in any
processes) never claim the same job. A claim counts an attempt and takes a lease
(``lease_until``) that the worker renews with heartbeats; `reap` re-queues jobs whose lease ran
out (their worker died) or makes them ``dead`` when they have no attempts left. Finishing checks
the lease is still the worker's: a worker that lost its lease (it stalled past it and the job
was re-claimed) cannot overwrite the new attempt.

Statuses: ``queued`` -> ``running`` -> ``succeeded`` | ``failed`` (the handler said the input
can never work) | ``cancelled``; a ``running`` job whose attempt raised goes back to ``queued``
with a back-off, or to ``dead`` with its last error after ``max_attempts``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

Status = Literal["queued", "running", "succeeded", "failed", "cancelled", "dead"]
FINISHED: frozenset[str] = frozenset({"succeeded", "failed", "cancelled", "dead"})

LEASE_SECONDS = 15.0
BACKOFF_SECONDS = (1.0, 5.0, 30.0)

_COLUMNS = (
    "id, kind, payload, status, progress, message, attempts, max_attempts, worker, "
    "lease_until, heartbeat_at, not_before, cancel_requested, result, error, idempotency_key, "
    "created_at, updated_at, started_at, finished_at"
)


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    payload: dict[str, Any]
    status: Status
    progress: float
    message: str
    attempts: int
    max_attempts: int
    worker: str | None
    lease_until: float | None
    heartbeat_at: float | None
    not_before: float
    cancel_requested: bool
    result: Any
    error: str | None
    idempotency_key: str | None
    created_at: float
    updated_at: float
    started_at: float | None
    finished_at: float | None

    @classmethod
    def of(cls, row: Sequence[Any]) -> Job:
        r = list(row)
        r[2] = {} if r[2] == "{}" else json.loads(r[2])
        r[12] = bool(r[12])
        r[13] = json.loads(r[13]) if r[13] is not None else None
        return cls(*r)

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def brief(self) -> dict[str, Any]:
        """What a job event carries (the triggers of migration 0007 build the same object)."""
        return {
            "job": self.id,
            "kind": self.kind,
            "status": self.status,
            "progress": round(self.progress, 4),
            "message": self.message,
            "attempts": self.attempts,
            "error": self.error,
        }


def _get(conn: sqlite3.Connection, job_id: int) -> Job | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return Job.of(row) if row else None


# -- enqueueing ---------------------------------------------------------------------------------


def enqueue(
    conn: sqlite3.Connection,
    kind: str,
    payload: dict[str, Any],
    *,
    key: str | None = None,
    max_attempts: int = 3,
    again: bool = False,
) -> tuple[Job, bool]:
    """Add a job; return it and whether it is new. With ``key``, a job with the same key that
    is queued, running or succeeded is returned instead (a finished-badly one is re-queued;
    with ``again``, a succeeded one too: its output went missing)."""
    now = time.time()
    if key is not None:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM jobs WHERE idempotency_key = ?", (key,)
        ).fetchone()
        if row is not None:
            old = Job.of(row)
            if old.status in ("queued", "running") or (old.status == "succeeded" and not again):
                return old, False
            row = conn.execute(
                "UPDATE jobs SET status = 'queued', payload = ?, progress = 0, message = '', "
                "attempts = 0, max_attempts = ?, worker = NULL, lease_until = NULL, "
                "not_before = 0, cancel_requested = 0, result = NULL, error = NULL, "
                "updated_at = ?, started_at = NULL, finished_at = NULL, event = 'queued' "
                f"WHERE id = ? RETURNING {_COLUMNS}",
                (json.dumps(payload), max_attempts, now, old.id),
            ).fetchone()
            return Job.of(row), True
    row = conn.execute(
        "INSERT INTO jobs (kind, payload, max_attempts, idempotency_key, created_at, updated_at) "
        f"VALUES (?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
        (kind, json.dumps(payload), max_attempts, key, now, now),
    ).fetchone()
    return Job.of(row), True


# -- working ------------------------------------------------------------------------------------


def claim(
    conn: sqlite3.Connection,
    kinds: Sequence[str],
    worker: str,
    limit: int = 1,
    lease: float = LEASE_SECONDS,
    *,
    ids: Sequence[int] | None = None,
) -> list[Job]:
    """Take up to ``limit`` of the oldest claimable jobs of ``kinds`` for ``worker`` (only
    among ``ids`` when given)."""
    if not kinds or limit <= 0 or (ids is not None and not ids):
        return []
    now = time.time()
    marks = ",".join("?" * len(kinds))
    among = "" if ids is None else f" AND id IN ({','.join('?' * len(ids))})"
    rows = conn.execute(
        f"UPDATE jobs SET status = 'running', worker = ?, lease_until = ?, heartbeat_at = ?, "
        f"attempts = attempts + 1, updated_at = ?, started_at = coalesce(started_at, ?), "
        f"event = 'running' "
        f"WHERE id IN (SELECT id FROM jobs WHERE status = 'queued' AND kind IN ({marks}) "
        f"AND not_before <= ?{among} ORDER BY id LIMIT ?) RETURNING {_COLUMNS}",
        (worker, now + lease, now, now, now, *kinds, now, *(ids or ()), limit),
    ).fetchall()
    return sorted((Job.of(r) for r in rows), key=lambda j: j.id)


def heartbeat(
    conn: sqlite3.Connection,
    job_id: int,
    worker: str,
    progress: tuple[float, str] | None = None,
    lease: float = LEASE_SECONDS,
) -> Literal["ok", "cancel", "lost"]:
    """Renew the lease (and record progress); say whether to go on, stop, or that the lease
    was lost to another worker."""
    now = time.time()
    if progress is None:
        row = conn.execute(
            "UPDATE jobs SET lease_until = ?, heartbeat_at = ? "
            "WHERE id = ? AND worker = ? AND status = 'running' RETURNING cancel_requested",
            (now + lease, now, job_id, worker),
        ).fetchone()
    else:
        fraction, message = progress
        row = conn.execute(
            "UPDATE jobs SET lease_until = ?, heartbeat_at = ?, progress = ?, message = ?, "
            "updated_at = ?, event = 'progress' WHERE id = ? AND worker = ? "
            "AND status = 'running' RETURNING cancel_requested",
            (now + lease, now, min(1.0, max(0.0, fraction)), message, now, job_id, worker),
        ).fetchone()
    if row is None:
        return "lost"
    return "cancel" if row[0] else "ok"


def finish(
    conn: sqlite3.Connection,
    job_id: int,
    worker: str,
    outcome: Literal["succeeded", "failed", "retry", "cancelled", "released"],
    *,
    result: Any = None,
    error: str | None = None,
    backoff: Sequence[float] = BACKOFF_SECONDS,
    message: str | None = None,
    returning: bool = True,
) -> Job | None:
    """Record how an attempt ended; None if the lease is no longer ``worker``'s. With
    ``returning=False`` a success, failure or cancellation is not read back (None either way;
    the runner has no use for the row).

    ``released``: the worker is shutting down; the job goes back to the queue at once and the
    attempt does not count. ``retry``: back to the queue after a back-off, or ``dead`` when
    the attempts are used up."""
    now = time.time()
    if outcome in ("succeeded", "failed", "cancelled"):
        # The common case, in one statement: no read first.
        row = conn.execute(
            "UPDATE jobs SET status = :status, worker = NULL, lease_until = NULL, "
            "result = :result, error = :error, "
            "progress = CASE :status WHEN 'succeeded' THEN 1 ELSE progress END, "
            "message = coalesce(:message, message), not_before = 0, updated_at = :now, "
            "finished_at = :now, event = :status "
            "WHERE id = :id AND status = 'running' AND worker = :worker"
            + (f" RETURNING {_COLUMNS}" if returning else ""),
            {
                "status": outcome,
                "result": json.dumps(result) if result is not None else None,
                "error": error,
                "message": message,
                "now": now,
                "id": job_id,
                "worker": worker,
            },
        ).fetchone()
        return Job.of(row) if row is not None else None
    job = _get(conn, job_id)
    if job is None or job.status != "running" or job.worker != worker:
        return None
    delay = 0.0
    attempts = job.attempts
    if outcome == "released":
        status: Status = "queued"
        attempts -= 1
        event = "released"
    else:
        status = "dead" if job.attempts >= job.max_attempts else "queued"
        delay = backoff[min(job.attempts, len(backoff)) - 1] if backoff else 0.0
        event = "retrying" if status == "queued" else status
    row = conn.execute(
        "UPDATE jobs SET status = :status, worker = NULL, lease_until = NULL, "
        "result = NULL, error = :error, attempts = :attempts, "
        "progress = CASE :status WHEN 'queued' THEN 0 ELSE progress END, "
        "message = CASE :status WHEN 'queued' THEN '' ELSE coalesce(:message, message) END, "
        "not_before = :not_before, updated_at = :now, finished_at = :finished, event = :event "
        f"WHERE id = :id RETURNING {_COLUMNS}",
        {
            "status": status,
            "error": error,
            "attempts": attempts,
            "message": message,
            "not_before": now + delay if status == "queued" else 0,
            "now": now,
            "finished": now if status in FINISHED else None,
            "event": event,
            "id": job_id,
        },
    ).fetchone()
    return Job.of(row)


def request_cancel(conn: sqlite3.Connection, job_id: int) -> Job | None:
    """Cancel a queued job now; ask a running one to stop (its worker notices on its next
    heartbeat, or at once in the same process). Finished jobs are returned unchanged."""
    job = _get(conn, job_id)
    if job is None or job.status in FINISHED:
        return job
    now = time.time()
    if job.status == "queued":
        sql = (
            "UPDATE jobs SET status = 'cancelled', updated_at = ?, finished_at = ?, "
            f"event = 'cancelled' WHERE id = ? RETURNING {_COLUMNS}"
        )
        row = conn.execute(sql, (now, now, job_id)).fetchone()
    else:
        sql = (
            "UPDATE jobs SET cancel_requested = 1, updated_at = ?, event = 'cancelling' "
            f"WHERE id = ? RETURNING {_COLUMNS}"
        )
        row = conn.execute(sql, (now, job_id)).fetchone()
    return Job.of(row)


def abandon(conn: sqlite3.Connection, job_id: int) -> Job | None:
    """A running job whose worker is known to be gone (its process no longer exists): expire
    its lease and reap it now instead of when the lease would have run out."""
    conn.execute("UPDATE jobs SET lease_until = 0 WHERE id = ? AND status = 'running'", (job_id,))
    reap(conn)
    return _get(conn, job_id)


RETRYABLE: frozenset[str] = frozenset({"failed", "dead", "cancelled"})


def retry(conn: sqlite3.Connection, job_id: int) -> tuple[Job | None, bool]:
    """Queue a failed, dead or cancelled job again with a fresh count of attempts; return it
    and whether it was queued. Any other job comes back unchanged (None if there is none)."""
    job = _get(conn, job_id)
    if job is None or job.status not in RETRYABLE:
        return job, False
    row = conn.execute(
        "UPDATE jobs SET status = 'queued', progress = 0, message = '', attempts = 0, "
        "worker = NULL, lease_until = NULL, heartbeat_at = NULL, not_before = 0, "
        "cancel_requested = 0, result = NULL, error = NULL, updated_at = ?, started_at = NULL, "
        f"finished_at = NULL, event = 'queued' WHERE id = ? RETURNING {_COLUMNS}",
        (time.time(), job_id),
    ).fetchone()
    return Job.of(row), True


def expire_lease(conn: sqlite3.Connection, job_id: int, worker: str) -> bool:
    """End the lease of running job ``job_id`` held by ``worker`` now (a worker known to be
    dead: its process is gone), so the next `reap` re-queues it at once instead of when the
    lease would have run out. False when the job is no longer that worker's."""
    cur = conn.execute(
        "UPDATE jobs SET lease_until = 0 WHERE id = ? AND status = 'running' AND worker = ?",
        (job_id, worker),
    )
    return cur.rowcount > 0


def reap(conn: sqlite3.Connection) -> list[Job]:
    """Re-queue (or bury) running jobs whose lease ran out; return them as they now are."""
    now = time.time()
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM jobs WHERE status = 'running' AND lease_until < ?", (now,)
    ).fetchall()
    out = []
    for row in rows:
        job = Job.of(row)
        last = f"worker {job.worker} stopped answering (lease expired)"
        if job.cancel_requested:
            status: Status = "cancelled"
        elif job.attempts >= job.max_attempts:
            status = "dead"
        else:
            status = "queued"
        row = conn.execute(
            "UPDATE jobs SET status = ?, worker = NULL, lease_until = NULL, error = ?, "
            f"updated_at = ?, finished_at = ?, event = ? WHERE id = ? RETURNING {_COLUMNS}",
            (
                status,
                last,
                now,
                now if status in FINISHED else None,
                "reclaimable" if status == "queued" else status,
                job.id,
            ),
        ).fetchone()
        out.append(Job.of(row))
    return out


# -- reading ------------------------------------------------------------------------------------


def get(conn: sqlite3.Connection, job_id: int) -> Job | None:
    return _get(conn, job_id)


def recent(
    conn: sqlite3.Connection, limit: int = 100, statuses: Sequence[str] | None = None
) -> list[Job]:
    if statuses:
        marks = ",".join("?" * len(statuses))
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM jobs WHERE status IN ({marks}) ORDER BY id DESC LIMIT ?",
            (*statuses, limit),
        ).fetchall()
    else:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM jobs ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
    return [Job.of(r) for r in rows]


def of_kind(conn: sqlite3.Connection, kind: str) -> list[Job]:
    """Every job of ``kind``, oldest first (the TTS takes are read this way)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM jobs WHERE kind = ? ORDER BY id", (kind,)
    ).fetchall()
    return [Job.of(r) for r in rows]


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall())


def next_due(conn: sqlite3.Connection, kinds: Sequence[str]) -> float | None:
    """When the earliest backed-off queued job of ``kinds`` becomes claimable."""
    if not kinds:
        return None
    marks = ",".join("?" * len(kinds))
    row = conn.execute(
        f"SELECT min(not_before) FROM jobs WHERE status = 'queued' AND kind IN ({marks})",
        tuple(kinds),
    ).fetchone()
    return float(row[0]) if row and row[0] is not None else None
