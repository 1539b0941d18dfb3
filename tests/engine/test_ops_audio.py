"""SetAudio (gain and fades), and what blade, trims, roll and slide do to fades.

Clip ids are ``c_10, c_11, ...`` in track order (V1 first, then A1); new ids start at
``c_<10 + clips + 100>`` (see ``timelines.timeline``).
"""

from __future__ import annotations

import msgspec
import pytest

from engine.model import ClipAudio, Project
from engine.ops import Blade, Roll, SetAudio, SetTrackFlags, Slide, Trim, decode_op
from engine.ops.draft import OpError
from tests.engine.opcheck import applied, refused
from tests.engine.timelines import show, timeline


def sound(p: Project, clip_id: str) -> ClipAudio | None:
    return next(c.audio for t in p.tracks for c in t.clips if c.id == clip_id)


PAIR = {"V1": [(0, 30), (30, 30)], "A1": [(0, 30), (30, 30)]}
"""V1: c_10 [0,30) c_11 [30,60), linked to A1's c_12 and c_13."""


def with_sound(p: Project, clip_id: str, **fields: float) -> Project:
    return applied(SetAudio(clip_id, **fields), p).project  # type: ignore[arg-type]


def test_set_audio_on_an_audio_clip_keeps_what_it_leaves_out() -> None:
    p = timeline(PAIR)
    r = applied(SetAudio("c_12", gain_db=-6.0, fade_in=5), p)
    assert sound(r.project, "c_12") == ClipAudio(gain_db=-6.0, fade_in=5, fade_out=0)
    assert r.touched == {"c_12"}
    assert r.summary == "set the sound of c_12: -6.0 dB, fade in 5, fade out 0 frames"
    r = applied(SetAudio("c_12", fade_out=7), r.project)
    assert sound(r.project, "c_12") == ClipAudio(gain_db=-6.0, fade_in=5, fade_out=7)
    assert sound(r.project, "c_10") is None and sound(r.project, "c_13") is None


def test_a_linked_video_clip_sets_its_audio_partners_sound() -> None:
    """A pair's gain and fades live on its audio clip, whichever half is named."""
    r = applied(SetAudio("c_10", gain_db=3.5, fade_out=10), timeline(PAIR))
    assert sound(r.project, "c_12") == ClipAudio(gain_db=3.5, fade_in=0, fade_out=10)
    assert sound(r.project, "c_10") is None


def test_back_to_unity_stores_no_audio_settings() -> None:
    p = with_sound(timeline(PAIR), "c_12", gain_db=-3.0, fade_in=2)
    r = applied(SetAudio("c_12", gain_db=0.0, fade_in=0), p)
    assert sound(r.project, "c_12") is None


def test_the_same_settings_again_change_nothing() -> None:
    p = with_sound(timeline(PAIR), "c_12", gain_db=-3.0)
    r = SetAudio("c_12", gain_db=-3.0).apply(p)
    assert r.forward.steps == () and r.project == p


def test_set_audio_refusals() -> None:
    p = timeline({"V1": [(0, 30)], "A1": [(0, 30)], "V2": [(0, 10)]})
    refused(SetAudio("c_12", gain_db=1.0), p, "clip c_12 on video track V2 has no linked audio")
    refused(
        SetAudio("c_11", fade_in=20, fade_out=11),
        p,
        "fades of 20 + 11 frames do not fit in clip c_11 (30 frames); use shorter fades",
    )
    refused(SetAudio("c_9", gain_db=1.0), p, "clip 'c_9' does not exist")
    locked = applied(SetTrackFlags(track="A1", locked=True), p).project
    refused(SetAudio("c_10", gain_db=1.0), locked, "track A1 is locked", "--unlock")


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("gain_db", 24.5, "<= 24.0"),
        ("gain_db", -61, ">= -60.0"),
        ("gain_db", "loud", "Expected `float | null`"),
        ("fade_in", -1, ">= 0"),
        ("fade_out", 1.5, "Expected `int | null`"),
    ],
)
def test_set_audio_decoding_refuses_values_out_of_bounds(
    field: str, value: object, needle: str
) -> None:
    with pytest.raises(OpError, match="invalid operation") as caught:
        decode_op({"op": "set_audio", "clip_id": "c_1", field: value})
    assert needle in str(caught.value)


