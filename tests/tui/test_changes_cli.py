"""`reelcut changes`: list, show, diff, apply and revert from the command line, in subprocesses."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from engine.changes.ledger import HashMismatch, Ledger, sha256
from tests.tui.test_cli import reelcut


def propose(root: Path, edits: dict[str, str | None]) -> int:
    async def go() -> int:
        ledger = await Ledger.open(root)
        try:
            cs = await ledger.store.create("agent", "tighten the intro")
            for rel, text in edits.items():
                await ledger.propose(cs, rel, text)
            await ledger.mark_ready(cs)
            return cs
        finally:
            await ledger.close()

    return asyncio.run(go())


def test_review_apply_and_revert_from_the_command_line(tmp_path: Path) -> None:
    root = tmp_path / "p"
    assert reelcut("new", root).returncode == 0
    script = root / "scripts" / "script.md"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text("# Intro\nA long, winding opening line.\n")
    cs = propose(root, {"scripts/script.md": "# Intro\nA short opening.\n"})

    listed = reelcut("changes", root, "list")
    assert listed.returncode == 0 and f"{cs}  ready" in listed.stdout
    diff = reelcut("changes", root, "diff", str(cs))
    assert "-A long, winding opening line.\n+A short opening.\n" in diff.stdout
    shown = json.loads(reelcut("changes", root, "show", str(cs), "--json").stdout)
    assert shown["status"] == "ready" and shown["files"][0]["path"] == "scripts/script.md"

    assert reelcut("changes", root, "apply", str(cs)).returncode == 0
    assert script.read_text() == "# Intro\nA short opening.\n"

    # The user edits the file afterwards: revert must not clobber it.
    script.write_text("# Intro\nA short opening. Mine now.\n")
    res = reelcut("changes", root, "revert", str(cs))
    assert res.returncode == HashMismatch.exit_code
    applied = sha256(b"# Intro\nA short opening.\n")
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert f"expected sha256 {applied}" in res.stderr
    assert f"found sha256 {sha256(script.read_bytes())}" in res.stderr
    assert "Traceback" not in res.stderr
    assert script.read_text() == "# Intro\nA short opening. Mine now.\n"

    assert reelcut("changes", root, "revert", str(cs), "--force").returncode == 0
    assert script.read_text() == "# Intro\nA long, winding opening line.\n"


def test_unknown_changeset_is_one_line(tmp_path: Path) -> None:
    root = tmp_path / "p"
    assert reelcut("new", root).returncode == 0
    res = reelcut("changes", root, "apply", "42")
    assert res.returncode == 10
    assert res.stderr.strip() == "reelcut: no changeset 42; `reelcut changes DIR list` shows them"


def test_an_agent_shaped_session_from_the_command_line(demo_dir: Path) -> None:
    """tools -> tool (proposals into one changeset) -> changes show/diff -> apply -> revert."""
    tools = json.loads(reelcut("tools", "--json").stdout)
    assert {"timeline_read", "timeline_blade", "text_replace_lines"} <= {t["name"] for t in tools}
    before = (demo_dir / "project.json").read_bytes()

    res = reelcut("tool", demo_dir, "timeline_blade", '{"at": "00:00:04:00"}')
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    cs = str(out["changeset"])
    assert out["result"]["summary"] == "cut 3 clip(s) at 00:00:04:00" and not out["applied"]
    res = reelcut(
        "tool",
        demo_dir,
        "text_insert_lines",
        '{"path": "scripts/script.md", "after": 0, "text": "Draft 2"}',
        "--changeset",
        cs,
    )
    assert res.returncode == 0, res.stderr
    assert (demo_dir / "project.json").read_bytes() == before  # proposed, not applied

    shown = reelcut("changes", demo_dir, "show", cs).stdout
    assert "tool timeline_blade ok" in shown and "tool text_insert_lines ok" in shown
    assert "+Draft 2" in reelcut("changes", demo_dir, "diff", cs).stdout
    assert reelcut("changes", demo_dir, "apply", cs).returncode == 0
    assert (demo_dir / "scripts/script.md").read_text().startswith("Draft 2\n")
    assert '"c_18"' in (demo_dir / "project.json").read_text()
    assert reelcut("changes", demo_dir, "revert", cs).returncode == 0
    assert (demo_dir / "project.json").read_bytes() == before

    bad = reelcut("tool", demo_dir, "timeline_trim", '{"clip_id": "c_10", "edge": "up"}')
    assert bad.returncode == 12
    assert bad.stderr.count("\n") == 1 and "$.edge" in bad.stderr


def agent_changeset(root: Path, *calls: tuple[str, dict[str, object]]) -> str:
    """Tool calls from the command line into one changeset, proposed; its id."""
    cs: list[str] = []
    for name, args in calls:
        res = reelcut("tool", root, name, json.dumps(args), *(["--changeset", *cs] if cs else []))
        assert res.returncode == 0, res.stderr
        cs = [str(json.loads(res.stdout)["changeset"])]
    return cs[0]


def test_replay_lists_the_timeline_steps(demo_dir: Path) -> None:
    cs = agent_changeset(
        demo_dir,
        ("timeline_blade", {"at": 65}),
        ("timeline_move", {"clip_ids": ["c_12"], "by": 30}),
    )
    res = reelcut("changes", demo_dir, "replay", cs)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [
        "1/2 at 00:00:02:05 (frame 65): cut 4 clip(s) at 00:00:02:05",
        "2/2 at 00:00:09:00 (frame 270): moved Still (c_12) from 00:00:08:00 to 00:00:09:00",
    ]
    res = reelcut("changes", demo_dir, "replay", cs, "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["id"] == int(cs) and doc["fits"] is True
    assert [(s["index"], s["frame"], s["fits"], s["error"]) for s in doc["steps"]] == [
        (1, 65, True, None),
        (2, 270, True, None),
    ]
    assert doc["steps"][0]["op"] == {"op": "blade", "at": 65, "clip_ids": []}
    assert doc["steps"][1]["summary"] == "moved Still (c_12) from 00:00:08:00 to 00:00:09:00"


def test_replay_says_where_the_steps_stop_fitting(demo_dir: Path) -> None:
    """A text edit renames c_12 in project.json, then a timeline tool moves it by its new id:
    replayed from before the changeset, the move finds no such clip. A report, so exit 0."""
    lines = (demo_dir / "project.json").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.strip() == '"id": "c_12",')
    rename = {"path": "project.json", "first": line, "last": line, "text": '"id": "c_still",'}
    cs = agent_changeset(
        demo_dir,
        ("text_replace_lines", rename),
        ("timeline_move", {"clip_ids": ["c_still"], "by": 30}),
        ("timeline_lift", {"clip_ids": ["c_13"]}),
    )
    res = reelcut("changes", demo_dir, "replay", cs)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [
        "1/2: moved Still (c_still) from 00:00:08:00 to 00:00:09:00",
        "step 1/2 does not fit: clip 'c_still' does not exist; `reelcut info DIR` lists clip "
        f"ids; `reelcut changes {demo_dir} diff {cs}` shows the file changes",
        "2/2 (not replayed): lifted 1 clip(s)",
    ]
    res = reelcut("changes", demo_dir, "replay", cs, "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["fits"] is False
    assert [(s["fits"], s["error"]) for s in doc["steps"]] == [
        (False, "clip 'c_still' does not exist; `reelcut info DIR` lists clip ids"),
        (False, "not replayed: step 1/2 does not fit"),
    ]
    # An unknown changeset is still the one-line error it is for every other action.
    res = reelcut("changes", demo_dir, "replay", "42")
    assert res.returncode == 10
    assert res.stderr.strip() == "reelcut: no changeset 42; `reelcut changes DIR list` shows them"
