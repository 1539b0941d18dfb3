"""One durable write, one temp-name scheme, one cleanup (`engine.fsio.durable`).

Every writer reelcut has (project.json saves, the sandbox's single writes and batches, the
derivatives' commit, the importer's copy into assets/) is killed the moment it renames: it must
leave exactly one temp file of the one scheme beside its target, the target as it was, and the
one cleanup must clear them all while leaving the user's files, hidden ones included. A scan of
the engine's source then checks that no module invents a temp suffix of its own.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import tokenize
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine import sandbox
from engine.fsio import durable
from engine.fsio.durable import TEMP_SUFFIX, atomic_write, is_temp_name, remove_stale_temps
from engine.media import derivative_build, importer
from engine.model import new_project
from engine.projectdir import ProjectDir
from engine.projectfile import PROJECT_FILE
from engine.timebase import Rate

REPO = Path(__file__).resolve().parents[2]
KILLED = 73
OLD = b"old bytes\n"
NEW = b"new bytes, which must never be seen\n"
USER_FILES = {
    "scripts/.hidden.md": b"the user's hidden file",
    "scripts/notes.tmp": b"the user's own .tmp file",
    "scripts/.notes.tmp": b"and a hidden one",
    "proxies/.keep": b"",
}


def _killed_at_rename(write: Callable[[], object]) -> None:
    """Run ``write`` in a forked child that dies (``os._exit``, no cleanup of any kind) the
    moment it renames a file, as a kill -9 between the fsync and the rename would."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        try:

            def die(*_args: object, **_kwargs: object) -> int:
                os._exit(KILLED)

            os.replace = die
            os.rename = die
            durable._renameat2 = die  # the create-only rename
            write()
        finally:
            os._exit(1)  # it got past the rename without renaming, or raised
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == KILLED, (
        f"the writer did not reach its rename (wait status {status})"
    )


def _proxy_commit(root: Path) -> None:
    """The derivatives' commit: ffmpeg's output (here, plain bytes) at a temp path, then
    renamed into place by `derivative_build.produce`."""

    async def build(tmp: Path) -> None:
        tmp.write_bytes(NEW)

    asyncio.run(derivative_build.produce(root / "src.mp4", root / "proxies/p.mp4", "proxy", build))


def _import_copy(root: Path) -> None:
    """The importer's copy into assets/: hashed while copied to a temp name, then renamed to
    its sha256 (the name it is for is only known then: the temp is named for `TEMP_TARGET`)."""
    source = root.parent / "source.bin"
    source.write_bytes(NEW)
    importer.store_bytes(source, root / "assets", "bin")


def _batch(root: Path) -> None:
    with sandbox.Batch(root) as batch:
        batch.stage("scripts/c.md", NEW)
        batch.sync()
        batch.commit("scripts/c.md")


@dataclass(frozen=True)
class Writer:
    target: str  # relative to the project
    write: Callable[[Path], object]


