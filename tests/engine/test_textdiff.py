"""engine.textdiff writes diffs that git applies and that reproduce the new text byte for byte.

The promises: ``apply_unified(before, unified_diff(before, after)) == after`` for every pair of
texts (CRLF, missing final newline and empty files included), also when the matcher falls back
to its cheap strategies; ``git apply`` accepts the same diffs and produces exactly ``after``;
small inputs get a minimal diff; ``apply_unified`` rejects diffs that do not fit.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import linediff
from engine.textdiff import PatchRejected, apply_unified, diff_stats, unified_diff

# Few distinct lines, so texts repeat lines a lot; some look like diff syntax on purpose.
ALPHABET = ["a", "b", "c", "}", "", " a", "-a", "+b", "\\ x", "@@ -1 +1 @@", "--- a/f", "a\r"]
ENDINGS = ["\n", "\n", "\n", "\r\n"]


def join(lines: list[str], endings: list[str], final_newline: bool) -> str:
    text = "".join(line + end for line, end in zip(lines, endings, strict=False))
    if lines and not final_newline:
        text = text[: -len(endings[len(lines) - 1])]
    return text


@st.composite
def texts(draw: st.DrawFn) -> str:
    lines = draw(st.lists(st.sampled_from(ALPHABET), max_size=25))
    endings = draw(st.lists(st.sampled_from(ENDINGS), min_size=len(lines), max_size=len(lines)))
    return join(lines, endings, draw(st.booleans()))


@st.composite
def text_pairs(draw: st.DrawFn) -> tuple[str, str]:
    """Unrelated texts half of the time, otherwise ``after`` is ``before`` with a few edits."""
    before = draw(texts())
    if draw(st.booleans()):
        return before, draw(texts())
    lines = before.split("\n")
    for _ in range(draw(st.integers(1, 4))):
        k = draw(st.integers(0, len(lines)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        if op == "insert" or k == len(lines):
            lines.insert(k, draw(st.sampled_from(ALPHABET)))
        elif op == "delete":
            del lines[k]
        else:
            lines[k] = draw(st.sampled_from(ALPHABET))
    return before, "\n".join(lines)


# Matcher settings that force each fallback: "resync" skips Myers for every region and anchoring
# ends quickly; "replace" has no budget at all, so each region is one replace block.
STRATEGIES = {
    "default": {"_SMALL": linediff._SMALL},
    "resync": {"_SMALL": 0, "_MYERS_WORK": 3, "_RESYNC_MAX_D": 3, "_BUDGET_BASE": 400},
    "replace": {"_BUDGET_BASE": 0, "_BUDGET_PER_LINE": 0},
}


@contextmanager
def strategy(name: str) -> Iterator[None]:
    with mock.patch.multiple(linediff, **STRATEGIES[name]):  # type: ignore[call-overload]
        yield


@pytest.mark.parametrize("name", list(STRATEGIES))
@settings(max_examples=300, deadline=None)
@given(pair=text_pairs(), context=st.integers(0, 4))
def test_applying_the_diff_gives_after(name: str, pair: tuple[str, str], context: int) -> None:
    before, after = pair
    with strategy(name):
        diff = unified_diff(before, after, "f.txt", context=context)
    assert apply_unified(before, diff) == after
    assert (diff == "") == (before == after)


def lcs_length(a: list[str], b: list[str]) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        prev_diag = 0
        for j, y in enumerate(b):
            prev_diag, row[j + 1] = (
                row[j + 1],
                (prev_diag + 1 if x == y else max(row[j + 1], row[j])),
            )
    return row[-1]


def eol_lines(text: str) -> list[str]:
    return text.splitlines(keepends=True) if "\r" not in text else re.findall(r"[^\n]*\n|.+$", text)


@settings(max_examples=300, deadline=None)
@given(pair=text_pairs())
def test_small_inputs_get_a_minimal_diff(pair: tuple[str, str]) -> None:
    before, after = pair
    a, b = eol_lines(before), eol_lines(after)
    added, removed = diff_stats(unified_diff(before, after, "f.txt"))
    common = lcs_length(a, b)
    assert (added, removed) == (len(b) - common, len(a) - common)


# --- git apply ---------------------------------------------------------------------------------

WORDS = [
    "clip",
    "track",
    "frame",
    "cut",
    "fade",
    "audio",
    "video",
    "render",
    "trim",
    "ripple",
    "slip",
    "marker",
    "title",
]


def script(rng: random.Random, n: int) -> list[str]:
    """Code-like lines: mostly unique, with the blank lines and braces real files repeat."""
    out = []
    for i in range(n):
        r = rng.random()
        if r < 0.1:
            out.append("")
        elif r < 0.15:
            out.append("    }")
        else:
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 7)))
            out.append(f"    {rng.choice(WORDS)}_{i}({words})")
    return out


def edited(rng: random.Random, lines: list[str], edits: int) -> list[str]:
    out = list(lines)
    for e in range(edits):
        k = rng.randrange(len(out) + 1)
        op = rng.choice(["insert", "delete", "replace"]) if k < len(out) else "insert"
        if op == "insert":
            out.insert(k, f"    inserted_{e}()")
        elif op == "delete":
            del out[k]
        else:
            out[k] = f"    replaced_{e}()"
    return out


def git_cases() -> list[tuple[str, str | None, str | None]]:
    """30 (path, before, after) cases from a fixed seed: small random texts like the property
    test's, larger scripts with scattered edits, repetitive text, and special cases."""
    rng = random.Random(20240611)
    cases: list[tuple[str, str | None, str | None]] = []
    for k in range(14):
        lines = [rng.choice(ALPHABET) for _ in range(rng.randint(0, 30))]
        before = join(lines, [rng.choice(ENDINGS) for _ in lines], rng.random() < 0.6)
        lines2 = edited(rng, lines, rng.randint(1, 5)) if rng.random() < 0.7 else lines[::-1]
        after = join(lines2, [rng.choice(ENDINGS) for _ in lines2], rng.random() < 0.6)
        cases.append((f"small_{k}.txt", before, after))
    for k in range(6):
        lines = script(rng, 2000)
        end = "\n" if k % 2 else "\r\n"
        cases.append((f"script_{k}.py", end.join(lines) + end, end.join(edited(rng, lines, 25))))
    braces = ["}"] * 3000
    cases.append(("braces.txt", "\n".join(braces) + "\n", "\n".join(edited(rng, braces, 30))))
    ab = ["a", "b"] * 1500
    cases.append(("ab.txt", "\n".join(ab) + "\n", "\n".join(edited(rng, ab, 30)) + "\n"))
    cases.append(("crlf.txt", "a\r\nb\r\nc\r\n", "a\nb\nc\n"))
    cases.append(("eol_added.txt", "x\ny", "x\ny\n"))
    cases.append(("eol_removed.txt", "x\ny\n", "x\ny"))
    cases.append(("dir/with space.txt", None, "new\r\nfile"))
    cases.append(("ünïcode.txt", None, "é\n"))
    cases.append(("empty_new.txt", None, ""))
    cases.append(("gone.txt", "bye\nnow", None))
    cases.append(("empty_gone.txt", "", None))
    return cases


