"""Issue 25, bullet 6, as a user meets it: the real `reelcut` process given arguments that
pass a schema's letter but not its meaning. Each gave an internal error (exit 70, "this is a
bug in reelcut") or recorded an edit that did nothing; now each is one line on stderr with a
documented exit code, and nothing on disk changes."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from tests.tui.test_cli import assert_one_line_error, reelcut


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".reelcut" not in p.parts
    }


def test_tool_arguments_that_would_crash_are_one_line_each(demo_dir: Path) -> None:
    before = _files(demo_dir)
    deep = "[" * 30_000 + "]" * 30_000
    script = '"path": "scripts/script.md"'
    cases = [
        (["file_read_slices", "{" + script + ', "ranges": [[1.0, 2]]}'], "$.ranges"),
        (["text_insert_lines", "{" + script + ', "after": 1.0, "text": "x"}'], "$.after"),
        (["timeline_move", '{"clip_ids": ["c_12"], "to": 1e29}'], "$.to"),
        (["file_list", deep], "nested more than 64 levels"),
        (["file_list", '{"under": ' + deep + "}"], "nested more than 64 levels"),
        (["file_list", "{}", "--changeset", "999"], "no changeset 999"),
    ]
    for argv, needle in cases:
        res = reelcut("tool", demo_dir, *argv)
        assert_one_line_error(res, 12, needle)
        document = json.loads(res.stdout)
        assert document["exit_code"] == 12 and document.get("ok") is not True
    assert _files(demo_dir) == before
    listed = reelcut("changes", demo_dir, "list", "--json")
    assert json.loads(listed.stdout) == []


def test_a_nudge_by_zero_says_so_and_records_no_undo_step(demo_dir: Path) -> None:
    """As a trim by 0 already did: exit 0, "(no change)", and no step to undo."""
    project = (demo_dir / "project.json").read_bytes()
    for argv in (
        ["nudge", "--clip-ids", "c_12", "--by", "0"],
        ["move", "--clip-ids", "c_12", "--by", "0"],
        ["trim", "--clip-id", "c_12", "--edge", "in", "--by", "0"],
    ):
        res = reelcut("edit", demo_dir, *argv)
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip().endswith("(no change)"), res.stdout
    assert (demo_dir / "project.json").read_bytes() == project
    history = reelcut("history", demo_dir, "--json")
    assert json.loads(history.stdout) == []
    undo = reelcut("undo", demo_dir)
    assert "nothing to undo" in undo.stdout + undo.stderr


def test_an_edit_tool_with_frames_beyond_the_timeline_changes_nothing(
    demo_dir: Path, tmp_path: Path
) -> None:
    """`--op-json` with a recorded batch carrying frame 10**30 was saved into project.json."""
    copy = tmp_path / "copy"
    shutil.copytree(demo_dir, copy)
    project = (copy / "project.json").read_bytes()
    batch = {
        "op": "batch",
        "steps": [
            {"p": "set_marker", "before": None, "after": {"id": "mx", "frame": 10**30}},
        ],
    }
    res = reelcut("edit", copy, "--op-json", json.dumps(batch))
    assert_one_line_error(res, 7, "beyond the longest timeline")
    assert (copy / "project.json").read_bytes() == project


def test_a_one_line_edit_of_a_large_script_prints_a_summary(tmp_path: Path) -> None:
    """`reelcut tool ... --apply` on a 5 MB script printed the whole file twice in its JSON
    (12 MB); now the answer is hashes, sizes and a short diff, and the file is exact."""
    root = tmp_path / "p"
    assert reelcut("new", root).returncode == 0
    lines = [f"{n:07d} a line of the script\n" for n in range(200_000)]
    (root / "scripts" / "big.md").write_text("".join(lines))
    args = json.dumps({"path": "scripts/big.md", "after": 2, "text": "inserted"})
    res = reelcut("tool", root, "text_insert_lines", args, "--apply")
    assert res.returncode == 0, res.stderr
    assert len(res.stdout.encode()) < 8 * 1024, len(res.stdout)
    after = json.loads(res.stdout)["audit"]["after"]["scripts/big.md"]
    data = (root / "scripts" / "big.md").read_bytes()
    assert data == "".join([*lines[:2], "inserted\n", *lines[2:]]).encode()
    assert after["sha256"] == hashlib.sha256(data).hexdigest() and after["bytes"] == len(data)
    assert "+inserted\n" in after["diff"]
