"""ClipSeq against a plain sorted list, with chunks small enough that every split and merge path
runs; and the whole op state machine again with those small chunks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

import engine.timeline as tl_module
from engine.model import Clip
from engine.ops import Insert, RippleDelete
from engine.timeline import ClipSeq, Timeline
from tests.engine.test_ops_machine import QUICK, TimelineMachine
from tests.engine.timelines import timeline


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tl_module, "CHUNK", 4)
    monkeypatch.setattr(tl_module, "_SMALL", 2)


def clip(n: int, start: int, duration: int = 2) -> Clip:
    return Clip(id=f"c_{n}", kind="media", name=f"c{n}", start=start, duration=duration)


def check(seq: ClipSeq, model: list[Clip]) -> None:
    assert list(seq) == model
    assert seq.to_tuple() == tuple(model)
    assert len(seq) == len(model)
    for i, c in enumerate(model):
        assert seq[i] == c
        assert seq.index_of(c.id) == i
    assert seq.index_of("c_missing") == -1
    assert [c.id for c in model[len(model) // 2 :]] == list(seq.ids_from(len(model) // 2))
    for frame in range(-1, (model[-1].end + 2) if model else 3):
        assert seq.bisect_left(frame) == sum(1 for c in model if c.start < frame)
        assert seq.bisect_right(frame) == sum(1 for c in model if c.start <= frame)
    # Chunks stay within bounds, so lookups stay cheap.
    assert all(0 < len(ch.clips) <= 2 * tl_module.CHUNK for ch in seq._chunks)


edits = st.lists(
    st.tuples(st.sampled_from(["insert", "delete", "replace", "shift"]), st.integers(0, 60)),
    max_size=60,
)


@pytest.mark.usefixtures("small_chunks")
@settings(max_examples=300, deadline=None)
@given(n=st.integers(0, 30), script=edits)
def test_clipseq_matches_a_plain_list(n: int, script: list[tuple[str, int]]) -> None:
    model = [clip(i, 3 * i) for i in range(n)]
    seq = ClipSeq.of(tuple(model))
    versions = [(seq, list(model))]
    next_id = n
    for action, x in script:
        if action == "insert":
            # Open a 3-frame hole by shifting, then put a clip into it: the list stays sorted.
            i = x % (len(model) + 1)
            start = model[i - 1].end if i else 0
            seq = seq.shift_from(i, 3)
            model[i:] = [Clip(**{**_fields(c), "start": c.start + 3}) for c in model[i:]]
            seq = seq.insert(i, clip(next_id, start))
            model.insert(i, clip(next_id, start))
            next_id += 1
        elif action == "delete" and model:
            i = x % len(model)
            seq = seq.delete(i)
            del model[i]
        elif action == "replace" and model:
            i = x % len(model)
            new = Clip(**{**_fields(model[i]), "name": f"r{x}", "duration": 1})
            seq = seq.replace(i, new)
            model[i] = new
        elif action == "shift" and model:
            i = x % len(model)
            gap = model[i].start - (model[i - 1].end if i else 0)
            by = (x % 7) - min(gap, 3)  # never into the clip before
            seq = seq.shift_from(i, by)
            model[i:] = [Clip(**{**_fields(c), "start": c.start + by}) for c in model[i:]]
        check(seq, model)
        versions.append((seq, list(model)))
    for old_seq, old_model in versions:  # persistent: every earlier version is intact
        assert list(old_seq) == old_model


def _fields(c: Clip) -> dict[str, object]:
    return {f: getattr(c, f) for f in c.__struct_fields__}


@pytest.mark.usefixtures("small_chunks")
def test_op_state_machine_with_small_chunks() -> None:
    run_state_machine_as_test(TimelineMachine, settings=QUICK)


def test_results_chain_without_materialising() -> None:
    """Ops applied to a Timeline give the same project as ops applied to plain projects."""
    p = timeline({"V1": [(0, 10), (10, 10), (30, 5)], "A1": [(0, 10), (10, 10), (30, 5)]})
    ops = [
        Insert(asset_id="a_1", at=12, track="V1", duration=4),
        RippleDelete(clip_ids=("c_10",)),
        Insert(asset_id="a_1", at=0, track="V1", duration=3),
    ]
    tl = Timeline.of(p)
    plain = p
    for op in ops:
        result = op.apply(tl)
        tl = result.timeline
        plain = op.apply(plain).project
    assert tl.project == plain
    assert tl.duration == plain.duration
