"""The control socket: other processes' requests to the process that holds a project open.

The holder of a project (the editor, ``reelcut serve``) listens on a Unix socket in the
project's state folder, ``.reelcut/control.sock`` (owner-only; a peer of another user is
refused by its credentials), and serves `Workspace.call` on it. A request is one JSON line
``{"method": ..., "params": {...}}``; its answer one JSON line, ``{"result": ...}`` or
``{"error": {"message", "exit_code", "type"[, "mismatch"]}}``. When the state folder's path
is too long for a socket address (about 100 bytes), the socket lives in a private folder of
the runtime directory under a name made from the project's path, which clients compute the same
way.

A socket left by a holder that died refuses connections (`Client.connect` returns None; see
`engine.door` for what a command does then). A holder that dies mid-request leaves the project
as the session's atomic writes left it: the request happened or it did not, and the client
says it cannot tell which (`DoorLost`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import socket
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.errors import ReelcutError

SOCKET_FILE = "control.sock"
MAX_ADDRESS = 100  # bytes; sun_path holds 108 with its terminator, kept clear of the edge
MAX_MESSAGE = 64 * 1024 * 1024
CONNECT_SECONDS = 2.0


class DoorLost(ReelcutError):
    """The holder went away before it answered."""


class RemoteError(ReelcutError):
    """A refusal from the holder, with the exit status it carries."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def socket_path(root: Path) -> Path:
    """Where the holder of ``root`` listens: in its state folder when that fits a socket
    address, else in a private runtime folder under a name made from the project's path."""
    state = Path(os.path.abspath(root)) / ".reelcut" / SOCKET_FILE
    if len(os.fsencode(state)) <= MAX_ADDRESS:
        return state
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    name = hashlib.sha256(os.fsencode(os.path.abspath(root))).hexdigest()[:24]
    return Path(base) / f"reelcut-{os.getuid()}" / f"{name}.sock"


# -- the holder's side ------------------------------------------------------------------------


def _peer_uid(sock: socket.socket) -> int | None:
    with contextlib.suppress(OSError, AttributeError):
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        return int(struct.unpack("3i", creds)[1])
    return None


def error_json(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, ReelcutError):
        doc: dict[str, Any] = {
            "message": " ".join(str(exc).split()) or type(exc).__name__,
            "exit_code": exc.exit_code,
            "type": type(exc).__name__,
        }
        to_json = getattr(exc, "to_json", None)
        if type(exc).__name__ == "HashMismatch" and to_json is not None:
            doc["mismatch"] = to_json()
        return doc
    said = " ".join(str(exc).split())[:300]
    return {
        "message": f"a bug in the process holding the project ({type(exc).__name__}: {said})",
        "exit_code": 70,
        "type": type(exc).__name__,
    }


class ControlServer:
    """Serves a workspace's requests on its project's socket while the holder runs."""

    def __init__(
        self,
        workspace: Any,
        *,
        on_request: Callable[[str, dict[str, Any], Any], None] | None = None,
    ) -> None:
        self.workspace = workspace
        self.path = socket_path(workspace.root)
        self.on_request = on_request  # (method, params, result) after each request that succeeded
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # The holder has the writer lock, so a socket file here is a dead holder's.
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        old = os.umask(0o177)  # owner-only from the moment it exists
        try:
            self._server = await asyncio.start_unix_server(
                self._serve, path=str(self.path), limit=MAX_MESSAGE
            )
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            sock = writer.get_extra_info("socket")
            if sock is not None and _peer_uid(sock) not in (None, os.getuid()):
                return  # another user: not a word
            while True:
                try:
                    line = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    await self._answer(writer, {"error": _too_big()})
                    return
                if not line:
                    return
                await self._answer(writer, await self._handle(line))
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _handle(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
            name, params = request["method"], request.get("params") or {}
            if not isinstance(name, str) or not isinstance(params, dict):
                raise ValueError("method must be a string and params an object")
        except (ValueError, KeyError, TypeError) as exc:
            return {"error": {"message": f"not a request: {exc}", "exit_code": 2, "type": "Usage"}}
        try:
            result = await self.workspace.call(name, params)
        except Exception as exc:
            return {"error": error_json(exc)}
        if self.on_request is not None:
            with contextlib.suppress(Exception):
                self.on_request(name, params, result)
        return {"result": result}

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, doc: dict[str, Any]) -> None:
        writer.write(json.dumps(doc, ensure_ascii=False, default=str).encode() + b"\n")
        await writer.drain()


def _too_big() -> dict[str, Any]:
    return {
        "message": f"the request is over {MAX_MESSAGE >> 20} MiB",
        "exit_code": 2,
        "type": "Usage",
    }


# -- a client's side --------------------------------------------------------------------------


class Client:
    """A connection to a project's holder (blocking: commands are short-lived)."""

    def __init__(self, sock: socket.socket, root: Path) -> None:
        self.sock, self.root = sock, root
        self._file = sock.makefile("rb")

    @classmethod
    def connect(cls, root: Path) -> Client | None:
        """The holder's door, or None when nothing serves the project."""
        path = socket_path(root)
        if not path.exists():
            return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(CONNECT_SECONDS)
        try:
            sock.connect(str(path))
        except OSError:  # refused (a dead holder's socket), gone, not ours
            sock.close()
            return None
        sock.settimeout(None)  # an import may take a while; the holder answers or goes away
        return cls(sock, root)

    def call(self, name: str, params: dict[str, Any] | None = None) -> Any:
        data = json.dumps({"method": name, "params": params or {}}).encode() + b"\n"
        try:
            self.sock.sendall(data)
            line = self._file.readline()
        except OSError:
            line = b""
        if not line.endswith(b"\n"):
            raise DoorLost(
                f"the process holding {self.root} went away before it answered; the request "
                f"may or may not have been done: `reelcut history {self.root}` and `reelcut "
                f"changes {self.root} list` show what is there"
            )
        answer = json.loads(line)
        if "error" in answer:
            raise _remote_error(answer["error"])
        return answer.get("result")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
            self.sock.close()


def _remote_error(doc: dict[str, Any]) -> ReelcutError:
    """The holder's refusal as the error the command would have raised itself."""
    mismatch = doc.get("mismatch")
    if mismatch is not None:
        from engine.changes.ledger import HashMismatch

        return HashMismatch(
            mismatch["path"], mismatch["expected"], mismatch["actual"], mismatch["direction"]
        )
    return RemoteError(str(doc.get("message", "refused")), int(doc.get("exit_code", 1)))
