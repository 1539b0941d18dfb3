"""File tools never touch anything outside the project, whatever path they are handed.

Every test runs in a world of three things side by side: the project ``proj/``, a decoy sibling
``proj_evil/`` whose name shares the project's prefix, and ``secret.txt``. The ``world`` fixture
snapshots everything outside ``proj/`` (types, bytes, link targets, modes) and checks after the
test that it is byte-identical and that nothing was added beside it. The matrix follows the MCP
filesystem server's path-validation tests (CVE-2025-53109 / CVE-2025-53110).
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine import sandbox
from engine.errors import ReelcutError
from engine.sandbox import PathNotFound, PathRefused

SECRET = b"TOP SECRET: outside the project"
DECOY = b"decoy: must never be read or written"


@dataclass(frozen=True)
class World:
    proj: Path
    evil: Path
    secret: Path


def _snapshot(top: Path, skip: Path) -> dict[str, tuple[str, int, bytes]]:
    """Everything under ``top`` except ``skip``, without following links."""
    seen: dict[str, tuple[str, int, bytes]] = {}
    for folder, dirnames, filenames in os.walk(top, followlinks=False):
        dirnames[:] = [d for d in dirnames if Path(folder, d) != skip]
        for name in dirnames + filenames:
            path = Path(folder, name)
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                body = os.fsencode(os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                body = path.read_bytes()
            else:
                body = b""
            seen[str(path.relative_to(top))] = (stat.filemode(info.st_mode), info.st_size, body)
    return seen


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    proj = tmp_path / "proj"
    (proj / "scripts").mkdir(parents=True)
    (proj / "scripts" / "script.md").write_bytes(b"# inside\n")
    (proj / ".reelcut").mkdir()
    (proj / ".reelcut" / "lock").write_bytes(b"")
    evil = tmp_path / "proj_evil"
    (evil / "sub").mkdir(parents=True)
    (evil / "x").write_bytes(DECOY)
    (evil / "sub" / "script.md").write_bytes(DECOY)
    secret = tmp_path / "secret.txt"
    secret.write_bytes(SECRET)
    before = _snapshot(tmp_path, skip=proj)
    yield World(proj, evil, secret)
    assert _snapshot(tmp_path, skip=proj) == before, "something outside the project changed"


def _refused(call: Callable[[], object], *words: str) -> PathRefused:
    """Run ``call``, expect a one-line PathRefused mentioning ``words``; return it."""
    with pytest.raises(PathRefused) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message
    assert info.value.exit_code == 9
    return info.value


# -- lexical rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "canonical"),
    [
        ("scripts/script.md", "scripts/script.md"),
        ("./scripts//script.md", "scripts/script.md"),
        ("scripts/./script.md/", "scripts/script.md"),
        ("%2e%2e/x", "%2e%2e/x"),  # percent-encoding is never decoded: a literal name
        ("..\\x", "..\\x"),  # a backslash is an ordinary character on Linux
        ("...", "..."),
        ("~/x", "~/x"),
        (".reelcut_notes/x", ".reelcut_notes/x"),
        ("scripts/.reelcut/x", "scripts/.reelcut/x"),  # only the project's own .reelcut/
        ("é/ü.md", "é/ü.md"),
    ],
)
def test_normalize_accepts_and_canonicalises(tmp_path: Path, rel: str, canonical: str) -> None:
    assert sandbox.normalize(tmp_path, rel) == canonical


@pytest.mark.parametrize(
    ("rel", "reason"),
    [
        ("", "is empty"),
        (".", "project folder itself"),
        ("./", "project folder itself"),
        ("..", "'..'"),
        ("../x", "'..'"),
        ("a/../../x", "'..'"),
        ("a/../b", "'..'"),  # stays inside, refused anyway: the simplest rule
        ("../proj_evil/x", "'..'"),
        ("/etc/passwd", "absolute"),
        ("/abs/path", "absolute"),
        ("//x", "absolute"),
        ("a\x00b", "control character"),
        ("a\nb", "control character"),
        ("a\x7fb", "control character"),
        ("a\x85b", "control character"),
        (".reelcut", ".reelcut/"),
        (".reelcut/lock", ".reelcut/"),
        ("./.reelcut/x", ".reelcut/"),
        ("//.reelcut//x", "absolute"),
        (".//.reelcut//x", ".reelcut/"),
        (".REELCUT/x", ".reelcut/"),
        ("a" * 256, "256-byte name"),
        ("é" * 128, "256-byte name"),
        ("/".join(["a" * 200] * 21), "too long"),
        ("\udcff\ud800", "not valid text"),
    ],
)
def test_normalize_refuses(tmp_path: Path, rel: str, reason: str) -> None:
    message = str(_refused(lambda: sandbox.normalize(tmp_path, rel), reason))
    assert message.startswith(f"path {repr(rel)[:60]}")


def test_refusal_names_the_path_and_says_what_to_do(tmp_path: Path) -> None:
    message = str(_refused(lambda: sandbox.normalize(tmp_path, "../x")))
    assert message == (
        "path '../x' uses '..', which reelcut's tools never follow; "
        "use a path relative to the project folder such as 'scripts/script.md'"
    )
    _refused(lambda: sandbox.normalize(tmp_path, "/etc/passwd"), "'scripts/script.md'")


def test_non_text_path_is_refused(tmp_path: Path) -> None:
    _refused(lambda: sandbox.read_bytes(tmp_path, None), "not text")  # type: ignore[arg-type]


def test_length_limit_counts_the_project_folder(tmp_path: Path) -> None:
    room = sandbox.MAX_PATH_BYTES - len(os.fsencode(os.path.realpath(tmp_path))) - 1
    folders = ("a" * 99 + "/") * ((room - 100) // 100)
    fits = folders + "b" * (room - len(folders))  # exactly 4096 bytes with the project folder
    assert len(os.fsencode(fits)) == room
    assert sandbox.normalize(tmp_path, fits) == fits
    _refused(lambda: sandbox.normalize(tmp_path, fits + "b"), "too long", "4097 bytes")


# -- the traversal matrix against real files ------------------------------------------------------

ESCAPES = [
    "..",
    "../secret.txt",
    "a/../../secret.txt",
    "scripts/../../secret.txt",
    "/etc/passwd",
    "/proc/self/environ",
    "../proj_evil/x",
    "../proj_evil/sub/script.md",
    "scripts/\x00/../../secret.txt",
    ".reelcut/lock",
    "./.reelcut/lock",
    "",
]


def _batch_write(root: Path, rel: str, data: bytes | None) -> None:
    """One file through `sandbox.Batch`, as the ledger writes changesets."""
    with sandbox.Batch(root) as batch:
        batch.stage(rel, data)
        batch.commit(rel)


@pytest.mark.parametrize("rel", ESCAPES)
def test_escapes_are_refused_by_every_operation(world: World, rel: str) -> None:
    p = world.proj
    _refused(lambda: sandbox.read_bytes(p, rel))
    _refused(lambda: sandbox.read_many(p, ["scripts/script.md", rel]))
    _refused(lambda: _batch_write(p, rel, b"pwned"))
    _refused(lambda: _batch_write(p, rel, None))
    _refused(lambda: sandbox.write_atomic(p, rel, b"pwned", create_parents=True))
    _refused(lambda: sandbox.stat(p, rel))
    _refused(lambda: sandbox.exists(p, rel))
    _refused(lambda: sandbox.remove(p, rel))
    assert (p / ".reelcut" / "lock").read_bytes() == b""


def test_absolute_path_to_a_file_inside_is_refused_too(world: World) -> None:
    inside = str(world.proj / "scripts" / "script.md")
    _refused(lambda: sandbox.read_bytes(world.proj, inside), "is absolute;")


def test_encoded_dots_stay_inside_as_a_literal_name(world: World) -> None:
    sandbox.write_atomic(world.proj, "%2e%2e/x", b"literal", create_parents=True)
    assert (world.proj / "%2e%2e" / "x").read_bytes() == b"literal"
    assert sandbox.read_bytes(world.proj, "%2e%2e/x") == b"literal"
    sandbox.write_atomic(world.proj, "..\\secret.txt", b"also literal")
    assert (world.proj / "..\\secret.txt").read_bytes() == b"also literal"


def test_list_files_refuses_escapes_and_internals(world: World) -> None:
    for under in ("..", "../proj_evil", "/", "/etc", ".reelcut", "a/../.."):
        _refused(lambda under=under: sandbox.list_files(world.proj, under))


# -- symbolic links -------------------------------------------------------------------------------


def test_leaf_link_to_an_outside_file(world: World) -> None:
    p = world.proj
    os.symlink(world.secret, p / "leak.txt")
    for call in (
        lambda: sandbox.read_bytes(p, "leak.txt"),
        lambda: sandbox.write_atomic(p, "leak.txt", b"pwned"),
        lambda: sandbox.stat(p, "leak.txt"),
        lambda: sandbox.exists(p, "leak.txt"),
        lambda: sandbox.remove(p, "leak.txt"),
        lambda: sandbox.read_many(p, ["leak.txt"]),
        lambda: _batch_write(p, "leak.txt", b"pwned"),
        lambda: _batch_write(p, "leak.txt", None),
    ):
        refusal = _refused(call, "'leak.txt'", "is a symbolic link", "do not follow links")
        assert not isinstance(refusal, PathNotFound)
    assert os.readlink(p / "leak.txt") == str(world.secret)


def test_parent_link_to_an_outside_folder(world: World) -> None:
    p = world.proj
    os.symlink(world.evil, p / "evil")
    for rel in ("evil/x", "evil/new.txt", "evil/sub/script.md", "evil/deeper/new.txt"):
        _refused(lambda rel=rel: sandbox.read_bytes(p, rel), "'evil'", "symbolic link")
        _refused(
            lambda rel=rel: sandbox.write_atomic(p, rel, b"pwned", create_parents=True),
            "'evil'",
            "symbolic link",
        )
        _refused(lambda rel=rel: sandbox.write_atomic(p, rel, b"pwned"), "symbolic link")
        _refused(lambda rel=rel: sandbox.remove(p, rel), "symbolic link")
        _refused(lambda rel=rel: sandbox.exists(p, rel), "symbolic link")
        _refused(lambda rel=rel: sandbox.read_many(p, [rel]), "symbolic link")
        _refused(lambda rel=rel: _batch_write(p, rel, b"pwned"), "'evil'", "symbolic link")
        _refused(lambda rel=rel: _batch_write(p, rel, None), "'evil'", "symbolic link")
    _refused(lambda: sandbox.list_files(p, "evil"), "symbolic link")


def test_link_deeper_in_the_path(world: World) -> None:
    p = world.proj
    (p / "a" / "b").mkdir(parents=True)
    os.symlink(world.evil / "sub", p / "a" / "b" / "c")
    _refused(lambda: sandbox.read_bytes(p, "a/b/c/script.md"), "'a/b/c'", "symbolic link")
    _refused(lambda: sandbox.write_atomic(p, "a/b/c/new", b"x", create_parents=True), "'a/b/c'")


def test_three_hop_chain_ending_outside(world: World) -> None:
    p = world.proj
    os.symlink(p / "hop2", p / "hop1")
    os.symlink(p / "hop3", p / "hop2")
    os.symlink(world.secret, p / "hop3")
    os.symlink("hopd2", p / "hopd1")
    os.symlink("hopd3", p / "hopd2")
    os.symlink(world.evil, p / "hopd3")
    for rel in ("hop1", "hop2", "hop3"):
        _refused(lambda rel=rel: sandbox.read_bytes(p, rel), "symbolic link")
        _refused(lambda rel=rel: sandbox.write_atomic(p, rel, b"pwned"), "symbolic link")
    _refused(lambda: sandbox.read_bytes(p, "hopd1/x"), "'hopd1'", "symbolic link")
    _refused(lambda: sandbox.write_atomic(p, "hopd1/y", b"x", create_parents=True), "'hopd1'")


def test_dangling_link_is_refused_and_its_target_never_created(
    world: World, tmp_path: Path
) -> None:
    p = world.proj
    os.symlink(tmp_path / "created_outside.txt", p / "dangling.txt")
    os.symlink(tmp_path / "created_outside_dir", p / "dangling_dir")
    _refused(lambda: sandbox.read_bytes(p, "dangling.txt"), "symbolic link")
    _refused(lambda: sandbox.write_atomic(p, "dangling.txt", b"x"), "symbolic link")
    _refused(lambda: sandbox.exists(p, "dangling.txt"), "symbolic link")
    _refused(
        lambda: sandbox.write_atomic(p, "dangling_dir/f", b"x", create_parents=True),
        "symbolic link",
    )
    assert not (tmp_path / "created_outside.txt").exists()
    assert not (tmp_path / "created_outside_dir").exists()


def test_link_that_stays_inside_is_refused_by_rule(world: World) -> None:
    p = world.proj
    os.symlink("scripts/script.md", p / "alias.md")
    os.symlink("scripts", p / "alias_dir")
    _refused(lambda: sandbox.read_bytes(p, "alias.md"), "reelcut's tools do not follow links")
    _refused(lambda: sandbox.read_bytes(p, "alias_dir/script.md"), "'alias_dir'", "symbolic link")
    _refused(lambda: sandbox.write_atomic(p, "alias.md", b"x"), "symbolic link")
    assert (p / "scripts" / "script.md").read_bytes() == b"# inside\n"
    assert (p / "alias.md").is_symlink()


def test_list_files_walks_without_following_links(world: World) -> None:
    p = world.proj
    (p / "scripts" / "deep" / "er").mkdir(parents=True)
    (p / "scripts" / "deep" / "er" / "z.md").write_bytes(b"z")
    (p / "b.txt").write_bytes(b"b")
    (p / "name\nwith newline").write_bytes(b"unusable")
    os.symlink(world.evil, p / "evil")
    os.symlink(world.secret, p / "leak.txt")
    os.symlink(p / "scripts", p / "loop")
    os.mkfifo(p / "pipe")
    expected = ["b.txt", "scripts/deep/er/z.md", "scripts/script.md"]
    assert sandbox.list_files(p) == expected
    assert sandbox.list_files(p, ".") == expected
    assert sandbox.list_files(p, "scripts/") == expected[1:]
    assert sandbox.list_files(p, "scripts/deep") == ["scripts/deep/er/z.md"]
    for rel in sandbox.list_files(p):
        sandbox.read_bytes(p, rel)
    _refused(lambda: sandbox.list_files(p, "nope"), "does not exist")
    _refused(lambda: sandbox.list_files(p, "b.txt"), "is a file, not a folder")


# -- things that are not regular files -------------------------------------------------------------


@pytest.mark.timeout(10)
def test_fifo_is_refused_without_blocking(world: World) -> None:
    p = world.proj
    os.mkfifo(p / "scripts" / "pipe")
    for call in (
        lambda: sandbox.read_bytes(p, "scripts/pipe"),
        lambda: sandbox.write_atomic(p, "scripts/pipe", b"x"),
        lambda: sandbox.stat(p, "scripts/pipe"),
        lambda: sandbox.remove(p, "scripts/pipe"),
    ):
        _refused(call, "'scripts/pipe'", "named pipe (FIFO)")
    assert stat.S_ISFIFO((p / "scripts" / "pipe").lstat().st_mode)
    assert sandbox.exists(p, "scripts/pipe")


def test_socket_is_refused(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(world.proj)  # keeps the socket's address under the 108-byte limit
    with socket.socket(socket.AF_UNIX) as server:
        server.bind("sock")
        _refused(lambda: sandbox.read_bytes(world.proj, "sock"), "a socket")
        _refused(lambda: sandbox.write_atomic(world.proj, "sock", b"x"), "a socket")


def test_folder_where_a_file_is_expected(world: World) -> None:
    p = world.proj
    for call in (
        lambda: sandbox.read_bytes(p, "scripts"),
        lambda: sandbox.write_atomic(p, "scripts", b"x"),
        lambda: sandbox.stat(p, "scripts/"),
        lambda: sandbox.remove(p, "scripts"),
    ):
        _refused(call, "'scripts'", "is a folder")
    assert (p / "scripts" / "script.md").read_bytes() == b"# inside\n"


def test_file_where_a_folder_is_expected(world: World) -> None:
    p = world.proj
    with pytest.raises(PathNotFound, match=r"goes through 'scripts/script\.md', which is a file"):
        sandbox.read_bytes(p, "scripts/script.md/x")
    with pytest.raises(PathNotFound, match="which is a file"):
        sandbox.write_atomic(p, "scripts/script.md/x", b"x", create_parents=True)
    assert not sandbox.exists(p, "scripts/script.md/x")


# -- reading, writing, removing ------------------------------------------------------------------


def test_round_trip_and_overwrite(world: World) -> None:
    p = world.proj
    data = bytes(range(256)) * 5000  # larger than one read chunk
    sandbox.write_atomic(p, "scripts/blob.bin", data)
    assert sandbox.read_bytes(p, "scripts/blob.bin") == data
    assert sandbox.stat(p, "./scripts/blob.bin").st_size == len(data)
    sandbox.write_atomic(p, "scripts/blob.bin", b"short")
    assert sandbox.read_bytes(p, "scripts//blob.bin") == b"short"
    sandbox.write_atomic(p, "empty", b"")
    assert sandbox.read_bytes(p, "empty") == b""
    assert sorted(os.listdir(p / "scripts")) == ["blob.bin", "script.md"]


def test_overwrite_keeps_permission_bits(world: World) -> None:
    target = world.proj / "run.sh"
    target.write_bytes(b"#!/bin/sh\n")
    target.chmod(0o751)
    sandbox.write_atomic(world.proj, "run.sh", b"#!/bin/sh\necho hi\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o751


def test_missing_parent_without_create_parents(world: World) -> None:
    p = world.proj
    expected = "needs the folder 'new', which does not exist; create it first or write with create_"
    with pytest.raises(PathNotFound, match=expected):
        sandbox.write_atomic(p, "new/dir/file.md", b"x")
    assert not (p / "new").exists()


def test_create_parents(world: World) -> None:
    p = world.proj
    sandbox.write_atomic(p, "new/dir/file.md", b"made", create_parents=True)
    assert (p / "new" / "dir" / "file.md").read_bytes() == b"made"
    sandbox.write_atomic(p, "new/dir/other.md", b"again", create_parents=True)
    assert sandbox.list_files(p, "new") == ["new/dir/file.md", "new/dir/other.md"]


def test_missing_files(world: World) -> None:
    p = world.proj
    with pytest.raises(PathNotFound, match=r"'nope\.md' does not exist"):
        sandbox.read_bytes(p, "nope.md")
    with pytest.raises(PathNotFound, match="needs the folder 'nope'"):
        sandbox.stat(p, "nope/x.md")
    with pytest.raises(PathNotFound):
        sandbox.remove(p, "nope.md")
    assert not sandbox.exists(p, "nope.md")
    assert not sandbox.exists(p, "nope/x.md")
    assert sandbox.exists(p, "scripts/script.md")
    assert sandbox.exists(p, "scripts")


def test_remove(world: World) -> None:
    p = world.proj
    (p / "gone.md").write_bytes(b"x")
    sandbox.remove(p, "gone.md")
    assert not (p / "gone.md").exists()


def test_root_may_sit_behind_links(world: World, tmp_path: Path) -> None:
    os.symlink(world.proj, tmp_path / "proj_link")
    via = tmp_path / "proj_link"
    assert sandbox.read_bytes(via, "scripts/script.md") == b"# inside\n"
    sandbox.write_atomic(via, "scripts/via.md", b"via")
    assert (world.proj / "scripts" / "via.md").read_bytes() == b"via"
    os.unlink(tmp_path / "proj_link")


def test_missing_project_folder(tmp_path: Path) -> None:
    with pytest.raises(ReelcutError, match="cannot be opened"):
        sandbox.read_bytes(tmp_path / "absent", "x")


@pytest.mark.parametrize("existing", [True, False])
def test_failed_write_leaves_no_temp_and_the_target_unchanged(
    world: World, monkeypatch: pytest.MonkeyPatch, existing: bool
) -> None:
    p = world.proj
    if not existing:
        (p / "scripts" / "script.md").unlink()
    before = sorted(os.listdir(p / "scripts"))
    real_write = os.write
    calls: list[int] = []

    def disk_fills_up(fd: int, data: bytes) -> int:
        calls.append(fd)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, bytes(data)[:3])

    monkeypatch.setattr(os, "write", disk_fills_up)
    with pytest.raises(ReelcutError, match="No space left") as info:
        sandbox.write_atomic(p, "scripts/script.md", b"new content, longer than three bytes")
    monkeypatch.undo()
    assert not isinstance(info.value, PathRefused)
    assert len(calls) == 2
    assert sorted(os.listdir(p / "scripts")) == before
    if existing:
        assert (p / "scripts" / "script.md").read_bytes() == b"# inside\n"


# -- a folder swapped for a link while we use it ---------------------------------------------------


def test_component_swapped_for_an_outside_link_mid_call(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A thread flips proj/d between a real folder and a link to the decoy while we read and
    write through it; no read returns outside bytes and no write lands outside (the fixture)."""
    p = world.proj
    (p / "d").mkdir()
    (p / "d" / "script.md").write_bytes(b"inside d")
    os.symlink(world.evil / "sub", p / "d_link")  # holds script.md with the decoy bytes
    monkeypatch.setattr(os, "fsync", lambda fd: None)  # durability is not under test here
    stop = threading.Event()

    def swap() -> None:
        while not stop.is_set():
            os.rename(p / "d", p / "d_real")
            os.rename(p / "d_link", p / "d")
            os.rename(p / "d", p / "d_link")
            os.rename(p / "d_real", p / "d")

    seen: Counter[str] = Counter()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    swapper = threading.Thread(target=swap)
    swapper.start()
    try:
        for i in range(2000):
            try:
                assert sandbox.read_bytes(p, "d/script.md") == b"inside d"
                seen["read"] += 1
            except PathNotFound:
                seen["missing"] += 1
            except PathRefused as exc:
                assert "symbolic link" in str(exc)
                seen["refused"] += 1
            try:
                sandbox.write_atomic(p, "d/w.txt", b"write %d" % i)
                seen["wrote"] += 1
            except PathNotFound:
                seen["missing"] += 1
            except PathRefused as exc:
                assert "symbolic link" in str(exc)
                seen["refused"] += 1
    finally:
        stop.set()
        swapper.join()
        sys.setswitchinterval(interval)
    assert seen["read"] and seen["wrote"] and seen["refused"], seen
    assert not (world.evil / "sub" / "w.txt").exists()
    assert sorted(os.listdir(p / "d")) in (["script.md"], ["script.md", "w.txt"])


