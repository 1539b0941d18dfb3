"""The one supervisor of every ffmpeg and ffprobe the engine runs, with a sync and an async face.

    run(["ffprobe", ...], what=..., timeout=...)               import, probe, CLI, threads
    await run_async(["ffmpeg", ...], what=..., timeout=...)    job handlers on the event loop

The two faces differ only in how they wait: starting the child, feeding its pipes to the run's
`engine.media.ffmpeg_call.Call` and stopping it are here, once per face; everything else is one
definition, in `engine.media.ffmpeg_call` (output, progress, the result or the one-line error,
no I/O) and `engine.media.ffmpeg_command` (the binary, the arguments, the environment):

- **the child**: stdin is /dev/null, stdout and stderr are pipes, and it starts a session of its
  own (``start_new_session``): its own process group, no controlling terminal, so the terminal's
  Ctrl+C or hang-up never reaches it and it can never read the tty.
- **stopping**: on timeout, cancellation, Ctrl+C or an exception from a callback, our ends of its
  pipes are closed, the group gets SIGTERM (ffmpeg closes its outputs and exits), then SIGKILL
  after `TERM_GRACE` for whatever is left; the process is reaped and the group empty (or
  `GROUP_GRACE` passed) before the error propagates. A job handler's ``CancelledError`` never
  leaves an ffmpeg running.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence

from engine.media.ffmpeg_call import Call, Completed, ProgressCallback, StdoutCallback

PROBE_TIMEOUT = 30.0
FFMPEG_TIMEOUT = 600.0
TERM_GRACE = 2.0
"""Seconds between SIGTERM and SIGKILL to a stopped run's process group."""
REAP_GRACE = 5.0
"""Async face: how long to wait for the reaping after SIGKILL (see `_stop_async`)."""
GROUP_GRACE = 1.0
"""How long a stop then waits for the rest of the group (a wrapper script's children) to be
gone: a signalled process takes a moment to die, and a stop returns once nothing is left."""

_READ_CHUNK = 64 * 1024
_GROUP_POLL = 0.005


# --- the two faces --------------------------------------------------------------------------


def run(
    args: Sequence[str],
    *,
    what: str,
    timeout: float,
    show_as: Mapping[str, str] | None = None,
    duration_s: float | None = None,
    on_progress: ProgressCallback | None = None,
    on_stdout: StdoutCallback | None = None,
) -> Completed:
    """Run ``args`` (program first) to the end, blocking this thread; raise `MediaError` with
    one line if it fails or outlives ``timeout`` seconds.

    ``what`` starts every error line (``"clip.mp4: could not extract its audio"``); ``show_as``
    maps arguments (a temp path) to the names an error should show instead. ``on_progress``
    (ffmpeg only) follows ``-progress pipe:1`` as a fraction of ``duration_s`` (just the final
    1.0 when the duration is unknown); ``on_stdout`` streams standard output; without either it
    is collected into `Completed.stdout`. Callbacks run on this thread; one that raises stops
    the run and its exception propagates.
    """
    call = Call(args, what, timeout, show_as, duration_s, on_progress, on_stdout)
    try:
        proc = subprocess.Popen(
            call.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=call.env,
        )
    except OSError as exc:
        raise call.not_started(exc) from None
    deadline = time.monotonic() + timeout
    try:
        _pump(proc, call, deadline)
        code = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        _stop_sync(proc)
        raise call.timed_out() from None
    except BaseException:
        _stop_sync(proc)
        raise
    finally:
        _close_pipes(proc)
    return call.finish(code)


async def run_async(
    args: Sequence[str],
    *,
    what: str,
    timeout: float,
    show_as: Mapping[str, str] | None = None,
    duration_s: float | None = None,
    on_progress: ProgressCallback | None = None,
    on_stdout: StdoutCallback | None = None,
) -> Completed:
    """`run` for the event loop: the same arguments, result and errors. Callbacks run on the
    loop. When the awaiting task is cancelled, the process group is stopped and the process
    reaped before the ``CancelledError`` propagates (a second cancel meanwhile waits for that
    too)."""
    call = Call(args, what, timeout, show_as, duration_s, on_progress, on_stdout)
    loop = asyncio.get_running_loop()
    try:
        transport, protocol = await loop.subprocess_exec(
            lambda: _Protocol(call, loop),
            *call.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=call.env,
        )
    except OSError as exc:
        raise call.not_started(exc) from None
    timer = asyncio.timeout(timeout)
    try:
        async with timer:
            await protocol.finished
        code = transport.get_returncode()
        assert code is not None  # finished: exited and both pipes closed
    except TimeoutError:
        if not timer.expired():  # a callback's own TimeoutError
            await _stop_async(transport, protocol)
            raise
        if await _stop_async(transport, protocol):
            raise asyncio.CancelledError from None
        raise call.timed_out() from None
    except BaseException:
        await _stop_async(transport, protocol)
        raise
    finally:
        transport.close()
    return call.finish(code)


