"""The editor asks before a paid TTS pass over the project's budget (Pilot): `t` on a Gemini
scenario whose estimate is over its budget opens the cost prompt with the estimate and the
budget; `n` spends nothing (no job, no placeholder); `t` then `y` queues the lines confirmed and
places their placeholders. The jobs do not run here (no background jobs): nothing is sent."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from textual.widgets import Label

from engine.projectdir import ProjectDir
from engine.session import Session
from tests.engine.test_tts import gemini_scenario, make_project
from tests.tui.test_chat import wait_for
from tui.app import ReelcutApp
from tui.cost_prompt import CostPrompt


def tts_jobs(root: Path) -> list[tuple[str, str]]:
    db = sqlite3.connect(root / ".reelcut" / "state.sqlite")
    try:
        return db.execute("SELECT status, payload FROM jobs WHERE kind = 'tts'").fetchall()
    finally:
        db.close()


def placeholders(root: Path) -> int:
    return sum(1 for a in ProjectDir(root).load().assets if a.generation is not None)


def test_a_paid_pass_over_budget_asks_and_spends_only_on_yes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "test-key")  # Gemini stays the scenario's provider
    root = make_project(tmp_path / "p", gemini_scenario(budget=0.0))

    async def go() -> None:
        with Session(root) as session:
            app = ReelcutApp(session, background_jobs=False)
            async with app.run_test(size=(120, 40)) as pilot:
                app.timeline.focus()
                await pilot.press("t")
                await wait_for(pilot, lambda: isinstance(app.screen, CostPrompt), "the prompt")
                said = str(app.screen.query_one("#cost-said", Label).render())
                assert "3 line(s)" in said and "should cost $" in said and "budget of $0.00" in said
                await pilot.press("n")
                await wait_for(pilot, lambda: not isinstance(app.screen, CostPrompt), "closed")
                assert placeholders(root) == 0
                assert "over the budget" in app.message

                await pilot.press("t")
                await wait_for(pilot, lambda: isinstance(app.screen, CostPrompt), "again")
                await pilot.press("y")
                await wait_for(pilot, lambda: placeholders(root) == 3, "the placeholders")

    asyncio.run(go())
    jobs = tts_jobs(root)
    assert len(jobs) == 3 and {s for s, _ in jobs} == {"queued"}
    assert all('"provider": "gemini"' in p or '"provider":"gemini"' in p for _, p in jobs)