def git_apply(root: Path, diff: str, *extra: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(root.parent)}
    return subprocess.run(
        ["git", "apply", *extra, "-"],
        cwd=root,
        input=diff.encode(),
        capture_output=True,
        env=env,
        check=False,
    )


@pytest.mark.parametrize("strategy_name", ["default", "resync"])
def test_git_apply_accepts_the_diffs(tmp_path: Path, strategy_name: str) -> None:
    for n, (path, before, after) in enumerate(git_cases()):
        root = tmp_path / f"case{n}"
        root.mkdir()
        target = root / path
        if before is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(before.encode())
        with strategy(strategy_name):
            diff = unified_diff(before, after, path)
        assert diff, path
        checked = git_apply(root, diff, "--check")
        assert checked.returncode == 0, (path, checked.stderr.decode(), diff[:2000])
        applied = git_apply(root, diff)
        assert applied.returncode == 0, (path, applied.stderr.decode())
        if after is None:
            assert not target.exists(), path
        else:
            assert target.read_bytes() == after.encode(), path
        assert apply_unified(before, diff) == after, path


def test_hunks_match_git_diff(tmp_path: Path) -> None:
    """Where the change is unambiguous, our hunks are git's, line for line."""
    rng = random.Random(7)
    lines = script(rng, 400)
    lines = [f"{line}  # {i}" for i, line in enumerate(lines)]  # every line unique
    for context in (0, 1, 3, 5):
        before = "\n".join(lines) + "\n"
        after = "\n".join(edited(rng, lines, 12))
        (tmp_path / "old").write_bytes(before.encode())
        (tmp_path / "new").write_bytes(after.encode())
        git = subprocess.run(
            ["git", "diff", "--no-index", "--no-color", f"-U{context}", "old", "new"],
            cwd=tmp_path,
            capture_output=True,
            check=False,
        ).stdout.decode()
        ours = unified_diff(before, after, "f", context=context)

        def hunks(diff: str) -> str:
            return re.sub(r"(?m)^(@@ [^@]* @@).*$", r"\1", diff[diff.index("\n@@") + 1 :])

        assert hunks(ours) == hunks(git)


