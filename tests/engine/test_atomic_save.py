"""Saving project.json survives kill -9, full disks and failed fsyncs.

After every fault project.json is byte-for-byte one of the expected states (before or after),
loads and validates, and no temp file outlives the next writer. The recorded hash of reelcut's
own last write may go stale (a kill between the two renames); that must only ever cost a slower
load, never let a changed file skip a check.
"""

from __future__ import annotations

import errno
import hashlib
import os
import random
import re
import signal
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.errors import ProjectInvalid, ReelcutError
from engine.model import Project
from engine.projectdir import ProjectDir
from engine.projectfile import (
    LAST_WRITE_FILE,
    PROJECT_FILE,
    encode_project,
    load_project,
    save_project,
    written_by_us,
)
from tests.engine.timelines import timeline

REPO = Path(__file__).resolve().parents[2]

SMALL = timeline({"V1": [(0, 10), (20, 10)], "A1": [(0, 10)]})
LARGE = timeline(
    {"V1": [(i * 20, 10) for i in range(300)], "A1": [(i * 20, 10) for i in range(300)]}
)
A = encode_project(SMALL)
B = encode_project(LARGE)
TEMP = re.compile(r"^\.(project\.json|project\.sha256)\.[0-9a-f]{16}\.reelcut-tmp$")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _temps(root: Path) -> set[str]:
    return {name for name in _files(root) if TEMP.match(Path(name).name)}


def _new_project(root: Path, project: Project = SMALL) -> ProjectDir:
    return ProjectDir.create(root, project)


# -- kill -9 while saving ----------------------------------------------------------------------

# A fork server: it imports the engine once, then for each line on stdin forks a child that
# takes the writer lock and saves A, B, A, B... until it is killed. It prints the child's pid,
# then the child's wait status. Forking keeps each round to a few milliseconds, so hundreds of
# kills fit in the quick suite.
WRITER = textwrap.dedent(
    """
    import os
    import sys
    from pathlib import Path

    from engine.projectdir import ProjectDir
    from engine.projectfile import decode_project

    root = Path(sys.argv[1])
    a = decode_project(Path(sys.argv[2]).read_bytes())
    b = decode_project(Path(sys.argv[3]).read_bytes())
    for _ in sys.stdin:
        pid = os.fork()
        if pid == 0:
            try:
                project_dir = ProjectDir(root)
                project_dir.writer("kill -9 test")
                while True:
                    project_dir.save(a)
                    project_dir.save(b)
            except BaseException as exc:
                print(f"writer failed: {exc!r}", file=sys.stderr, flush=True)
            os._exit(1)
        print(pid, flush=True)
        print(os.waitpid(pid, 0)[1], flush=True)
    """
)