# -- what other edits do to fades ------------------------------------------------------------


def test_blade_keeps_the_fade_in_left_and_the_fade_out_right() -> None:
    p = with_sound(timeline(PAIR), "c_12", gain_db=-6.0, fade_in=8, fade_out=12)
    r = applied(Blade(at=10), p)
    assert show(r.project) == [
        "V1: c_10[0,10) c_114[10,30) c_11[30,60)",
        "A1: c_12[0,10) c_115[10,30) c_13[30,60)",
    ]
    assert sound(r.project, "c_12") == ClipAudio(gain_db=-6.0, fade_in=8, fade_out=0)
    assert sound(r.project, "c_115") == ClipAudio(gain_db=-6.0, fade_in=0, fade_out=12)


def test_a_blade_inside_a_fade_shortens_it_to_its_part() -> None:
    """A cut 4 frames in, inside an 8-frame fade-in: the left part keeps 4 frames of it."""
    p = with_sound(timeline(PAIR), "c_12", fade_in=8, fade_out=20)
    r = applied(Blade(at=4), p)
    assert sound(r.project, "c_12") == ClipAudio(fade_in=4, fade_out=0)
    assert sound(r.project, "c_115") == ClipAudio(fade_in=0, fade_out=20)
    r = applied(Blade(at=25), p)
    assert sound(r.project, "c_12") == ClipAudio(fade_in=8, fade_out=0)
    assert sound(r.project, "c_115") == ClipAudio(fade_in=0, fade_out=5)


def test_a_blade_of_a_clip_with_only_a_fade_out_leaves_the_left_part_at_unity() -> None:
    p = with_sound(timeline(PAIR), "c_12", fade_out=6)
    r = applied(Blade(at=10), p)
    assert sound(r.project, "c_12") is None
    assert sound(r.project, "c_115") == ClipAudio(fade_out=6)


def test_a_trim_clamps_fades_that_no_longer_fit() -> None:
    """Fades keep their lengths while they fit; trimmed shorter, the fade-in keeps what it can
    and the fade-out gets the rest. Undo gives the longer fades back exactly."""
    p = with_sound(timeline(PAIR), "c_12", fade_in=10, fade_out=15)
    r = applied(Trim("c_12", edge="out", by=-10), p)
    assert sound(r.project, "c_12") == ClipAudio(fade_in=10, fade_out=10)
    r = applied(Trim("c_12", edge="in", to=25), p)
    assert show(r.project)[1] == "A1: c_12[25,30) c_13[30,60)"
    assert sound(r.project, "c_12") == ClipAudio(fade_in=5, fade_out=0)
    assert sound(r.project, "c_12") != sound(p, "c_12")


def test_roll_and_slide_clamp_the_fades_of_the_clips_they_shorten() -> None:
    p = with_sound(timeline(PAIR), "c_13", fade_in=20, fade_out=5)
    r = applied(Roll("c_12", by=15), p)
    assert sound(r.project, "c_13") == ClipAudio(fade_in=15, fade_out=0)
    three = timeline({"A1": [(0, 10), (10, 10), (20, 10)]})
    three = with_sound(three, "c_12", fade_in=8)
    r = applied(Slide("c_11", by=3), three)
    assert sound(r.project, "c_12") == ClipAudio(fade_in=7)


def test_the_gain_bound_is_the_models() -> None:
    """The op's bounds and the model's are one pair of numbers."""
    from engine.model import MAX_GAIN_DB, MIN_GAIN_DB

    p = timeline(PAIR)
    loud = applied(SetAudio("c_12", gain_db=MAX_GAIN_DB), p).project
    quiet = applied(SetAudio("c_12", gain_db=MIN_GAIN_DB), p).project
    assert sound(loud, "c_12") == ClipAudio(gain_db=24.0)
    assert sound(quiet, "c_12") == ClipAudio(gain_db=-60.0)
    assert msgspec.json.decode(msgspec.json.encode(sound(quiet, "c_12")), type=ClipAudio)
