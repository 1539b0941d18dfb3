"""What a TTS placeholder clip says on the timeline: its state and percent on the track's
second line, in place of its length; a clip that is not generated keeps its length."""

from __future__ import annotations

from engine.model import Clip, Track
from engine.timebase import Rate
from tui.generation import label
from tui.timeline.tracks import TrackIndex, detail_runs, generation_runs, track_runs
from tui.timeline.viewport import Viewport


def test_a_placeholder_says_its_state_and_a_plain_clip_its_length() -> None:
    track = Track(
        id="t_1",
        kind="audio",
        name="Dialogue",
        clips=(
            Clip(id="c_1", kind="media", name="Narrator: hi", start=0, duration=60, asset_id="a_1"),
            Clip(id="c_2", kind="media", name="Guest: hey", start=60, duration=60, asset_id="a_2"),
        ),
    )
    index = TrackIndex(track)
    vp = Viewport(first_frame=0, frames_per_col=2, width_cols=60)
    runs = detail_runs(track_runs(index, vp), index, vp, Rate(30, 1))
    labels = {"a_1": label("running", 0.42, None)}
    out = generation_runs(runs, index, vp, labels)
    texts = [r.text.strip("▏ ") for r in out if r.kind == "clip"]
    assert texts[0].startswith("▶  42% ███") and texts[1] == runs[1].text.strip("▏ ")
    assert all(r.end - r.start == len(r.text) for r in out)


def test_the_labels_of_each_stage() -> None:
    assert label("queued", 0, None) == "⧗ queued"
    assert label("failed", 0, "HTTP 400").endswith("HTTP 400") and "r retries" in label(
        "failed", 0, "x"
    )
    assert "cancelled" in label("cancelled", 0, None)
