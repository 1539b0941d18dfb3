"""SetTransform: a visual clip's position, scale, rotation and opacity.

Clip ids are ``c_10, c_11, ...`` in track order (see ``timelines.timeline``).
"""

from __future__ import annotations

import pytest

from engine.model import Transform
from engine.ops import SetTrackFlags, SetTransform, decode_op
from engine.ops.draft import OpError
from tests.engine.opcheck import applied, refused
from tests.engine.timelines import clip, timeline, with_title

PAIR = {"V1": [(0, 30)], "A1": [(0, 30)]}
"""V1: c_10 [0,30) linked to A1's c_11."""


def test_set_transform_keeps_what_it_leaves_out() -> None:
    p = timeline(PAIR)
    r = applied(SetTransform("c_10", x=120.0, scale=0.5), p)
    assert clip(r.project, "c_10").transform == Transform(x=120.0, scale=0.5)
    assert r.touched == {"c_10"}
    assert r.summary == "placed c_10: x 120, y 0, scale 0.5, rotation 0, opacity 1"
    r = applied(SetTransform("c_10", opacity=0.25, rotation=-15.0), r.project)
    assert clip(r.project, "c_10").transform == Transform(
        x=120.0, scale=0.5, rotation=-15.0, opacity=0.25
    )
    assert clip(r.project, "c_11").transform is None  # the sound has no picture


def test_a_title_moves_too_and_defaults_store_no_transform() -> None:
    p = with_title(timeline(PAIR), "V1", 40, 20)
    title = next(c for t in p.tracks for c in t.clips if c.kind == "text")
    r = applied(SetTransform(title.id, y=-300.0), p)
    assert clip(r.project, title.id).transform == Transform(y=-300.0)
    r = applied(SetTransform(title.id, y=0.0, x=-0.0), r.project)
    assert clip(r.project, title.id).transform is None


def test_set_transform_refusals() -> None:
    p = timeline(PAIR)
    refused(SetTransform("c_11", x=1.0), p, "clip c_11 is on audio track A1")
    refused(SetTransform("c_9", x=1.0), p, "clip 'c_9' does not exist")
    locked = applied(SetTrackFlags(track="V1", locked=True), p).project
    refused(SetTransform("c_10", x=1.0), locked, "track V1 is locked", "--unlock")


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("scale", 0, "> 0"),
        ("scale", 101, "<= 100"),
        ("opacity", 1.5, "<= 1"),
        ("opacity", -0.1, ">= 0"),
        ("x", 1e9, "<= 100000"),
        ("rotation", "left", "Expected `float | null`"),
    ],
)
def test_set_transform_decoding_refuses_values_out_of_bounds(
    field: str, value: object, needle: str
) -> None:
    with pytest.raises(OpError, match="invalid operation") as caught:
        decode_op({"op": "set_transform", "clip_id": "c_1", field: value})
    assert needle in str(caught.value)
