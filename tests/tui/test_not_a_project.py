"""Never touch what is not ours: a command aimed at a folder that is not a reelcut project
refuses in one line before it creates or deletes anything there, and reelcut's cleanup of
temp files removes only the files reelcut made, by their exact names, and only in a project.

Every command the parser has (each verb of ``changes`` and ``jobs`` too, and ``reelcut DIR``)
is aimed at two folders that are not projects: a folder of footage whose ``assets/`` holds the
user's own hidden files (one named like a reelcut temp file), and another tool's project with a
``project.json`` of its own (Nx, .NET). Each must stay byte-identical.
"""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from tests.tui.test_cli_contract import COMMANDS, CREATORS, action_choices, call, template

NOT_OURS = {
    "clip.mp4": b"not really a clip",
    "assets/.draft.tmp": b"the user's draft",
    "assets/.import-0123456789ab.tmp": b"named like an old importer's temp",
    "assets/.import.0123456789abcdef.reelcut-tmp": b"named like an importer's temp",
    ".project.json.0123456789abcdef.reelcut-tmp": b"named like a save's temp",
    "previews/.x.jpg.0123456789abcdef.reelcut-tmp": b"named like a derivative's temp",
    "scripts/notes.md": b"# the user's notes\n",
}
FOREIGN_PROJECT_JSON = b'{"name": "my-app", "sourceRoot": "apps/my-app/src", "targets": {}}\n'


def tree(root: Path) -> dict[str, tuple[int, str]]:
    """Every path under ``root`` with its mode and, for a file, the sha256 of its bytes."""
    return {
        str(p.relative_to(root)): (
            p.lstat().st_mode,
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "",
        )
        for p in sorted(root.rglob("*"))
    }


def command_lines(root: Path, media: Path) -> list[list[str]]:
    """One well-formed command line per command and verb that takes a project folder."""
    lines: list[list[str]] = [[str(root)]]  # `reelcut DIR`
    for name in sorted(set(COMMANDS) - CREATORS - {"tools"}):
        base = template(name, root, media)
        if name == "edit":
            lines.append([*base, "blade", "--at", "10"])
        elif name in ("changes", "jobs"):
            verbs = action_choices(name)
            for verb in verbs:
                argv = [name, str(root), verb]
                if verb in ("show", "diff", "replay", "apply", "revert", "cancel", "retry"):
                    argv.append("1")
                lines.append(argv)
        else:
            lines.append(base)
    return lines


@pytest.fixture(params=["footage", "another tool's project"])
def not_a_project(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    root = tmp_path / "folder"
    for rel, data in NOT_OURS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    if request.param != "footage":
        (root / "project.json").write_bytes(FOREIGN_PROJECT_JSON)
    return root


def test_every_command_refuses_a_folder_that_is_not_a_project_and_leaves_it(
    not_a_project: Path,
) -> None:
    root = not_a_project
    media = root / "clip.mp4"
    before = tree(root)
    lines = command_lines(root, media)
    assert len(lines) > 20  # every verb, not a hand-picked few

    for argv in lines:
        res = call(*argv)
        line = res.one_line()
        assert res.code == 3 and "not a reelcut project" in line, (argv, line)
        assert tree(root) == before, argv


def test_cleanup_in_a_project_takes_only_reelcut_s_own_temps(tmp_path: Path) -> None:
    """The writer lock clears what killed writers left, by their exact names: the importer's
    in assets/ (``.import.<16 hex>.reelcut-tmp``, and older importers'
    ``.import-<12 hex>.tmp``) and project.json's. A user's file that only looks like one (a
    ``.tmp`` of their own, a name of the old ``.<name>.<12 hex>.tmp`` pattern in assets/, a
    folder with a temp file's name) stays, byte for byte."""
    root = tmp_path / "p"
    assert call("new", root).code == 0
    ours = [
        "assets/.import.0123456789abcdef.reelcut-tmp",
        "assets/.import-0123456789ab.tmp",
        ".project.json.fedcba9876543210.reelcut-tmp",
    ]
    theirs = {
        "assets/.draft.tmp": b"the user's draft",
        "assets/.notes.0123456789ab.tmp": b"an old-temp look-alike of the user's",
        "assets/.clip.mp4.0123456789abcdef.reelcut-tmp": b"a temp name, but not the importer's",
        "scripts/.x.0123456789ab.tmp": b"the user's",
    }
    for rel in ours:
        (root / rel).write_bytes(b"left by a killed writer")
    for rel, data in theirs.items():
        (root / rel).write_bytes(data)
    (root / ".project.json.0123456789abcdef.reelcut-tmp.d").mkdir()
    folder_named_like_a_temp = root / ".project.json.0123456789abcdef.reelcut-tmp"
    folder_named_like_a_temp.mkdir()
    (folder_named_like_a_temp / "keep.txt").write_bytes(b"the user's")

    res = call("edit", root, "add-track", "--kind", "video")
    assert res.code == 0, res.err

    assert [rel for rel in ours if (root / rel).exists()] == []
    assert {rel: (root / rel).read_bytes() for rel in theirs} == theirs
    assert stat.S_ISDIR(folder_named_like_a_temp.lstat().st_mode)
    assert (folder_named_like_a_temp / "keep.txt").read_bytes() == b"the user's"
