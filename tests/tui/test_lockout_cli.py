"""Nothing the agent does can lock the user out, as a user meets it on the command line (real
`reelcut` processes): a changeset that would break project.json is refused on apply; when
project.json is broken anyway, changesets can still be reviewed and reverted; and an undo that
cannot run names the changeset whose revert makes it possible again."""

from __future__ import annotations

import asyncio
import json
import shlex
from pathlib import Path

from engine.changes.ledger import BreaksFile, HashMismatch, Ledger
from engine.errors import ProjectInvalid
from engine.session import HistoryConflict
from tests.tui.test_cli import assert_one_line_error, reelcut


def new_project(root: Path) -> bytes:
    assert reelcut("new", root).returncode == 0
    return (root / "project.json").read_bytes()


def replace_line(root: Path, starts: str, text: str, *extra: str) -> int:
    """Propose, with the agent's line tool, that project.json's line starting ``starts`` (after
    its indent) become ``text``; return the changeset."""
    lines = (root / "project.json").read_text().splitlines()
    line = next(i for i, s in enumerate(lines, 1) if s.lstrip().startswith(starts))
    args = {"path": "project.json", "first": line, "last": line, "text": text}
    res = reelcut("tool", root, "text_replace_lines", json.dumps(args), *extra)
    assert res.returncode == 0, res.stderr
    return int(json.loads(res.stdout)["changeset"])


def add_marker(root: Path) -> bytes:
    res = reelcut("edit", root, "add-marker", "--at", "10", "--name", "cue")
    assert res.returncode == 0, res.stderr
    return (root / "project.json").read_bytes()


def revert_hint(root: Path, cs: int, action: str = "undo") -> str:
    return (
        f"project.json was last changed by changeset {cs} (cli); "
        f"`reelcut changes {shlex.quote(str(root))} revert {cs}` undoes that, then {action} "
        "works again"
    )


def test_a_changeset_that_would_break_project_json_is_refused_on_apply(tmp_path: Path) -> None:
    root = tmp_path / "p"
    before = new_project(root)
    cs = replace_line(root, '"width"', '  "width": ,')
    for force in ((), ("--force",)):
        res = reelcut("changes", root, "apply", str(cs), *force)
        assert_one_line_error(
            res,
            BreaksFile.exit_code,
            f"changeset {cs} would leave project.json invalid (",
            "not valid JSON",
            f"nothing was written; `reelcut changes DIR diff {cs}` shows it",
        )
        assert (root / "project.json").read_bytes() == before
    assert f"{cs}  ready" in reelcut("changes", root, "list").stdout
    assert reelcut("info", root).returncode == 0


def test_a_changeset_that_breaks_a_project_invariant_is_refused_where_it_breaks(
    tmp_path: Path,
) -> None:
    root = tmp_path / "p"
    before = new_project(root)
    cs = replace_line(root, '"width"', '  "width": -5,')
    res = reelcut("changes", root, "apply", str(cs), "--json")
    assert json.loads(res.stdout)["exit_code"] == 10
    line = next(
        i for i, s in enumerate(before.decode().splitlines(), 1) if s.lstrip().startswith('"wid')
    )
    assert_one_line_error(res, 10, f"project.json invalid ({line}:12: $.width: ")
    assert (root / "project.json").read_bytes() == before


def mark_applied_by_an_older_reelcut(root: Path, cs: int) -> bytes:
    """Write the changeset's project.json and record it applied, unchecked, as reelcut did
    before apply checked what it writes."""

    async def go() -> str:
        ledger = await Ledger.open(root)
        try:
            [change] = await ledger.store.files(cs)
            await ledger.store.set_state(cs, status="applied", in_flight=None, applied=True)
            assert change.after_text is not None
            return change.after_text
        finally:
            await ledger.close()

    broken = asyncio.run(go()).encode()
    (root / "project.json").write_bytes(broken)
    return broken


def test_review_revert_and_undo_work_when_a_changeset_broke_project_json(tmp_path: Path) -> None:
    root = tmp_path / "p"
    new_project(root)
    marked = add_marker(root)
    cs = replace_line(root, '"height"', '  "height": "tall",')
    broken = mark_applied_by_an_older_reelcut(root, cs)
    assert_one_line_error(reelcut("info", root), ProjectInvalid.exit_code, "$.height")

    listed = reelcut("changes", root, "list")
    assert listed.returncode == 0 and f"{cs}  applied" in listed.stdout, listed.stderr
    shown = reelcut("changes", root, "show", str(cs))
    assert shown.returncode == 0 and "changed  project.json" in shown.stdout, shown.stderr
    diff = reelcut("changes", root, "diff", str(cs))
    assert diff.returncode == 0 and '+  "height": "tall",' in diff.stdout, diff.stderr

    res = reelcut("undo", root)
    assert_one_line_error(res, ProjectInvalid.exit_code, "$.height", revert_hint(root, cs))
    assert (root / "project.json").read_bytes() == broken

    res = reelcut("changes", root, "revert", str(cs))
    assert res.returncode == 0, res.stderr
    assert (root / "project.json").read_bytes() == marked
    res = reelcut("undo", root)
    assert res.returncode == 0, res.stderr
    assert "undid: " in res.stdout and '"cue"' not in (root / "project.json").read_text()


def test_undo_names_the_changeset_forced_over_a_cli_edit(tmp_path: Path) -> None:
    """The bug report: an edit, then a changeset made before it applied over it with --force.
    Undo is refused (the file is not the edit's), but says which revert brings undo back; the
    forced apply kept the edit's bytes, so the revert restores them exactly."""
    root = tmp_path / "p"
    original = new_project(root)
    cs = replace_line(root, '"name"', '  "name": "renamed",')
    marked = add_marker(root)
    res = reelcut("changes", root, "apply", str(cs))
    assert res.returncode == HashMismatch.exit_code, res.stderr
    assert reelcut("changes", root, "apply", str(cs), "--force").returncode == 0
    forced = (root / "project.json").read_bytes()
    assert b'"renamed"' in forced and b'"cue"' not in forced

    res = reelcut("undo", root)
    assert_one_line_error(res, HistoryConflict.exit_code, "cannot undo", revert_hint(root, cs))
    assert (root / "project.json").read_bytes() == forced

    assert reelcut("changes", root, "revert", str(cs)).returncode == 0
    assert (root / "project.json").read_bytes() == marked
    res = reelcut("undo", root)
    assert res.returncode == 0, res.stderr
    assert (root / "project.json").read_bytes() == original


def test_an_outside_edit_gets_no_changeset_named(tmp_path: Path) -> None:
    """After the changeset, the file was changed by hand: reverting it would throw that away,
    so the refusal does not suggest it."""
    root = tmp_path / "p"
    new_project(root)
    add_marker(root)
    cs = replace_line(root, '"name"', '  "name": "renamed",')
    assert reelcut("changes", root, "apply", str(cs)).returncode == 0
    path = root / "project.json"
    path.write_text(path.read_text().replace('"renamed"', '"by hand"'))
    res = reelcut("undo", root)
    assert_one_line_error(res, HistoryConflict.exit_code, "cannot undo")
    assert "changeset" not in res.stderr