WRITERS = {
    "atomic_write": Writer(PROJECT_FILE, lambda root: atomic_write(root / PROJECT_FILE, NEW)),
    "sandbox.write_atomic": Writer(
        "scripts/a.md", lambda root: sandbox.write_atomic(root, "scripts/a.md", NEW)
    ),
    "sandbox.write_atomic(exclusive)": Writer(
        "scripts/new.md",
        lambda root: sandbox.write_atomic(root, "scripts/new.md", NEW, exclusive=True),
    ),
    "sandbox.Batch": Writer("scripts/c.md", _batch),
    "derivatives commit": Writer("proxies/p.mp4", _proxy_commit),
    "importer copy": Writer(f"assets/{importer.TEMP_TARGET}", _import_copy),
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "assets").mkdir(parents=True)
    (root / ".reelcut").mkdir()  # a project (its project.json holds no timeline here)
    for rel in ("project.json", "scripts/a.md", "scripts/c.md", "proxies/p.mp4"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(OLD)
    for rel, data in USER_FILES.items():
        (root / rel).write_bytes(data)
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("kind", list(WRITERS))
def test_a_writer_killed_at_its_rename_leaves_one_temp_of_the_one_scheme(
    root: Path, kind: str
) -> None:
    writer = WRITERS[kind]
    before = _files(root)
    _killed_at_rename(lambda: writer.write(root))
    after = _files(root)

    new = sorted(set(after) - set(before))
    assert len(new) == 1, new
    temp = Path(new[0])
    target = Path(writer.target)
    assert temp.parent == target.parent and temp.name.endswith(TEMP_SUFFIX)
    assert re.fullmatch(rf"\.{re.escape(target.name)}\.[0-9a-f]{{16}}\.reelcut-tmp", temp.name)
    assert is_temp_name(temp.name) and is_temp_name(temp.name, target.name)
    assert after[new[0]] == NEW  # staged in full: only the rename was missing
    assert {k: v for k, v in after.items() if k != new[0]} == before  # the target untouched


def test_the_one_cleanup_clears_what_every_writer_left_and_nothing_else(root: Path) -> None:
    before = _files(root)
    for writer in WRITERS.values():
        _killed_at_rename(lambda writer=writer: writer.write(root))
    temps = set(_files(root)) - set(before)
    assert len(temps) == len(WRITERS)

    removed: list[Path] = []
    for folder in ("", "scripts", "proxies", "assets"):
        removed += remove_stale_temps(root / folder)

    assert sorted(str(p.relative_to(root)) for p in removed) == sorted(temps)
    assert _files(root) == before


def test_each_writer_clears_its_own_leftovers_where_it_runs(root: Path) -> None:
    """The cleanups that run in production (the writer lock, the ledger's reconcile, a
    derivative's next attempt) are all the one cleanup, so they see these temps too."""
    before = _files(root)
    for writer in WRITERS.values():
        _killed_at_rename(lambda writer=writer: writer.write(root))

    ProjectDir(root).writer("after the kills").release()  # project.json's temps
    sandbox.remove_temp_files(root, ["scripts"])  # what a killed apply left
    _proxy_commit(root)  # the job runs again

    left = {k for k in _files(root) if k not in before and k != ".reelcut/lock"}
    assert not [k for k in left if is_temp_name(Path(k).name, legacy=True)], left


def test_older_temp_names_are_cleared_where_they_were_cleared_before(tmp_path: Path) -> None:
    """Older reelcut named its temps ``.<target>.<12 hex>.tmp`` (engine/atomic.py) and its
    importer ``.import-<12 hex>.tmp`` in assets/; the writer lock still clears them. The sandbox
    never wrote such names, so its cleanup leaves a look-alike in scripts/ alone."""
    pd = ProjectDir.create(tmp_path / "proj", new_project("p", rate=Rate(30)))
    root = pd.root
    old = [
        ".project.json.0123456789ab.tmp",
        ".reelcut/.project.sha256.0123456789ab.tmp",
        "assets/.import-0123456789ab.tmp",
    ]
    kept = [".notes.tmp", "scripts/.x.0123456789ab.tmp", "assets/.import-later.tmp"]
    for rel in old + kept:
        (root / rel).write_bytes(b"x")

    pd.writer("after an upgrade").release()
    assert sandbox.remove_temp_files(root, ["scripts"]) == []

    assert [rel for rel in old if (root / rel).exists()] == []
    assert [rel for rel in kept if (root / rel).exists()] == kept


def test_the_temp_name_scheme() -> None:
    name = durable.temp_name("p.mp4")
    assert re.fullmatch(r"\.p\.mp4\.[0-9a-f]{16}\.reelcut-tmp", name)
    assert durable.temp_name("p.mp4") != name
    assert is_temp_name(name, "p.mp4")
    for other in ("p", "mp4", "q.mp4", "p.mp4.json", ".p.mp4"):
        assert not is_temp_name(name, other), other
    # The sandbox's earlier names had no target in them; its cleanup still knows them.
    assert is_temp_name(".0123456789abcdef.reelcut-tmp")
    # Look-alikes reelcut never writes.
    for foreign in (".reelcut-tmp", "x.0123456789abcdef.reelcut-tmp", ".a.0123.reelcut-tmp"):
        assert not is_temp_name(foreign), foreign
    # A name at the 255-byte limit is cut (whole UTF-8 bytes kept) and still recognised.
    long = "é" * 127 + "x"
    cut = durable.temp_name(long)
    assert len(os.fsencode(cut)) <= 255
    assert is_temp_name(cut) and is_temp_name(cut, long)


# -- one suffix in the engine's source ----------------------------------------------------------

# A string literal that ends a file name in a temp-like suffix: ".tmp", "-temp", ".part", ...
TEMP_LITERAL = re.compile(r"[.\-](?:tmp|temp|part|partial|swp)(?![A-Za-z0-9_])")
OWNER = "engine/fsio/durable.py"
# Not durable writes, or not ours to change yet; each entry names why. Fixing one fails the test
# until its entry goes, so the list only shrinks.
KNOWN = {
    "engine/demo.py": "a staging folder made by tempfile.mkdtemp, renamed whole into place",
}
_STRING_TOKENS = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}


def temp_literals(source: str) -> list[str]:
    """The string literals in ``source`` that carry a temp-like suffix."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [t.string for t in tokens if t.type in _STRING_TOKENS and TEMP_LITERAL.search(t.string)]


def test_the_scan_finds_temp_suffixes() -> None:
    """The probe can fail: it sees literals, f-strings and keyword arguments, not comments."""
    assert temp_literals('tmp = f".{name}.part"\n')
    assert temp_literals('mkdtemp(suffix=".tmp")\n')
    assert temp_literals('SUFFIX = "-temp"\n')
    assert not temp_literals('# a ".tmp" in a comment\nx = ".tmpl"\ny = "temporary"\n')


def test_the_engine_has_one_temp_suffix_defined_in_one_place() -> None:
    offenders = {}
    for path in sorted((REPO / "engine").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        found = temp_literals(path.read_text(encoding="utf-8"))
        if found:
            offenders[rel] = found
    assert OWNER in offenders, "the scan missed the module that defines the suffix"
    del offenders[OWNER]
    assert sorted(offenders) == sorted(KNOWN), offenders
    definitions = [
        p.relative_to(REPO).as_posix()
        for p in (REPO / "engine").rglob("*.py")
        if re.search(r"^\s*TEMP_SUFFIX\s*=", p.read_text(encoding="utf-8"), re.MULTILINE)
    ]
    assert definitions == [OWNER]
