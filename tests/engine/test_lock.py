"""One writer per project, across real processes: the second is refused by name, readers are
never blocked, and a holder killed with SIGKILL leaves no stale lock behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.errors import ProjectLocked
from engine.lock import WriterLock, describe_holder
from engine.projectdir import ProjectDir
from engine.projectfile import PROJECT_FILE, load_project
from tests.engine.timelines import timeline

REPO = Path(__file__).resolve().parents[2]
REELCUT = Path(sys.executable).with_name("reelcut")
PROJECT = timeline({"V1": [(0, 10), (20, 10)], "A1": [(0, 10)]})

# Opens the project for writing the way every front end does (a Session), says so, and holds it
# until stdin closes.
HOLDER = textwrap.dedent(
    """
    import sys
    from engine.session import Session

    with Session(sys.argv[1], purpose=sys.argv[2]):
        print("locked", flush=True)
        sys.stdin.read()
    """
)

# Tries to take the writer lock and reports what happened as one JSON line.
CONTENDER = textwrap.dedent(
    """
    import json
    import sys
    from engine.errors import ReelcutError
    from engine.projectdir import ProjectDir

    try:
        ProjectDir(sys.argv[1]).writer("contender").release()
        print(json.dumps({"acquired": True}))
    except ReelcutError as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
    """
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    ProjectDir.create(root, PROJECT)
    return root


def _python(code: str, *args: str, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,  # type: ignore[call-overload]
    )


@pytest.fixture
def holder(project: Path) -> Iterator[subprocess.Popen[str]]:
    """A separate process holding the writer lock of ``project`` (purpose "agent session")."""
    proc = _python(HOLDER, str(project), "agent session")
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line != "locked\n":
        proc.kill()
        pytest.fail(f"holder did not start: {line!r} {proc.communicate()[1]}")
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def _contend(root: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CONTENDER, str(root)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_a_second_writer_process_is_refused_naming_the_holder(
    project: Path, holder: subprocess.Popen[str]
) -> None:
    before = (project / PROJECT_FILE).read_bytes()

    result = _contend(project)

    assert result["error"] == "ProjectLocked"
    message = str(result["message"])
    assert f"pid {holder.pid} (agent session) on {socket.gethostname()} since " in message
    assert "close it there first" in message
    assert "\n" not in message
    assert (project / PROJECT_FILE).read_bytes() == before


def test_the_cli_refuses_to_edit_a_locked_project_with_exit_code_4(
    project: Path, holder: subprocess.Popen[str]
) -> None:
    done = subprocess.run(
        [str(REELCUT), "undo", str(project)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == ProjectLocked.exit_code == 4
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert f"open for writing by pid {holder.pid} (agent session)" in lines[0]


def test_reading_works_while_the_project_is_locked(
    project: Path, holder: subprocess.Popen[str]
) -> None:
    assert load_project(project) == PROJECT
    done = subprocess.run(
        [str(REELCUT), "info", str(project), "--json"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)


def test_sigkill_of_the_holder_releases_the_lock(
    project: Path, holder: subprocess.Popen[str]
) -> None:
    assert _contend(project)["error"] == "ProjectLocked"

    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    assert holder.returncode == -signal.SIGKILL

    assert _contend(project) == {"acquired": True}
    with ProjectDir(project).writer("next writer") as lock:
        info = json.loads(lock.path.read_text())
        assert info["pid"] == os.getpid()
        assert info["purpose"] == "next writer"
    assert load_project(project) == PROJECT


def test_closing_the_holder_releases_the_lock(project: Path, holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    holder.stdin.close()
    assert holder.wait(timeout=30) == 0
    assert _contend(project) == {"acquired": True}


def test_the_lock_is_per_open_not_per_process(project: Path) -> None:
    """flock belongs to an open file, so even this process cannot take the lock twice."""
    with (
        WriterLock(project, purpose="first"),
        pytest.raises(ProjectLocked, match=rf"by pid {os.getpid()} \(first\)"),
    ):
        WriterLock(project, purpose="second").acquire()
    with WriterLock(project, purpose="second") as again:
        assert again.held


def test_release_clears_the_holder_and_is_idempotent(project: Path) -> None:
    lock = WriterLock(project, purpose="tidy").acquire()
    assert lock.acquire() is lock
    lock.release()
    lock.release()
    assert not lock.held
    assert lock.path.read_text() == ""
    assert describe_holder(lock.path) == "another process"


@pytest.mark.parametrize("content", ["", "{", "[1, 2", "\x00\x00"])
def test_an_unreadable_holder_record_is_described_vaguely(project: Path, content: str) -> None:
    path = project / ".reelcut" / "lock"
    path.write_text(content)
    assert describe_holder(path) == "another process"


def test_a_lock_on_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="no such folder; create a project there"):
        ProjectDir(tmp_path / "nowhere").writer()
    assert not (tmp_path / "nowhere").exists()