def _kill_loop(tmp_path: Path, rounds: int) -> None:
    root = tmp_path / "proj"
    _new_project(root)
    (tmp_path / "a.json").write_bytes(A)
    (tmp_path / "b.json").write_bytes(B)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    seed = random.randrange(1 << 32)
    rng = random.Random(seed)
    seen: dict[bytes, int] = {A: 0, B: 0}
    killed_mid_save = 0
    stale_hash = 0

    server = subprocess.Popen(
        [
            sys.executable,
            str(script),
            str(root),
            str(tmp_path / "a.json"),
            str(tmp_path / "b.json"),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stdin is not None and server.stdout is not None
    stdout = server.stdout

    def read_int() -> int:
        line = stdout.readline()
        if not line:
            server.kill()
            pytest.fail(f"the fork server died: {server.communicate()[1]}")
        return int(line)

    try:
        for round_no in range(rounds):
            where = f"round {round_no} (seed {seed})"
            server.stdin.write("go\n")
            server.stdin.flush()
            pid = read_int()
            # The random moment of the kill is the test's input, not a wait for work.
            time.sleep(rng.uniform(0, 0.030))
            os.kill(pid, signal.SIGKILL)
            status = read_int()
            if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
                server.kill()
                pytest.fail(f"{where}: the writer died by itself: {server.communicate()[1]}")

            data = (root / PROJECT_FILE).read_bytes()
            assert data in seen, f"{where}: project.json is neither A nor B ({len(data)} bytes)"
            seen[data] += 1
            assert load_project(root) == (SMALL if data == A else LARGE), where
            recorded = (root / LAST_WRITE_FILE).read_text()
            assert recorded in (f"{_sha(A)}\n", f"{_sha(B)}\n"), f"{where}: {recorded!r}"
            stale_hash += recorded != f"{_sha(data)}\n"
            stray = _files(root) - {PROJECT_FILE, LAST_WRITE_FILE, ".reelcut/lock"}
            assert stray == _temps(root), f"{where}: unexpected files {stray - _temps(root)}"
            killed_mid_save += bool(stray)
    finally:
        server.stdin.close()
        server.wait(timeout=30)

    # The next writer tidies what the killed ones left.
    ProjectDir(root).writer("after the kills").release()
    assert _temps(root) == set()
    assert load_project(root) in (SMALL, LARGE)
    # The kills landed at interesting moments, or this test proved nothing.
    assert seen[A] and seen[B], f"outcomes {seen.values()} (seed {seed})"
    assert killed_mid_save, f"no kill interrupted a save in {rounds} rounds (seed {seed})"
    print(
        f"{rounds} kills: A {seen[A]}, B {seen[B]}, mid-save {killed_mid_save}, "
        f"stale hash {stale_hash}"
    )


def test_kill_9_during_saves_leaves_a_whole_file(tmp_path: Path) -> None:
    _kill_loop(tmp_path, rounds=200)


@pytest.mark.slow
def test_kill_9_during_saves_leaves_a_whole_file_soak(tmp_path: Path) -> None:
    _kill_loop(tmp_path, rounds=1000)


# -- failure injection -------------------------------------------------------------------------


def _is_regular(fd: int) -> bool:
    return stat.S_ISREG(os.fstat(fd).st_mode)


def _failing_fsync(
    monkeypatch: pytest.MonkeyPatch, *, on: Callable[[int], bool], error: BaseException
) -> list[int]:
    """Make ``os.fsync`` raise ``error`` for descriptors matching ``on``; returns the calls."""
    real = os.fsync
    failed: list[int] = []

    def fsync(fd: int) -> None:
        if on(fd):
            failed.append(fd)
            raise error
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return failed


def _record_replace(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    real = os.replace
    calls: list[tuple[str, str]] = []

    def replace(src: str, dst: str, **dir_fds: int) -> None:
        calls.append((str(src), str(dst)))
        real(src, dst, **dir_fds)

    monkeypatch.setattr(os, "replace", replace)
    return calls


def _assert_untouched(root: Path, before: dict[str, bytes]) -> None:
    after = {name: (root / name).read_bytes() for name in _files(root)}
    assert after == before
    assert load_project(root) == SMALL


def _state(root: Path) -> dict[str, bytes]:
    return {name: (root / name).read_bytes() for name in _files(root)}


ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_fsync_failure_leaves_the_file_unchanged_and_is_not_retried(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = tmp_path / "proj"
    _new_project(root)
    before = _state(root)
    failed = _failing_fsync(monkeypatch, on=_is_regular, error=ENOSPC)
    renames = _record_replace(monkeypatch)

    with pytest.raises(ReelcutError) as info:
        save_project(root, LARGE)

    assert str(info.value) == (
        "could not save project.json: no space left on the device (free some space and try "
        "again); project.json is unchanged"
    )
    assert len(failed) == 1, "a failed fsync must never be retried"
    assert renames == []
    monkeypatch.undo()
    _assert_untouched(root, before)


def test_disk_full_midway_through_the_write(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = tmp_path / "proj"
    _new_project(root)
    before = _state(root)
    real_write = os.write
    written: list[int] = []

    def write(fd: int, data: bytes | memoryview) -> int:
        if written:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written.append(real_write(fd, bytes(data[: len(data) // 3])))
        return written[-1]

    monkeypatch.setattr(os, "write", write)

    with pytest.raises(ReelcutError, match="no space left on the device") as info:
        save_project(root, LARGE)

    assert written and 0 < written[0] < len(B)
    assert "\n" not in str(info.value)
    monkeypatch.undo()
    _assert_untouched(root, before)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (errno.EACCES, "permission denied"),
        (errno.EROFS, "the file system is read-only"),
        (errno.EXDEV, os.strerror(errno.EXDEV)),
    ],
)
def test_rename_failure_leaves_the_file_unchanged(
    code: int, reason: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = tmp_path / "proj"
    _new_project(root)
    before = _state(root)

    def replace(src: str, dst: str, **dir_fds: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "replace", replace)

    with pytest.raises(ReelcutError) as info:
        save_project(root, LARGE)

    assert str(info.value).startswith(f"could not save project.json: {reason}")
    assert str(info.value).endswith("; project.json is unchanged")
    assert "\n" not in str(info.value)
    monkeypatch.undo()
    _assert_untouched(root, before)


def test_interrupt_during_a_save_removes_the_temp_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = tmp_path / "proj"
    _new_project(root)
    before = _state(root)
    _failing_fsync(monkeypatch, on=_is_regular, error=KeyboardInterrupt())

    with pytest.raises(KeyboardInterrupt):
        save_project(root, LARGE)

    monkeypatch.undo()
    _assert_untouched(root, before)


def test_failure_to_record_the_hash_leaves_the_new_file_and_a_stale_hash(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """project.json is already replaced when the hash file's write fails: the file is what the
    save meant it to become, and the stale hash only makes the next load check everything."""
    root = tmp_path / "proj"
    _new_project(root)
    sha_temp = re.compile(r"\.project\.sha256\.[0-9a-f]{16}\.reelcut-tmp$")
    _failing_fsync(
        monkeypatch,
        on=lambda fd: bool(sha_temp.search(os.readlink(f"/proc/self/fd/{fd}"))),
        error=ENOSPC,
    )

    with pytest.raises(ReelcutError, match=r"^could not save project\.sha256: no space left"):
        save_project(root, LARGE)

    monkeypatch.undo()
    assert (root / PROJECT_FILE).read_bytes() == B
    assert (root / LAST_WRITE_FILE).read_text() == f"{_sha(A)}\n"
    assert _temps(root) == set()
    assert not written_by_us(root, B)
    assert load_project(root) == LARGE


def test_directory_fsync_failure_is_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = tmp_path / "proj"
    _new_project(root)
    _failing_fsync(
        monkeypatch,
        on=lambda fd: stat.S_ISDIR(os.fstat(fd).st_mode),
        error=OSError(errno.EIO, "I/O error"),
    )

    with pytest.raises(ReelcutError) as info:
        save_project(root, LARGE)

    assert str(info.value) == (
        "saved project.json but could not confirm it reached the disk: I/O error"
    )
    monkeypatch.undo()
    assert (root / PROJECT_FILE).read_bytes() == B
    assert _temps(root) == set()
    assert load_project(root) == LARGE


# -- the recorded hash going stale -------------------------------------------------------------


def _with_recorded_hash(root: Path, data: bytes, recorded: bytes) -> None:
    (root / PROJECT_FILE).write_bytes(data)
    (root / LAST_WRITE_FILE).write_text(f"{_sha(recorded)}\n")


def test_a_stale_hash_still_loads_the_newer_file(tmp_path: Path) -> None:
    """A kill between the two renames: project.json is B, the hash still says A."""
    root = tmp_path / "proj"
    _new_project(root)
    _with_recorded_hash(root, B, recorded=A)

    assert not written_by_us(root, B)
    assert load_project(root) == LARGE


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(lambda a: a[: len(a) // 2], id="truncated"),
        pytest.param(lambda a: a[:-3] + b"\x00\x00\x00", id="zeroed tail"),
        pytest.param(lambda a: b"", id="empty"),
        pytest.param(
            lambda a: a.replace(b'"name": "V1.0"', b'"name": "x", "name": "V1.0"', 1),
            id="duplicate key",
        ),
        pytest.param(
            lambda a: a.replace(b'"start": 20', b'"start": 5', 1),
            id="overlap",
        ),
    ],
)
def test_a_stale_hash_never_makes_a_corrupt_file_load(
    corrupt: Callable[[bytes], bytes], tmp_path: Path
) -> None:
    root = tmp_path / "proj"
    _new_project(root)
    bad = corrupt(A)
    assert bad != A
    _with_recorded_hash(root, bad, recorded=A)

    with pytest.raises(ProjectInvalid):
        load_project(root)
    assert (root / PROJECT_FILE).read_bytes() == bad


@pytest.mark.parametrize("content", [b"", b"not a hash\n", _sha(A).upper().encode(), b"\xff\xfe"])
def test_a_damaged_hash_file_only_costs_trust(content: bytes, tmp_path: Path) -> None:
    root = tmp_path / "proj"
    _new_project(root)
    (root / LAST_WRITE_FILE).write_bytes(content)

    assert not written_by_us(root, A)
    assert load_project(root) == SMALL


def test_a_hash_file_that_is_a_directory_only_costs_trust(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    _new_project(root)
    (root / LAST_WRITE_FILE).unlink()
    (root / LAST_WRITE_FILE).mkdir()

    assert not written_by_us(root, A)
    assert load_project(root) == SMALL


def test_a_save_records_the_hash_of_exactly_the_bytes_written(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    _new_project(root)
    assert written_by_us(root, A)
    data = save_project(root, LARGE)
    assert data == B == (root / PROJECT_FILE).read_bytes()
    assert (root / LAST_WRITE_FILE).read_text() == f"{_sha(B)}\n"
    assert _temps(root) == set()
