"""Speaking the scenario from the real editor in real tmux (issue 20's done-when: "the
placeholder's progress is seen in the editor"): `t` on a three-line, two-speaker scenario
with the Gemini provider (the fake server answering each line after a while) puts three
placeholder clips on the timeline at once; their blocks say running with a percent and a
bar, and each becomes its take (and its real length) as the audio lands. project.json ends
with three ready clips."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine.projectdir import ProjectDir
from tests.e2e.tmux import Tmux
from tests.engine.test_tts import TTS_MODEL, gemini_scenario, make_project
from tests.fakes.gemini import FakeGemini, Json, response, tone, tts_usage
from tests.fakes.gemini import audio as pcm_audio

REELCUT = str(Path(sys.executable).with_name("reelcut"))

pytestmark = pytest.mark.timeout(180)


def slow_answer(seconds: float) -> Json:
    """A line's audio (PCM), answered after two seconds, so its states stay on screen."""
    part = pcm_audio(tone(seconds))
    return Json(response(part, usage=tts_usage(10, 50), model=TTS_MODEL), delay=2.0)


def test_placeholders_show_their_progress_in_the_editor_and_land(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", gemini_scenario(budget=1.0))
    with FakeGemini() as fake:
        fake.queue(slow_answer(1.0), slow_answer(1.0), slow_answer(2.0))
        env = ["env", f"GOOGLE_GEMINI_BASE_URL={fake.url}", "GEMINI_API_KEY=test-key"]
        tmux = Tmux([*env, REELCUT, str(root)], width=160, height=48)
        try:
            tmux.wait_text("track V1", timeout=60)
            tmux.keys("t")
            # The placeholders are drawn before any audio exists, running with their percent
            # while the fake holds each answer two seconds (they may show queued first).
            tmux.wait_for(lambda: "▶ " in tmux.screen(), "a running placeholder", timeout=30)
            assert any(c in tmux.screen() for c in ("% ░", "% █")), "a progress bar"

            def landed() -> bool:
                project = ProjectDir(root).load()
                stages = [a.generation.stage for a in project.assets if a.generation is not None]
                return stages == ["ready"] * 3

            tmux.wait_for(landed, "three ready takes in project.json", timeout=60)
            tmux.wait_for(
                lambda: "⧗ queued" not in tmux.screen() and "▶ " not in tmux.screen(),
                "the placeholders' labels to go",
            )
            assert len(fake.requests) == 3
            project = ProjectDir(root).load()
            clips = [c for t in project.tracks if t.kind == "audio" for c in t.clips]
            # Each clip took its take's real length: 1 s, 1 s and 2 s at 30 fps, in some order.
            assert sorted(c.duration for c in clips) == [30, 30, 60]
            tmux.keys("C-q")
            assert tmux.wait_exit() == 0
        finally:
            tmux.close()
