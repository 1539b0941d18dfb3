"""The one supervisor of every ffmpeg and ffprobe the engine runs, with a sync and an async face.

    run(["ffprobe", ...], what=..., timeout=...)               import, probe, CLI, threads
    await run_async(["ffmpeg", ...], what=..., timeout=...)    job handlers on the event loop

The two faces differ only in how they wait. Everything else is one definition, in `_Call` (which
does no I/O) and the constants below:

- **binary**: looked up on PATH at each call; a missing one is `ToolMissing` (exit 6), one line
  naming the Debian package.
- **arguments**: ffmpeg gets ``-hide_banner -nostdin -nostats -loglevel error`` and ffprobe
  ``-hide_banner -loglevel error`` right after the program; ``-progress pipe:1`` when progress
  is asked for. Each input is named through `input_args`: ``-protocol_whitelist file,pipe`` and
  an absolute path, so a crafted input (an HLS playlist disguised as .mp4, FFmpeg's 2017
  local-file disclosure) cannot open the network or other protocols.
- **environment**: the caller's, without ``FFREPORT`` (ffmpeg would write a log file into the
  working directory, outside the project) and ``AV_LOG_FORCE_COLOR`` (escape codes in errors).
- **the child**: stdin is /dev/null, stdout and stderr are pipes, and it starts a session of its
  own (``start_new_session``): its own process group, no controlling terminal, so the terminal's
  Ctrl+C or hang-up never reaches it and it can never read the tty.
- **stopping**: on timeout, cancellation, Ctrl+C or an exception from a callback, our ends of its
  pipes are closed, the group gets SIGTERM (ffmpeg closes its outputs and exits), then SIGKILL
  after `TERM_GRACE` for whatever is left; the process is reaped and the group empty (or
  `GROUP_GRACE` passed) before the error propagates. A job handler's ``CancelledError`` never
  leaves an ffmpeg running.
- **progress**: ``-progress pipe:1``'s ``out_time_us`` as a fraction of a known duration,
  reported only when it grows, below 1.0 while ffmpeg runs, exactly 1.0 once it exited 0.
- **errors**: stderr's last `STDERR_KEEP` bytes are kept; a failure is one `MediaError` line,
  ``<what>: <the last two stderr lines>``, with ffmpeg's ``[mov @ 0x55...]`` prefixes dropped and
  absolute paths shortened to file names (``what`` says what failed in the user's words).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import selectors
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.errors import MediaError, ReelcutError, ToolMissing

PROTOCOLS = "file,pipe"
PROBE_TIMEOUT = 30.0
FFMPEG_TIMEOUT = 600.0
STDERR_KEEP = 16 * 1024
"""Bytes of stderr kept (the tail): enough for the error lines, bounded whatever ffmpeg says."""
TERM_GRACE = 2.0
"""Seconds between SIGTERM and SIGKILL to a stopped run's process group."""
REAP_GRACE = 5.0
"""Async face: how long to wait for the reaping after SIGKILL (see `_stop_async`)."""
GROUP_GRACE = 1.0
"""How long a stop then waits for the rest of the group (a wrapper script's children) to be
gone: a signalled process takes a moment to die, and a stop returns once nothing is left."""
SUMMARY_CHARS = 300
"""At most this much of stderr goes into an error line (its end, where the reason is)."""

_PREFIX: Mapping[str, tuple[str, ...]] = {
    "ffmpeg": ("-hide_banner", "-nostdin", "-nostats", "-loglevel", "error"),
    "ffprobe": ("-hide_banner", "-loglevel", "error"),
}
_PACKAGES = {"ffmpeg": "ffmpeg", "ffprobe": "ffmpeg"}
_DROPPED_ENV = ("FFREPORT", "AV_LOG_FORCE_COLOR", "AV_LOG_FORCE_256COLOR")
_READ_CHUNK = 64 * 1024
_GROUP_POLL = 0.005
_PROGRESS_CEILING = 0.99
_LINE_MAX = 4096
_CONTEXT = re.compile(r"\[[^\]@]* @ 0x[0-9a-fA-F]+\] ")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

ProgressCallback = Callable[[float], None]
"""``on_progress(fraction)``: 0 < fraction < 1 while ffmpeg runs, never decreasing, 1.0 once
when it exited 0."""
StdoutCallback = Callable[[bytes], None]
"""``on_stdout(chunk)``: standard output as it arrives, in chunks of any size."""


@dataclass(frozen=True)
class Completed:
    """A run that exited 0: its command line, its standard output (empty when ``on_progress``
    or ``on_stdout`` took it) and the tail of its stderr."""

    argv: tuple[str, ...]
    stdout: bytes
    stderr: bytes


def require(program: str) -> str:
    """The path of ``program`` on PATH; `ToolMissing` naming its Debian package if none."""
    path = shutil.which(program)
    if path is None:
        raise _missing(program)
    return path


def local_path(path: Path) -> str:
    """``path`` as an argument ffmpeg can only read as a local file.

    ffmpeg takes ``scene1:take2.mp4`` for protocol ``scene1``; an absolute path starts with ``/``
    and never names a protocol.
    """
    return str(path.absolute())


def input_args(path: Path) -> list[str]:
    """``-protocol_whitelist file,pipe -i <absolute path>``: ``path`` as an ffmpeg input that
    can only be read as a local file."""
    return ["-protocol_whitelist", PROTOCOLS, "-i", local_path(path)]


