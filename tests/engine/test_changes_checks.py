"""A changeset cannot leave behind a file reelcut reads itself in a shape it cannot read: apply
refuses it whole (even forced), writes nothing and leaves the changeset as it was; revert is
never refused for it."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from engine.changes import checks
from engine.changes.ledger import BreaksFile, ChangesetError, Ledger
from engine.demo import SCENARIO, WORKFLOW
from engine.model import new_project
from engine.projectdir import ProjectDir
from engine.projectfile import decode_project
from engine.timebase import Rate
from tests.engine.test_changes import propose_all, run, snapshot


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    root = ProjectDir.create(tmp_path / "proj", new_project("t", rate=Rate(30))).root
    (root / "scripts" / "workflows").mkdir(parents=True)
    (root / "scripts" / "workflows" / "editor.json").write_text(json.dumps(WORKFLOW, indent=2))
    (root / "scripts" / "Scenario_TTS.json").write_text(json.dumps(SCENARIO, indent=2))
    (root / "scripts" / "notes.md").write_text("notes\n")
    return root


def broken_track_id(root: Path) -> str:
    """project.json with A1 given V1's id: valid JSON, not a valid project."""
    doc = json.loads((root / "project.json").read_text())
    doc["tracks"][1]["id"] = doc["tracks"][0]["id"]
    return json.dumps(doc, indent=2) + "\n"


def db_rows(root: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with sqlite3.connect(root / ".reelcut" / "state.sqlite") as conn:
        changesets = conn.execute("SELECT * FROM changesets ORDER BY id").fetchall()
        files = conn.execute("SELECT * FROM file_changes ORDER BY changeset_id, seq").fetchall()
    return changesets, files


BREAKAGES = {
    "project.json not JSON": ("project.json", '{\n  "schema_version": 1,\n  "name": \n}\n'),
    "project.json deleted": ("project.json", None),
    "pricing.json a string price": ("pricing.json", '{"m": {"input": "free", "output": 1}}'),
    "a workflow without instructions": ("scripts/workflows/editor.json", '{"schema_version": 1}'),
    "a manifest without source": ("remotion/a_1/manifest.json", '{"props": {}}'),
    "a scenario line by nobody": (
        "scripts/Scenario_TTS.json",
        '{"speakers": [], "lines": [{"speaker": "x", "text": "hi"}]}',
    ),
    "any JSON with a repeated key": ("scripts/data.json", '{"a": 1, "a": 2}'),
}


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("case", list(BREAKAGES))
def test_an_apply_that_would_break_a_file_reelcut_reads_writes_nothing(
    proj: Path, case: str, force: bool
) -> None:
    rel, text = BREAKAGES[case]
    # With a good file beside it, first in the changeset: all or nothing.
    edits = {"scripts/notes.md": "notes, rewritten\n", rel: text}
    cs = run(lambda ledger: propose_all(ledger, edits), proj)
    if force:  # a mismatch that force would rebase over: the refusal comes first
        (proj / "scripts" / "notes.md").write_text("notes, mine\n")
    files_before, rows_before = snapshot(proj), db_rows(proj)
    with pytest.raises(BreaksFile) as caught:
        run(lambda ledger: ledger.apply(cs, force=force), proj)
    error = caught.value
    assert isinstance(error, ChangesetError) and error.exit_code == 10
    message = str(error)
    assert message.startswith(f"changeset {cs} would leave {rel} invalid (")
    assert f"nothing was written; `reelcut changes DIR diff {cs}` shows it" in message
    assert "\n" not in message and error.path == rel
    assert snapshot(proj) == files_before
    assert db_rows(proj) == rows_before  # status, texts and hashes as they were


def test_a_broken_project_json_is_named_at_its_line_and_column(proj: Path) -> None:
    text = broken_track_id(proj)
    cs = run(lambda ledger: propose_all(ledger, {"project.json": text}), proj)
    with pytest.raises(BreaksFile) as caught:
        run(lambda ledger: ledger.apply(cs), proj)
    lines = text.splitlines()
    line = [i for i, s in enumerate(lines, 1) if '"id": "t_1"' in s][1]  # the second one
    column = lines[line - 1].index('"t_1"') + 1
    assert caught.value.problem.startswith(f"{line}:{column}: $.tracks[1].id: "), caught.value
    assert "t_1" in caught.value.problem


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{\n  "a": 1\n  "b": 2\n}', "3:3: not valid JSON"),
        ('{"schema_version": 1, "x": 1, "x": 2}', '1:31: $.x: the key "x" appears more than once'),
        ("[]", "1:1: $: expected an object, got an array"),
    ],
)
def test_project_json_problems_carry_a_position(text: str, where: str) -> None:
    found = checks.problem("project.json", text)
    assert found is not None and found.startswith(where), found