# --- the edge cases, one by one ----------------------------------------------------------------


def test_identical_inputs_give_an_empty_diff() -> None:
    assert unified_diff("a\r\nb", "a\r\nb", "f") == ""
    assert unified_diff("", "", "f") == ""
    assert apply_unified("a\n", "") == "a\n"


def test_crlf_to_lf_shows_every_line_changed() -> None:
    diff = unified_diff("a\r\nb\r\n", "a\nb\n", "f")
    assert diff_stats(diff) == (2, 2)
    assert "-a\r\n-b\r\n+a\n+b\n" in diff


def test_missing_final_newline_is_marked() -> None:
    added = unified_diff("x\ny", "x\ny\n", "f")
    assert added.endswith("@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n+y\n")
    removed = unified_diff("x\ny\n", "x\ny", "f")
    assert removed.endswith("@@ -1,2 +1,2 @@\n x\n-y\n+y\n\\ No newline at end of file\n")
    context = unified_diff("x\ny", "z\ny", "f")
    assert context.endswith("@@ -1,2 +1,2 @@\n-x\n+z\n y\n\\ No newline at end of file\n")


def test_creation_and_deletion_use_dev_null() -> None:
    created = unified_diff(None, "a\nb\n", "d/f.txt")
    assert created == (
        "diff --git a/d/f.txt b/d/f.txt\nnew file mode 100644\n--- /dev/null\n"
        "+++ b/d/f.txt\n@@ -0,0 +1,2 @@\n+a\n+b\n"
    )
    deleted = unified_diff("a\n", None, "f.txt")
    assert deleted == (
        "diff --git a/f.txt b/f.txt\ndeleted file mode 100644\n--- a/f.txt\n"
        "+++ /dev/null\n@@ -1 +0,0 @@\n-a\n"
    )
    assert apply_unified(None, created) == "a\nb\n"
    assert apply_unified("a\n", deleted) is None
    from_empty = unified_diff("", "a", "f")
    assert from_empty.startswith("diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -0,0 +1 @@")


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="both be None"):
        unified_diff(None, None, "f")
    with pytest.raises(ValueError, match="relative"):
        unified_diff("a", "b", "/etc/passwd")


