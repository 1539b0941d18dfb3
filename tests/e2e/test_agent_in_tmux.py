"""The agent in the real editor in real tmux, with the fake Gemini server standing in: ask for
an edit in the chat, watch it stream, review the diff on the card, apply it (the open script
pane and the timeline follow), revert it. Then `reelcut chat` does the same headless."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.demo import make_demo
from tests.e2e.tmux import Tmux
from tests.fakes.gemini import FakeGemini, Stream, call, chunk, text, thought, usage_metadata

REELCUT = str(Path(sys.executable).with_name("reelcut"))

pytestmark = pytest.mark.timeout(180)

ANSWER = "Done: a new title, one cut, all set."
EDIT = {"path": "scripts/script.md", "first": 1, "last": 1, "text": "# reelcut demo, by the agent"}


def test_ask_watch_review_apply_revert_in_tmux(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    make_demo(root)
    with FakeGemini() as fake:
        fake.queue(
            Stream(
                [
                    chunk(thought("The title line should say who wrote it.")),
                    chunk(call("text_replace_lines", EDIT), call("timeline_blade", {"at": 45})),
                ],
                usage=usage_metadata(2000, 30, thoughts=12),
            ),
            Stream(
                [chunk(text(w + " ")) for w in ANSWER.split()],
                usage=usage_metadata(2100, 12),
                delay=0.25,
            ),
        )
        env = [
            "env",
            f"GOOGLE_GEMINI_BASE_URL={fake.url}",
            "GEMINI_API_KEY=test-key",
            "REELCUT_MODEL=gemini-2.5-flash",
        ]
        tmux = Tmux([*env, REELCUT, str(root)], width=200, height=60)
        try:
            tmux.wait_text("Test pattern (audio)", timeout=60)
            # The chat at its full width: the picture viewer (shown while no page is connected)
            # is put away, as a user following a long answer would.
            tmux.keys("F7")
            tmux.wait_text("picture viewer off")
            tmux.keys("C-o")
            tmux.wait_text("Open file")
            tmux.keys("script.md")
            tmux.keys("Enter")
            tmux.wait_text("1 scripts/script.md")
            tmux.wait_text("Panes...")  # the footer of a focused pane
            # F6 from the pane goes to the chat, whose prompt takes the focus.
            tmux.keys("F6")
            tmux.wait_text("New thread")  # the footer of the chat
            tmux.keys("-l", "Retitle the script and cut at 1.5 s")
            tmux.keys("Enter")
            tmux.wait_text("You: Retitle the script")
            # Streaming: some screen shows the first words of the answer without the last.
            partial, deadline = False, time.monotonic() + 30
            while time.monotonic() < deadline:
                screen = tmux.screen()
                if ANSWER in screen:
                    break
                partial = partial or ("Done:" in screen and "all set." not in screen)
                time.sleep(0.05)
            assert partial, "the answer never showed half-way: it did not stream"
            # the tool calls of step 1, as cards above the answer
            assert "→ text_replace_lines" in screen and "cut 3 clip(s) at 00:00:01:15" in screen
            tmux.wait_text("Changeset 1 · ready", timeout=30)
            screen = tmux.screen()
            assert "+# reelcut demo, by the agent" in screen and "-# reelcut demo" in screen
            assert "1. cut 3 clip(s) at 00:00:01:15" in screen  # the timeline step, in words
            assert "# reelcut demo, by the agent" not in screen.split("Agent ·")[0]  # not yet

            tmux.keys("Tab")  # from the prompt to the card
            tmux.wait_text("a Apply")  # the footer: the card has the focus
            tmux.keys("a")
            tmux.wait_text("Changeset 1 · applied")
            tmux.wait_for(
                lambda: "1  # reelcut demo, by the agent" in tmux.screen(), "the pane to follow"
            )
            info = subprocess.run(
                [REELCUT, "info", str(root), "--json"], capture_output=True, text=True
            )
            assert info.returncode == 0, info.stderr
            tmux.keys("v")
            tmux.wait_text("Changeset 1 · reverted")
            tmux.wait_for(
                lambda: "1  # reelcut demo, by the agent" not in tmux.screen(), "the pane back"
            )
            assert (root / "scripts/script.md").read_text().startswith("# reelcut demo\n")
            tmux.keys("C-q")
            assert tmux.wait_exit() == 0
        finally:
            tmux.close()

        # The same, headless.
        fake.queue(
            Stream([chunk(call("text_replace_lines", EDIT))], usage=usage_metadata(100, 5)),
            Stream([chunk(text("Retitled."))], usage=usage_metadata(110, 2)),
        )
        res = subprocess.run(
            [REELCUT, "chat", str(root), "Retitle the script", "--model", "gemini-2.5-flash"],
            capture_output=True,
            text=True,
            env={"GOOGLE_GEMINI_BASE_URL": fake.url, "GEMINI_API_KEY": "test-key", "PATH": ""},
            timeout=60,
        )
    assert res.returncode == 0, res.stderr
    assert "Retitled." in res.stdout and "changeset 2 waits for review" in res.stdout
    shown = subprocess.run(
        [REELCUT, "changes", str(root), "apply", "2", "--json"], capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["status"] == "applied"
    assert (root / "scripts/script.md").read_text().startswith("# reelcut demo, by the agent\n")
