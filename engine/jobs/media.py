"""Media derivative jobs: a proxy, a thumbnail strip and waveform peaks for each imported asset.

Each derivative is one job of its own kind (``proxy``, ``thumbs``, ``peaks``) whose payload
names the asset; the idempotency key is the derivative's file name, which holds the asset's
sha256 and the recipe version, so queueing twice gives one job and a recipe change builds
anew. `queue_derivatives` queues what is missing or stale (checked on disk, never trusted from
the queue); the handlers call `engine.media.derivatives.build_derivative`, which writes to a
temp name and renames on success, reports ffmpeg's progress and kills ffmpeg's process group
if the job is cancelled.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from typing import Any

from engine.jobs import store
from engine.jobs.runner import Handler, JobContext, JobFailed
from engine.jobs.store import Job
from engine.media import derivatives
from engine.model import Project
from engine.projectdir import ProjectDir
from engine.state.adb import AsyncDB

KINDS = ("proxy", "thumbs", "peaks")
MAX_ATTEMPTS = 2


def limits() -> dict[str, int]:
    """Concurrency per kind, sized to the machine: proxies are the heavy ones (ffmpeg uses
    several threads each), thumbnails and peaks are light and short."""
    cores = os.cpu_count() or 1
    return {"proxy": max(1, cores // 2), "thumbs": 1, "peaks": max(1, min(2, cores // 2))}


def handlers() -> dict[str, Handler]:
    return {kind: _handler(kind) for kind in KINDS}


def _handler(kind: str) -> Handler:
    async def build(ctx: JobContext) -> dict[str, Any]:
        asset_id = ctx.job.payload.get("asset")
        project = await asyncio.to_thread(ProjectDir(ctx.root).load)
        asset = next((a for a in project.assets if a.id == asset_id), None)
        if asset is None:
            raise JobFailed(f"asset {asset_id} is no longer in the project")
        path = await derivatives.build_derivative(
            ctx.root, asset, kind, project.rate, on_progress=ctx.report
        )
        return {"asset": asset.id, "path": path.relative_to(ctx.root).as_posix()}

    return build


def wanted(
    root: Any, project: Project, asset_ids: set[str] | None = None
) -> list[tuple[str, str, str]]:
    """``(kind, asset id, key)`` for every derivative that is missing or stale on disk."""
    out = []
    for asset in project.assets:
        if asset_ids is not None and asset.id not in asset_ids:
            continue
        for kind, path in derivatives.derivative_paths(root, asset, project.rate).items():
            if not derivatives.is_fresh(path):
                out.append((kind, asset.id, path.name))
    return out


async def queue_derivatives(
    adb: AsyncDB, root: Any, project: Project, asset_ids: set[str] | None = None
) -> list[Job]:
    """Queue the derivatives of ``project``'s assets (or of ``asset_ids``) that are missing or
    stale; return the jobs newly queued. The caller tells its event stream (`committed`)."""
    todo = await asyncio.to_thread(wanted, root, project, asset_ids)
    if not todo:
        return []

    def go(conn: sqlite3.Connection) -> list[Job]:
        queued = []
        for kind, asset_id, key in todo:
            job, new = store.enqueue(
                conn, kind, {"asset": asset_id}, key=key, max_attempts=MAX_ATTEMPTS, again=True
            )
            if new:
                queued.append(job)
        return queued

    return await adb.write(go)