def test_what_reelcut_does_not_read_is_not_checked(proj: Path) -> None:
    good = (proj / "project.json").read_text()
    assert checks.problem("project.json", good) is None
    assert checks.problem("scripts/project.json", "{ not a project }") is not None  # JSON still
    assert checks.problem("scripts/project.json", '{"not": "a project"}') is None
    assert checks.problem("scripts/notes.md", "{") is None
    assert checks.problem("scripts/notes.md", None) is None
    assert checks.problem("pricing.json", None) is None
    assert checks.problem("PROJECT.JSON", "{}") is not None


def test_a_valid_project_json_change_applies(proj: Path) -> None:
    doc = json.loads((proj / "project.json").read_text())
    doc["name"] = "renamed"
    text = json.dumps(doc, indent=2) + "\n"
    cs = run(lambda ledger: propose_all(ledger, {"project.json": text}), proj)
    assert run(lambda ledger: ledger.apply(cs), proj).status == "applied"
    assert decode_project((proj / "project.json").read_bytes()).name == "renamed"


def test_revert_brings_back_even_a_broken_file(proj: Path) -> None:
    """A fix applied over a broken project.json reverts to the broken file: that is what was."""
    good = (proj / "project.json").read_text()
    broken = broken_track_id(proj)
    (proj / "project.json").write_text(broken)
    cs = run(lambda ledger: propose_all(ledger, {"project.json": good}), proj)
    assert run(lambda ledger: ledger.apply(cs), proj).status == "applied"
    assert run(lambda ledger: ledger.revert(cs), proj).status == "reverted"
    assert (proj / "project.json").read_text() == broken


def test_a_refused_changeset_applies_once_fixed(proj: Path) -> None:
    """The refusal leaves the proposal open: the next tool call on it can repair it."""

    async def go(ledger: Ledger) -> str:
        cs = await propose_all(ledger, {"pricing.json": '{"m": {"input": "free"}}'})
        with pytest.raises(BreaksFile):
            await ledger.apply(cs)
        await ledger.propose(cs, "pricing.json", '{"m": {"input": 0, "output": 0}}')
        done = await ledger.apply(cs)
        return done.status

    assert run(go, proj) == "applied"
    assert json.loads((proj / "pricing.json").read_text()) == {"m": {"input": 0, "output": 0}}


def test_the_check_runs_off_the_event_loop(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Decoding a large project.json must not stall the editor's loop."""
    seen: list[bool] = []
    real = checks.problem

    def probe(rel: str, text: str | None) -> str | None:
        try:
            asyncio.get_running_loop()
            seen.append(True)
        except RuntimeError:
            seen.append(False)
        return real(rel, text)

    monkeypatch.setattr(checks, "problem", probe)
    cs = run(lambda ledger: propose_all(ledger, {"scripts/notes.md": "x\n"}), proj)
    run(lambda ledger: ledger.apply(cs), proj)
    assert seen == [False]


def test_breaks_file_keeps_its_fields() -> None:
    error = BreaksFile(4, "project.json", "12:7: $.x: bad")
    assert (error.changeset_id, error.path, error.problem) == (4, "project.json", "12:7: $.x: bad")
    assert str(error).startswith("changeset 4 would leave project.json invalid (12:7: $.x: bad)")