# --- what both faces share: the process group -----------------------------------------------


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the process group ``pid`` leads (it started its own session), if any is left.

    After the leader is reaped its pid names the group only while other members remain, and
    Linux does not hand out a pid still in use as a group id, so this never reaches a stranger.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs. Zombies do not count: an orphan's is
    reaped by init when init gets to it, which in a container whose init does not reap is
    never. Without /proc to tell them apart, they do."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        names = os.listdir("/proc")
    except OSError:
        return True
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                # "pid (comm) state ppid pgrp ...": comm may hold anything, ")" included.
                state, _ppid, pgrp = f.read().rsplit(b")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if int(pgrp) == pgid and state != b"Z":
            return True
    return False


# --- the sync face's waiting ----------------------------------------------------------------


def _pump(proc: subprocess.Popen[bytes], call: Call, deadline: float) -> None:
    """Feed ``call`` from both pipes until both are closed; TimeoutExpired at ``deadline``."""
    assert proc.stdout is not None and proc.stderr is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ, call.stdout)
        selector.register(proc.stderr, selectors.EVENT_READ, call.stderr)
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(call.argv, call.timeout)
            for key, _ in selector.select(left):
                data = os.read(key.fd, _READ_CHUNK)
                if data:
                    key.data(data)
                else:
                    selector.unregister(key.fileobj)


def _stop_sync(proc: subprocess.Popen[bytes]) -> None:
    """Stop ``proc``'s group: pipes closed (a writer blocked on a full pipe fails instead of
    waiting for a reader), SIGTERM, SIGKILL after `TERM_GRACE`, reap, wait for the group to
    be empty. Runs to the end even if a second Ctrl+C arrives while it waits."""
    _close_pipes(proc)
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=TERM_GRACE)
    except subprocess.TimeoutExpired:
        pass
    finally:
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + GROUP_GRACE
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(_GROUP_POLL)


def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


# --- the async face's waiting ---------------------------------------------------------------


class _Protocol(asyncio.SubprocessProtocol):
    """Feeds a `Call` from the pipes. ``exited``: the process ended; ``finished``: it ended and
    both pipes closed, or a callback raised (the future then holds its exception)."""

    def __init__(self, call: Call, loop: asyncio.AbstractEventLoop) -> None:
        self._call = call
        self.exited: asyncio.Future[None] = loop.create_future()
        self.finished: asyncio.Future[None] = loop.create_future()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if self.finished.done():
            return
        try:
            (self._call.stdout if fd == 1 else self._call.stderr)(data)
        except Exception as exc:
            self.finished.set_exception(exc)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.finished.done():
            self.finished.set_result(None)


async def _stop_async(transport: asyncio.SubprocessTransport, protocol: _Protocol) -> bool:
    """Stop the run's group as `_stop_sync` does and wait until the process is reaped, even if
    this task is cancelled again meanwhile; return whether it was.

    The wait is bounded even after SIGKILL: a grandchild that left the group could keep the
    transport open for ever (the child watcher reaps the process itself either way).
    """
    for fd in (1, 2):
        pipe = transport.get_pipe_transport(fd)
        if pipe is not None:
            pipe.close()
    pid = transport.get_pid()
    _signal_group(pid, signal.SIGTERM)
    interrupted = await _wait_through_cancels(protocol.exited, TERM_GRACE)
    _signal_group(pid, signal.SIGKILL)
    interrupted |= await _wait_through_cancels(protocol.exited, REAP_GRACE)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GROUP_GRACE
    while _group_alive(pid) and loop.time() < deadline:
        try:
            await asyncio.sleep(_GROUP_POLL)
        except asyncio.CancelledError:
            interrupted = True
    return interrupted


async def _wait_through_cancels(future: asyncio.Future[None], seconds: float) -> bool:
    """Wait up to ``seconds`` for ``future``, not giving up when this task is cancelled;
    return whether it was."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    interrupted = False
    while not future.done() and (left := deadline - loop.time()) > 0:
        try:
            await asyncio.wait([future], timeout=left)
        except asyncio.CancelledError:
            interrupted = True
    return interrupted
