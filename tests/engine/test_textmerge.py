"""The three-way merge of a pane's edits with the disk's: apart, both kept; touching, refused."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.textmerge import merge3

BASE = "".join(f"line {i}\n" for i in range(1, 11))


def edit(text: str, number: int, new: str) -> str:
    lines = text.splitlines(keepends=True)
    lines[number - 1] = new
    return "".join(lines)


def test_edits_apart_are_both_kept() -> None:
    mine = edit(BASE, 2, "mine 2\n")
    theirs = edit(BASE, 8, "theirs 8\n")
    merged = merge3(BASE, mine, theirs)
    assert merged == edit(edit(BASE, 2, "mine 2\n"), 8, "theirs 8\n")


def test_insertions_and_deletions_apart() -> None:
    mine = BASE.replace("line 3\n", "line 3\nnew after 3\n")
    theirs = BASE.replace("line 9\n", "")
    assert merge3(BASE, mine, theirs) == mine.replace("line 9\n", "")
    assert merge3(BASE, theirs, mine) == mine.replace("line 9\n", "")


def test_the_same_edit_on_both_sides_is_taken_once() -> None:
    both = edit(edit(BASE, 5, "same\n"), 1, "mine 1\n")
    theirs = edit(BASE, 5, "same\n")
    assert merge3(BASE, both, theirs) == both


def test_overlapping_or_touching_edits_are_a_conflict() -> None:
    assert merge3(BASE, edit(BASE, 5, "mine\n"), edit(BASE, 5, "theirs\n")) is None
    assert merge3(BASE, edit(BASE, 4, "mine\n"), edit(BASE, 5, "theirs\n")) is None  # adjacent
    inserted = BASE.replace("line 6\n", "line 6\nmore\n")
    assert merge3(BASE, edit(BASE, 6, "mine\n"), inserted) is None  # at its edge


def test_one_side_unchanged_gives_the_other() -> None:
    mine = edit(BASE, 3, "x\n")
    assert merge3(BASE, mine, BASE) == mine
    assert merge3(BASE, BASE, mine) == mine
    assert merge3(BASE, mine, mine) == mine


def test_a_missing_final_newline_is_kept() -> None:
    base = "a\nb\nc\nd\ne"
    assert merge3(base, "A\nb\nc\nd\ne", "a\nb\nc\nd\nE") == "A\nb\nc\nd\nE"


lines = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "d\n"]), max_size=12)


@given(lines, lines, lines)
def test_merging_is_symmetric_and_keeps_unchanged_sides(
    b: list[str], m: list[str], t: list[str]
) -> None:
    base, mine, theirs = "".join(b), "".join(m), "".join(t)
    one, two = merge3(base, mine, theirs), merge3(base, theirs, mine)
    assert one == two
    assert merge3(base, mine, base) == mine and merge3(base, base, theirs) == theirs