def realistic(seed: int, n: int, edits: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    lines = [f"{line}  # {i}" for i, line in enumerate(script(rng, n))]
    return lines, edited(rng, lines, edits)


def test_scattered_edits_in_a_large_file_are_found_exactly() -> None:
    rng = random.Random(3)
    lines = [f"{line}  # {i}" for i, line in enumerate(script(rng, 20_000))]
    changed = list(lines)
    positions = rng.sample(range(0, 20_000, 4), 120)  # apart, so edits never touch
    for e, k in enumerate(sorted(positions, reverse=True)):
        if e % 3 == 0:
            changed.insert(k, f"new {e}")
        elif e % 3 == 1:
            del changed[k]
        else:
            changed[k] = f"changed {e}"
    before, after = "\n".join(lines) + "\n", "\n".join(changed) + "\n"
    diff = unified_diff(before, after, "f")
    assert diff_stats(diff) == (80, 80)
    assert apply_unified(before, diff) == after


@pytest.mark.parametrize(
    "case", ["json_one_line", "braces", "alternating", "disjoint", "reversed", "empty_to_big"]
)
def test_pathological_inputs_still_give_valid_diffs(case: str) -> None:
    rng = random.Random(case)
    if case == "json_one_line":
        before = "{" + ",".join(f'"k{i}": {i}' for i in range(100_000)) + "}"
        after = before[:500_000] + "X" + before[500_001:]
        expected: tuple[int, int] | None = (1, 1)
    elif case == "braces":
        lines = ["}"] * 50_000
        before, after = "\n".join(lines), "\n".join(edited(rng, lines, 500))
        expected = None
    elif case == "alternating":
        lines = ["a", "b"] * 25_000
        before, after = "\n".join(lines) + "\n", "\n".join(edited(rng, lines, 500)) + "\n"
        expected = None
    elif case == "disjoint":
        before = "\n".join(script(rng, 20_000)) + "\n"
        after = "\n".join(f"other {i}" for i in range(20_000)) + "\n"
        expected = (20_000, 20_000)
    elif case == "reversed":
        lines = script(rng, 20_000)
        before, after = "\n".join(lines) + "\n", "\n".join(lines[::-1]) + "\n"
        expected = None
    else:
        before, after = "", "x\n" * 50_000
        expected = (50_000, 0)
    diff = unified_diff(before, after, "f")
    assert apply_unified(before, diff) == after
    if expected is not None:
        assert diff_stats(diff) == expected


# --- the applier is strict ---------------------------------------------------------------------


def test_apply_refuses_a_diff_for_other_text() -> None:
    diff = unified_diff("a\nb\nc\n", "a\nB\nc\n", "f")
    with pytest.raises(PatchRejected, match="old line 2"):
        apply_unified("a\nx\nc\n", diff)
    with pytest.raises(PatchRejected, match="expected"):
        apply_unified("a\nb\r\nc\n", diff)
    with pytest.raises(PatchRejected, match="create diff"):
        apply_unified("a\n", unified_diff(None, "a\n", "f"))
    with pytest.raises(PatchRejected, match="missing file"):
        apply_unified(None, diff)


def test_apply_refuses_malformed_diffs() -> None:
    diff = unified_diff("a\nb\nc\n", "a\nB\nc\n", "f")
    with pytest.raises(PatchRejected, match="ends early"):
        apply_unified("a\nb\nc\n", diff[: diff.rindex("+B")])
    with pytest.raises(PatchRejected, match="newline"):
        apply_unified("a\nb\nc\n", diff[:-1])
    with pytest.raises(PatchRejected, match="bad hunk"):
        apply_unified("a\nb\nc\n", diff.replace("@@ -1,3", "@@ -x,3"))
    with pytest.raises(PatchRejected, match="one file"):
        apply_unified("a\nb\nc\n", diff + diff)


def test_diff_stats_counts_hunk_lines_only() -> None:
    # Lines whose text starts with "--" or "++" must not be taken for file headers.
    diff = unified_diff("-- x\n++ y\nkeep\n", "keep\n++ z\n--- w\n", "f")
    diff += unified_diff(None, "n\n", "g")
    assert diff_stats(diff) == (3, 2)
    assert diff_stats("") == (0, 0)