def stderr_tail(err: bytes, lines: int = 2) -> str:
    """The last ``lines`` of a tool's stderr on one line, without ffmpeg's ``[mov @ 0x55...]``
    context prefixes or control characters."""
    text = [line for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
    return " / ".join(_CONTROL.sub(" ", _CONTEXT.sub("", line)).strip() for line in text[-lines:])


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
    call = _Call(args, what, timeout, show_as, duration_s, on_progress, on_stdout)
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
    call = _Call(args, what, timeout, show_as, duration_s, on_progress, on_stdout)
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


# --- what both faces share ------------------------------------------------------------------


class _Call:
    """One run's command line, environment, output handling and ending, without any I/O: the
    faces feed it what the pipes say and ask it for the result or the error."""

    def __init__(
        self,
        args: Sequence[str],
        what: str,
        timeout: float,
        show_as: Mapping[str, str] | None,
        duration_s: float | None,
        on_progress: ProgressCallback | None,
        on_stdout: StdoutCallback | None,
    ) -> None:
        program = args[0]
        if on_progress is not None and (program != "ffmpeg" or on_stdout is not None):
            raise ValueError(
                "on_progress reads ffmpeg's stdout: not with on_stdout or another tool"
            )
        self.program = program
        self.args = tuple(args)
        self.what = what
        self.timeout = timeout
        self.argv = [
            require(program),
            *_PREFIX.get(program, ()),
            *(("-progress", "pipe:1") if on_progress is not None else ()),
            *args[1:],
        ]
        self.env = _environment()
        self._show_as = dict(show_as or {})
        self._stdout = bytearray()
        self._stderr = bytearray()
        self._progress = _ProgressReader(duration_s, on_progress) if on_progress else None
        self._on_stdout = on_stdout

    def stdout(self, data: bytes) -> None:
        if self._progress is not None:
            self._progress.feed(data)
        elif self._on_stdout is not None:
            self._on_stdout(data)
        else:
            self._stdout += data

    def stderr(self, data: bytes) -> None:
        self._stderr += data
        if len(self._stderr) > 2 * STDERR_KEEP:
            del self._stderr[:-STDERR_KEEP]

    def finish(self, code: int) -> Completed:
        """The result of a run that exited with ``code``, or the one-line error."""
        err = bytes(self._stderr[-STDERR_KEEP:])
        if code != 0:
            raise MediaError(f"{self.what}: {self._summary(err) or self._status(code)}")
        if self._progress is not None:
            self._progress.finished()
        return Completed(tuple(self.argv), bytes(self._stdout), err)

    def timed_out(self) -> MediaError:
        return MediaError(
            f"{self.what}: {self.program} took longer than {self.timeout:g}s and was stopped"
        )

    def not_started(self, exc: OSError) -> ReelcutError:
        if isinstance(exc, FileNotFoundError):  # gone between the lookup and the start
            return _missing(self.program)
        return MediaError(f"{self.what}: could not start {self.program}: {exc.strerror}")

    def _summary(self, err: bytes) -> str:
        tail = stderr_tail(err)
        for arg in sorted(self._show_as, key=len, reverse=True):
            tail = tail.replace(arg, self._show_as[arg])
        # Name files by their basename, as ``what`` does: no full paths in a one-line error.
        for arg in sorted(self.args[1:], key=len, reverse=True):
            if arg.startswith("/"):
                tail = tail.replace(arg, Path(arg).name)
        return tail if len(tail) <= SUMMARY_CHARS else "…" + tail[-SUMMARY_CHARS:]

    def _status(self, code: int) -> str:
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"{self.program} was killed by {signal.Signals(-code).name}"
        return f"{self.program} exited with status {code}"


class _ProgressReader:
    """Follows ffmpeg's ``-progress pipe:1``: blocks of ``key=value`` lines, the position in
    ``out_time_us`` (``out_time_ms`` in older ffmpeg, microseconds too despite its name)."""

    def __init__(self, duration_s: float | None, callback: ProgressCallback) -> None:
        self._duration = duration_s if duration_s and duration_s > 0 else None
        self._callback = callback
        self._partial = b""
        self._seen_us = False
        self._fraction = 0.0

    def feed(self, data: bytes) -> None:
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()[-_LINE_MAX:]
        for line in lines:
            key, _, value = line.decode("ascii", "replace").strip().partition("=")
            if key == "out_time_us":
                self._seen_us = True
            elif key != "out_time_ms" or self._seen_us:
                continue
            with contextlib.suppress(ValueError):
                if self._duration is not None:
                    seconds = int(value) / 1_000_000
                    self._report(min(seconds / self._duration, _PROGRESS_CEILING))

    def finished(self) -> None:
        self._report(1.0)

    def _report(self, fraction: float) -> None:
        if fraction > self._fraction:
            self._fraction = fraction
            self._callback(fraction)


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env["AV_LOG_FORCE_NOCOLOR"] = "1"
    return env


def _missing(program: str) -> ToolMissing:
    package = _PACKAGES.get(program, program)
    return ToolMissing(
        f"{program} is not installed; install it (Debian: apt-get install {package}) and try again"
    )


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


def _pump(proc: subprocess.Popen[bytes], call: _Call, deadline: float) -> None:
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
    """Feeds a `_Call` from the pipes. ``exited``: the process ended; ``finished``: it ended and
    both pipes closed, or a callback raised (the future then holds its exception)."""

    def __init__(self, call: _Call, loop: asyncio.AbstractEventLoop) -> None:
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