def test_component_swapped_right_after_every_look(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race made deterministic: proj/d is a real folder when a call starts and is flipped
    (folder <-> link to the decoy) right after every open or stat that names it, so a call that
    checks a name and then uses it again always meets the link the second time."""
    p = world.proj
    (p / "d").mkdir()
    (p / "d" / "script.md").write_bytes(b"inside d")
    os.symlink(world.evil / "sub", p / "d_link")
    rename = os.rename
    is_link = [False]

    def flip() -> None:
        if is_link[0]:
            rename(p / "d", p / "d_link")
            rename(p / "d_real", p / "d")
        else:
            rename(p / "d", p / "d_real")
            rename(p / "d_link", p / "d")
        is_link[0] = not is_link[0]

    def flipping(call: Callable[..., object]) -> Callable[..., object]:
        def looked(path: object, *args: object, **kwargs: object) -> object:
            try:
                return call(path, *args, **kwargs)
            finally:
                if isinstance(path, str | os.PathLike) and "d" in Path(os.fspath(path)).parts:
                    flip()

        return looked

    for name in ("open", "stat", "lstat"):
        monkeypatch.setattr(os, name, flipping(getattr(os, name)))
    for i in range(100):
        if is_link[0]:
            flip()
        assert sandbox.read_bytes(p, "d/script.md") == b"inside d"
        if is_link[0]:
            flip()
        sandbox.write_atomic(p, "d/w.txt", b"write %d" % i)
        if is_link[0]:
            flip()
        assert sandbox.read_many(p, ["d/script.md", "d/w.txt"]) == [b"inside d", b"write %d" % i]
        if is_link[0]:
            flip()
        _batch_write(p, "d/b.txt", b"batch %d" % i)
    monkeypatch.undo()
    if is_link[0]:
        flip()
    assert (p / "d" / "w.txt").read_bytes() == b"write 99"
    assert (p / "d" / "b.txt").read_bytes() == b"batch 99"


def test_no_descriptor_outlives_a_call(world: World) -> None:
    p = world.proj
    os.symlink(world.evil, p / "evil")
    os.mkfifo(p / "pipe")
    before = sorted(os.listdir("/proc/self/fd"))
    for _ in range(3):
        sandbox.write_atomic(p, "n/e/w.md", b"x", create_parents=True)
        sandbox.read_bytes(p, "n/e/w.md")
        sandbox.stat(p, "n/e/w.md")
        sandbox.exists(p, "n/e/w.md")
        sandbox.list_files(p)
        sandbox.remove(p, "n/e/w.md")
        _batch_write(p, "n/e/b.md", b"x")
        sandbox.read_many(p, ["n/e/b.md", "missing/x"])
        _batch_write(p, "n/e/b.md", None)
        for rel in ("evil/x", "pipe", "n", "n/e/w.md/x", "../x"):
            with pytest.raises(PathRefused):
                sandbox.read_bytes(p, rel)
            with pytest.raises(PathRefused):
                sandbox.write_atomic(p, rel, b"x")
            if rel == "n/e/w.md/x":
                # Missing, not refused; a batch would create the folders (as the ledger asks).
                assert sandbox.read_many(p, [rel]) == [None]
                continue
            with pytest.raises(PathRefused):
                sandbox.read_many(p, [rel])
            with pytest.raises(PathRefused):
                _batch_write(p, rel, b"x")
    assert sorted(os.listdir("/proc/self/fd")) == before


# -- batches --------------------------------------------------------------------------------------


def test_a_batch_changes_nothing_visible_until_each_commit(world: World) -> None:
    p = world.proj
    (p / "scripts" / "old.md").write_bytes(b"old")
    os.chmod(p / "scripts" / "script.md", 0o640)
    with sandbox.Batch(p) as batch:
        batch.stage("scripts/script.md", b"new script")
        batch.stage("scripts/old.md", None)
        batch.stage("new/deep/file.md", b"created")
        batch.stage("gone/never.md", None)  # nothing there: removing it is a no-op
        batch.stage("scripts/unused.md", b"staged, never committed")
        batch.sync()
        assert (p / "scripts" / "script.md").read_bytes() == b"# inside\n"
        assert (p / "scripts" / "old.md").read_bytes() == b"old"
        assert not (p / "new" / "deep" / "file.md").exists()
        for rel in ("scripts/script.md", "scripts/old.md", "new/deep/file.md", "gone/never.md"):
            batch.commit(rel)
    assert sandbox.read_many(
        p, ["scripts/script.md", "scripts/old.md", "new/deep/file.md", "scripts/unused.md"]
    ) == [b"new script", None, b"created", None]
    assert stat.S_IMODE((p / "scripts" / "script.md").stat().st_mode) == 0o640
    assert not [f for f in p.rglob("*") if f.name.endswith(sandbox.TEMP_SUFFIX)]


def test_a_batch_refusing_one_path_leaves_no_temp_behind(world: World) -> None:
    p = world.proj
    os.mkdir(p / "scripts" / "folder.md")
    with pytest.raises(PathRefused, match="folder"), sandbox.Batch(p) as batch:
        batch.stage("scripts/script.md", b"staged first")
        batch.stage("scripts/folder.md", b"not a file")
    assert (p / "scripts" / "script.md").read_bytes() == b"# inside\n"
    assert sorted(os.listdir(p / "scripts")) == ["folder.md", "script.md"]


def test_temp_files_a_killed_batch_left_are_cleared(world: World) -> None:
    p = world.proj
    stray = p / "scripts" / f".0123456789abcdef{sandbox.TEMP_SUFFIX}"
    stray.write_bytes(b"half")
    (p / "scripts" / ".hidden-but-mine.md").write_bytes(b"keep")
    assert sandbox.remove_temp_files(p, ["scripts", "missing"]) == [f"scripts/{stray.name}"]
    assert sorted(os.listdir(p / "scripts")) == [".hidden-but-mine.md", "script.md"]


def test_the_parallel_fsync_barrier_waits_for_every_file(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With much unwritten data about, the barrier fsyncs each file (in parallel, all awaited
    before any error is raised, since the caller closes the descriptors next)."""
    monkeypatch.setattr("engine.fsio.batch._dirty_bytes", lambda: sandbox.SYNCFS_DIRTY_LIMIT + 1)
    synced: list[int] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        real(fd)
        synced.append(fd)
        if len(synced) == 3:
            raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", fsync)
    with (
        pytest.raises(ReelcutError, match="Input/output error; nothing was changed"),
        sandbox.Batch(world.proj) as batch,
    ):
        for i in range(8):
            batch.stage(f"scripts/p{i}.md", b"x")
        batch.sync()
    assert len(synced) == 8
    assert sorted(os.listdir(world.proj / "scripts")) == ["script.md"]
