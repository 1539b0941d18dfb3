"""Takes land off the workers' path, together: one project write for the takes that finish close
together.

A line's job ends when its audio is stored in ``assets/``; its landing (`engine.ops.LandTake`)
is handed to the project's `Lander`, and the worker's slot speaks the next line at once. The
lander lands everything waiting as ONE undo step with one write of project.json and one commit
(`Session.apply_each`), then the waveforms of what landed in one transaction. While it writes,
and for the rest of `GAP` after its write began, the next takes gather: the first take lands
alone and at once, and the takes that follow land a batch at most every `GAP` seconds (each
batch one undo step). ``bench/bench_tts.py`` measures it: with a landing per take on the
worker's path (each its own project write, undo step and derivative transaction) a 50-line
pass took 1.5-2x the time of the same espeak-ng commands run on their own; landing whatever
had gathered when the last write ended still took ~39 writes for 50 lines, with `GAP` ~6.

Nothing is lost when the process dies between a job's end and its landing: the job's result
holds the take (hash, length), and the next pass lands it from there without speaking it
again (`engine.tts.plan`, the ``land`` list). A landing the project refuses (its placeholder
was undone meanwhile) is told on the event stream (``job`` / ``not_placed``) and leaves the take
in the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import ReelcutError
from engine.fsio.durable import fsync_dir
from engine.ops import LandTake

if TYPE_CHECKING:
    from engine.workspace import Workspace


GAP = 0.2
"""Seconds from the start of one batch's write to the next batch's: the takes that finish
meanwhile gather and land together. The first take of a pass lands at once; a take lands at
most this much later than it could have (`Lander.settled` cuts the wait short: a pass that
ends, a status asked for)."""


@dataclass(frozen=True)
class Landing:
    """A take to land, and the job that made it (for the event a refusal sends)."""

    op: LandTake
    job: int
    line: str


@dataclass(eq=False)
class Lander:
    """The landings of one open project (see the module's docstring)."""

    ws: Workspace
    _waiting: list[Landing] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    landed: int = 0
    """Takes landed so far (each batch adds its count)."""
    batches: int = 0
    """Project writes the landings took."""

    _hurry: asyncio.Event = field(default_factory=asyncio.Event)
    """Set by `settled`: the batch gathering now lands at once, without waiting out `GAP`."""
    _syncing: dict[str, asyncio.Future[bool]] = field(default_factory=dict)
    """The fsync of each waiting take's file, started when it was handed over (`land`)."""

    def land(self, landing: Landing) -> None:
        """Queue ``landing``; it lands with the next batch. Its file is fsynced from now, on
        a thread, while the batch gathers: a batch's write then waits for the last few takes'
        fsyncs instead of all of them one after the other (the last batch of a pass had up to
        a dozen, ~2 ms each, after the last line was spoken)."""
        self._waiting.append(landing)
        name = f"{landing.op.hash}.{landing.op.ext}"
        if name not in self._syncing:
            loop = asyncio.get_running_loop()
            path = self.ws.root / "assets" / name
            self._syncing[name] = loop.run_in_executor(None, sync_file, path)
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._drain())

    async def settled(self) -> None:
        """Until nothing handed to this lander is still waiting to land (what is gathering
        lands now)."""
        while self._task is not None and not self._task.done():
            self._hurry.set()
            with contextlib.suppress(Exception):
                await asyncio.shield(self._task)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            batch, self._waiting = self._waiting, []
            began = loop.time()
            await self._land(batch)
            # The takes that finish within GAP of this batch land with the next one.
            rest = began + GAP - loop.time()
            if rest > 0 and not self._hurry.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._hurry.wait(), rest)
        self._hurry.clear()

    async def _land(self, batch: list[Landing]) -> None:
        ws = self.ws
        names = [f"{b.op.hash}.{b.op.ext}" for b in batch]
        try:
            gone = await self._synced(names)
        except OSError:  # assets/ cannot be made durable now: the next pass lands them
            gone = set(names)
        ops: list[Any] = [b.op for b in batch if f"{b.op.hash}.{b.op.ext}" not in gone]
        lost = [(b.op, "its file left assets/ before it landed") for b in batch if b.op not in ops]
        try:
            async with ws.writing:
                change, refused = await asyncio.to_thread(
                    lambda: ws.session.apply_each(ops, author="tts")
                )
        except (ReelcutError, OSError) as exc:  # the file changed outside: none landed
            change, refused = None, [(op, str(exc)) for op in ops]
        refused += lost
        self.batches += change is not None
        self.landed += len(batch) - len(refused)
        if ws.events is not None:
            why = {id(op): reason for op, reason in refused}
            for b in batch:
                if id(b.op) in why:
                    await ws.events.publish(
                        "job",
                        "not_placed",
                        {
                            "job": b.job,
                            "kind": "tts",
                            "line": b.line,
                            "take": b.op.take,
                            "error": why[id(b.op)],
                            "message": "made, not placed",
                        },
                    )
        if change is not None and ws.db is not None:
            await _queue_waveforms(ws, {b.op.take for b in batch})

    async def _synced(self, names: list[str]) -> set[str]:
        """Until the files ``names`` in ``assets/`` and the folder are on disk (see
        `sync_assets`); the names that are not there."""
        syncs = {n: self._syncing.pop(n) for n in dict.fromkeys(names) if n in self._syncing}
        rest = [n for n in names if n not in syncs]
        found = await asyncio.gather(*syncs.values(), return_exceptions=True)
        gone = {n for n, ok in zip(syncs, found, strict=True) if ok is False}
        failed = [e for e in found if isinstance(e, BaseException)]
        if failed:
            raise failed[0]
        return gone | await asyncio.to_thread(sync_assets, self.ws.root, rest)


async def _queue_waveforms(ws: Workspace, takes: set[str]) -> None:
    from engine.jobs.media import queue_derivatives

    assert ws.db is not None
    with contextlib.suppress(ReelcutError):
        project = ws.project
        ids = {
            a.id for a in project.assets if a.generation is not None and a.generation.take in takes
        }
        if await queue_derivatives(ws.db, ws.root, project, ids) and ws.events is not None:
            ws.events.committed()


def sync_assets(root: Path, names: list[str]) -> set[str]:
    """fsync the takes' files in ``assets/`` and the folder once: on disk before project.json
    names them (the workers wrote them without, see `engine.tts.jobs._store_wav`). Returns
    the names that are not there."""
    assets = root / "assets"
    gone = {name for name in names if not sync_file(assets / name)}
    fsync_dir(assets)
    return gone


def sync_file(path: Path) -> bool:
    """fsync ``path``; False when it is not there."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


_LANDERS: weakref.WeakKeyDictionary[Workspace, Lander] = weakref.WeakKeyDictionary()


def lander(ws: Workspace) -> Lander:
    """The open project's lander (one per door)."""
    got = _LANDERS.get(ws)
    if got is None:
        got = _LANDERS[ws] = Lander(ws)
    return got


async def settled(ws: Workspace) -> None:
    """Until the takes ``ws``'s jobs made have landed (or been refused)."""
    got = _LANDERS.get(ws)
    if got is not None:
        await got.settled()
