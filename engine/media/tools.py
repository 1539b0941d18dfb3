"""Running ffmpeg, ffprobe and espeak-ng: timeouts, local files only, stderr tails in errors.

Every ffmpeg/ffprobe call carries ``-protocol_whitelist file,pipe`` so a crafted input (an HLS
playlist disguised as .mp4, FFmpeg's 2017 local-file disclosure) cannot make it open network or
other protocols. Children run in their own process group so a timeout kills the whole tree.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

from engine.errors import MediaError, ToolMissing

PROTOCOLS = "file,pipe"
_CONTEXT = re.compile(r"\[[^\]@]* @ 0x[0-9a-fA-F]+\] ")
PROBE_TIMEOUT = 30.0
FFMPEG_TIMEOUT = 600.0


def require(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise ToolMissing(
            f"{program} is not installed; install it (Debian: apt-get install "
            f"{'ffmpeg' if program.startswith('ff') else program}) and try again"
        )
    return path


def local_path(path: Path) -> str:
    """``path`` as an argument ffmpeg can only read as a local file.

    ffmpeg takes ``scene1:take2.mp4`` for protocol ``scene1``; an absolute path starts with ``/``
    and never names a protocol.
    """
    return str(path.absolute())


def run(
    args: Sequence[str], *, timeout: float, what: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run ``args``; raise MediaError with the stderr tail if it fails or times out."""
    exe = require(args[0])
    proc = subprocess.Popen(
        [exe, *args[1:]],
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise MediaError(
            f"{what}: {args[0]} took longer than {timeout:.0f}s and was stopped"
        ) from None
    except BaseException:
        _kill_group(proc)
        raise
    if proc.returncode != 0:
        tail = stderr_tail(err)
        # Name files by their basename, as ``what`` does: no full paths in a one-line error.
        for arg in args[1:]:
            if arg.startswith("/"):
                tail = tail.replace(arg, Path(arg).name)
        raise MediaError(f"{what}: {tail or f'{args[0]} exited {proc.returncode}'}")
    return subprocess.CompletedProcess(list(args), proc.returncode, out, err)


def stderr_tail(err: bytes, lines: int = 2) -> str:
    """The last ``lines`` of a tool's stderr on one line, without ffmpeg's ``[mov @ 0x55...]``
    context prefixes."""
    text = err.decode("utf-8", "replace").strip().splitlines()
    return " / ".join(_CONTEXT.sub("", line).strip() for line in text[-lines:])


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
