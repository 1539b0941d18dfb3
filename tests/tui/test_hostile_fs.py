"""File systems as they are: special files, read-only mounts, permissions and full disks.

Each case runs reelcut's command lines in a process of its own (`tests.tui.cli_probe`, through
the console script's entry), so a command that hangs on a FIFO fails the case instead of the
run, and the process can get a read-only bind mount or a small tmpfs (``unshare -m``: a private
mount namespace, gone with the process) or drop root's capabilities (``setpriv``), so that
permission bits bind even when the suite runs as root. What holds in every case: one line on
stderr naming the real cause (no traceback, no "internal error"), never advice to move the
state database aside (that loses the undo history and fixes neither a permission nor a full
disk), files outside the project untouched, the reading commands still working where the
project can be read, and an import on a nearly full disk done whole or not at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.media.room import IMPORT_HEADROOM
from tests.tui.test_cli_contract import call

REPO = Path(__file__).resolve().parents[2]

READERS = [
    ["info", "{p}"],
    ["history", "{p}"],
    ["jobs", "{p}", "list", "--all"],
    ["events", "{p}", "--after", "0"],
]
WRITERS = [
    ["edit", "{p}", "blade", "--at", "10"],
    ["undo", "{p}"],
    ["import", "{p}", "{media}"],
    ["serve", "{p}", "--port", "0"],
    ["open", "{p}"],
]
ALL = [*READERS, *WRITERS, ["changes", "{p}", "list"], ["tool", "{p}", "timeline_read", "{}"]]


# -- helpers ----------------------------------------------------------------------------------


def tree(root: Path) -> dict[str, tuple[str, int, str]]:
    """Every path under ``root`` (links not followed): its kind, permission bits and content
    (a file's sha256, a link's target), so 'byte-identical' is checked, not sizes."""
    found: dict[str, tuple[str, int, str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            st = path.lstat()
            if stat.S_ISREG(st.st_mode):
                content = hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                content = os.readlink(path)
            else:
                content = ""
            found[str(path.relative_to(root))] = (
                stat.filemode(st.st_mode)[0],
                stat.S_IMODE(st.st_mode),
                content,
            )
    return found


def probe(
    cases: list[list[str]], *, root: Path, media: Path, wrap: list[str] | None = None
) -> list[dict[str, Any]]:
    """Run ``cases`` (``{p}`` is ``root``, ``{media}`` a media file) in one process of their
    own under ``wrap``; return each one's exit code and output."""
    argv = [[a.replace("{p}", str(root)).replace("{media}", str(media)) for a in c] for c in cases]
    done = subprocess.run(
        [*(wrap or []), sys.executable, "-m", "tests.tui.cli_probe", "run", json.dumps(argv)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


def one_line(result: dict[str, Any]) -> str:
    """The one line a failed command printed (asserting it is one line, no traceback, no
    internal error, no advice that loses history)."""
    err = result["err"]
    assert result["code"] != "hang", f"{result['argv']} hung"
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"{result['argv']}: {err}"
    line = lines[0]
    assert line.startswith("reelcut: ") and "Traceback" not in err, line
    assert result["code"] not in (0, 70), f"{result['argv']} exited {result['code']}: {line}"
    assert "aside" not in line and "will be lost" not in line, line
    return line


def works(result: dict[str, Any]) -> None:
    assert result["code"] == 0, f"{result['argv']}: {result['err']}"


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-second video with sound (so an import stores two files: video and its audio)."""
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=d=2:s=160x120:r=30"),
            *("-f", "lavfi", "-i", "sine=d=2", "-c:v", "libx264", "-pix_fmt", "yuv420p"),
            *("-c:a", "aac", "-shortest", str(path)),
        ],
        check=True,
    )
    return path


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, media: Path) -> Path:
    """A small project with one imported clip (on the timeline) and its state database."""
    root = tmp_path_factory.mktemp("template") / "p"
    assert call("new", root).code == 0
    assert call("import", root, media).code == 0
    return root


@pytest.fixture
def project(template: Path, tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "p"
    shutil.copytree(template, root, symlinks=True)
    yield root
    for path in [root, *root.rglob("*")]:  # a test may have taken write permission away
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR | stat.S_IRUSR | stat.S_IXUSR)


def _works(argv: list[str]) -> bool:
    try:
        return subprocess.run(argv, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def unprivileged() -> list[str]:
    """A prefix under which permission bits bind: nothing for an ordinary user; for root,
    ``setpriv`` dropping every capability (root is then an ordinary owner of its files)."""
    if os.geteuid() != 0:
        return []
    prefix = ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--"]
    if not (shutil.which("setpriv") and _works([*prefix, "true"])):
        pytest.skip("running as root, and setpriv cannot drop capabilities here")
    return prefix


def in_mount_namespace(setup: str, target: Path) -> list[str]:
    """A prefix that runs the command in a private mount namespace after ``setup`` (a shell
    line where ``$0`` is ``target``); the mount goes away with the process."""
    prefix = ["unshare", "-m", "sh", "-c", f'{setup} && exec "$@"', str(target)]
    if not (shutil.which("unshare") and _works([*prefix, "true"])):
        pytest.skip("mounting in a private namespace is not permitted here (needs root)")
    return prefix


# -- a special file where project.json belongs ------------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "folder", "link out"])
def test_project_json_of_the_wrong_kind_is_refused_by_every_command(
    kind: str, project: Path, media: Path, tmp_path: Path
) -> None:
    """A FIFO must not hang any command (``info`` included: a reader would block in open);
    a link pointing out of the project is neither read nor replaced."""
    pj = project / "project.json"
    outside = tmp_path / "outside.json"
    shutil.copy(pj, outside)
    pj.unlink()
    if kind == "fifo":
        os.mkfifo(pj)
    elif kind == "folder":
        pj.mkdir()
    else:
        pj.symlink_to(outside)
    before, beside = tree(project), tree(tmp_path / "outside.json")
    words = {"fifo": "named pipe", "folder": "a folder", "link out": "symbolic link"}[kind]

    for result in probe(ALL, root=project, media=media):
        line = one_line(result)
        assert result["code"] == 3 and "project.json" in line and words in line, line

    assert tree(project) == before
    assert tree(tmp_path / "outside.json") == beside


# -- reelcut's own files and folders of the wrong kind ---------------------------------------


def test_a_file_where_the_state_folder_belongs(project: Path, media: Path) -> None:
    shutil.rmtree(project / ".reelcut")
    (project / ".reelcut").write_text("the user's file")
    before = tree(project)

    results = probe(ALL, root=project, media=media)

    works(results[0])  # info reads project.json only
    for result in results[1:]:
        line = one_line(result)
        assert ".reelcut" in line and ("not a folder" in line or "is a file" in line), line
    assert tree(project) == before


@pytest.mark.parametrize("kind", ["folder", "fifo", "link out"])
def test_a_writer_lock_of_the_wrong_kind(
    kind: str, project: Path, media: Path, tmp_path: Path
) -> None:
    """The lock is opened without following links: a link to a file outside would otherwise
    be truncated and written with the holder's name."""
    lock = project / ".reelcut" / "lock"
    outside = tmp_path / "precious.txt"
    outside.write_text("not reelcut's")
    lock.unlink()
    if kind == "folder":
        lock.mkdir()
    elif kind == "fifo":
        os.mkfifo(lock)
    else:
        lock.symlink_to(outside)
    before = tree(project)

    results = probe(READERS + WRITERS, root=project, media=media)

    for result in results[: len(READERS)]:
        works(result)
    for result in results[len(READERS) :]:
        line = one_line(result)
        assert ".reelcut/lock" in line and "writer lock" in line, line
    assert outside.read_text() == "not reelcut's"
    assert tree(project) == before


@pytest.mark.parametrize(
    ("name", "kind"),
    [("state.sqlite", "fifo"), ("state.sqlite", "folder"), ("project.sha256", "fifo")],
)
def test_state_files_of_the_wrong_kind(name: str, kind: str, project: Path, media: Path) -> None:
    """A pipe where the state database or the last save's record belongs must not hang a
    command (every command that reads project.json reads the record too, ``info`` included)."""
    path = project / ".reelcut" / name
    path.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    before = tree(project)
    words = "named pipe" if kind == "fifo" else "a folder"

    results = probe(ALL, root=project, media=media)

    for result in results[1:] if name == "state.sqlite" else results:
        line = one_line(result)
        assert name in line and words in line, line
    if name == "state.sqlite":
        works(results[0])  # info reads project.json only
    assert tree(project) == before


def test_a_file_where_the_scripts_folder_belongs(project: Path, media: Path) -> None:
    shutil.rmtree(project / "scripts", ignore_errors=True)
    (project / "scripts").write_text("the user's notes")
    before = tree(project)

    results = probe(READERS + WRITERS, root=project, media=media)

    for result in results[: len(READERS)]:
        works(result)
    for result in results[len(READERS) :]:
        line = one_line(result)
        assert result["code"] == 3 and "scripts" in line and "is a file" in line, line
    assert tree(project) == before


# -- read-only and permission-denied projects -------------------------------------------------


def _reading_still_works(results: list[dict[str, Any]], readable: list[dict[str, Any]]) -> None:
    """The reading commands give what they give on the writable project."""
    for got, expected in zip(results, readable, strict=True):
        works(got)
        assert got["out"] == expected["out"], got["argv"]


def test_a_read_only_mount(project: Path, media: Path) -> None:
    wrap = in_mount_namespace('mount --bind -o ro "$0" "$0"', project)
    readable = probe(READERS, root=project, media=media)
    before = tree(project)

    results = probe(ALL, root=project, media=media, wrap=wrap)

    _reading_still_works(results[: len(READERS)], readable)
    for result in results[len(READERS) :]:
        assert "read-only" in one_line(result)
    assert tree(project) == before


def test_a_project_without_write_permission(project: Path, media: Path) -> None:
    wrap = unprivileged()
    readable = probe(READERS, root=project, media=media)
    for path in [project, *project.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    before = tree(project)

    results = probe(ALL, root=project, media=media, wrap=wrap)

    _reading_still_works(results[: len(READERS)], readable)
    for result in results[len(READERS) :]:
        assert "permission denied" in one_line(result)
    assert tree(project) == before


def test_a_state_folder_that_cannot_be_opened(project: Path, media: Path) -> None:
    wrap = unprivileged()
    (project / ".reelcut").chmod(0)
    before = tree(project)

    results = probe(ALL, root=project, media=media, wrap=wrap)

    works(results[0])  # info reads project.json only
    for result in results[1:]:
        line = one_line(result)
        assert "permission denied" in line and ".reelcut" in line, line
    assert tree(project) == before


# -- a full disk ------------------------------------------------------------------------------

TMPFS = 'mount -t tmpfs -o size=8m tmpfs "$0"'


def fill_run(template: Path, work: Path, levels: list[int], argv: list[str]) -> list[Any]:
    """Run ``argv`` on a copy of ``template`` on a small tmpfs at ``work``, once per free-space
    level (see `tests.tui.cli_probe.fill_run`)."""
    work.mkdir()
    wrap = in_mount_namespace(TMPFS, work)
    done = subprocess.run(
        [
            *wrap,
            *(sys.executable, "-m", "tests.tui.cli_probe", "fill-run", str(template)),
            *(str(work), json.dumps(levels), json.dumps(argv)),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results: list[Any] = json.loads(done.stdout)
    return results


def import_needs(template: Path, media: Path) -> int:
    """Free space an import of ``media`` asks for: its bytes twice (the file and its demuxed
    audio, bounded by the file) and the headroom for project.json and the database."""
    return (
        2 * media.stat().st_size + IMPORT_HEADROOM + 2 * (template / "project.json").stat().st_size
    )


def check_import_is_whole_or_nothing(results: list[Any], before: list[str]) -> tuple[int, int]:
    """Each import either landed whole (assets in project.json, their files stored, their
    derivative jobs queued, no journal left) or left nothing (project.json's assets as before,
    no new files, no jobs, no temp files) with one line naming the full disk. Returns the
    counts (landed, refused)."""
    landed = refused = 0
    for r in results:
        assert r["pending"] == 0, r
        assert r["temps"] == [], r
        new = [a for a in r["assets"] if a not in before]
        if r["code"] == 0:
            landed += 1
            assert len(new) == 2 and set(new) <= set(r["job_assets"]), r
            assert len(r["asset_files"]) == len(before) + 2, r
        else:
            refused += 1
            line = one_line(r)
            assert "space" in line, line
            assert new == [] and not set(r["job_assets"]) - set(before), r
            assert len(r["asset_files"]) == len(before), r
    return landed, refused


@pytest.fixture
def empty_template(tmp_path: Path) -> Path:
    """A new project with its state database and no media."""
    root = tmp_path / "t"
    assert call("new", root).code == 0
    assert call("history", root).code == 0
    return root


def test_import_onto_a_nearly_full_disk_is_whole_or_nothing(
    empty_template: Path, media: Path, tmp_path: Path
) -> None:
    """A sample of free-space levels around what the import needs; the slow suite walks every
    level in 16 KiB steps (test_import_at_every_level_of_free_space)."""
    need = import_needs(empty_template, media)
    levels = [0, 16 << 10, 96 << 10, 512 << 10, need - (64 << 10), need + (64 << 10), need * 2]
    results = fill_run(empty_template, tmp_path / "fs", levels, ["import", "{p}", str(media)])

    landed, refused = check_import_is_whole_or_nothing(results, before=[])
    print(f"nearly full disk: {landed} imports landed whole, {refused} refused with nothing done")
    assert landed >= 1 and refused >= 1  # both sides of the line were reached


@pytest.mark.slow
def test_import_at_every_level_of_free_space(
    empty_template: Path, media: Path, tmp_path: Path
) -> None:
    need = import_needs(empty_template, media)
    levels = list(range(0, need + (512 << 10), 16 << 10))
    results = fill_run(empty_template, tmp_path / "fs", levels, ["import", "{p}", str(media)])

    landed, refused = check_import_is_whole_or_nothing(results, before=[])
    print(f"{len(levels)} levels: {landed} landed whole, {refused} refused with nothing done")
    assert landed >= 1 and refused >= 1


def test_an_edit_on_a_full_disk_names_the_disk(template: Path, tmp_path: Path) -> None:
    before = (template / "project.json").read_text()
    results = fill_run(template, tmp_path / "fs", [0], ["edit", "{p}", "blade", "--at", "10"])

    for r in results:
        assert "space" in one_line(r)
        assert r["project_json"] == before
