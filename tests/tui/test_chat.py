"""The chat panel under Pilot, with the real background jobs and the fake Gemini server: ask,
watch the answer stream, review the changeset card, apply it (the open pane and the timeline
follow), revert it, hit a hash mismatch and force it, replay the timeline moves."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Label, Static

import tui.agent_actions
from engine.ops import Blade
from engine.projectfile import decode_project, encode_project
from engine.session import Session
from tests.fakes.gemini import (
    FakeGemini,
    Json,
    Raw,
    Stream,
    call,
    chunk,
    text,
    thought,
    usage_metadata,
)
from tui.agent_actions import DiffScreen
from tui.app import ReelcutApp
from tui.chat import ChangesetCard, ChatPanel, RunView
from tui.scripts import ScriptPane, ScriptPanes


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    with FakeGemini() as server:
        monkeypatch.setenv("GEMINI_API_KEY", "test-key")
        monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.url)
        monkeypatch.setenv("REELCUT_MODEL", "gemini-2.5-flash")
        monkeypatch.setattr(tui.agent_actions, "REPLAY_STEP", 0.05)
        yield server


async def wait_for(
    pilot: Any, predicate: Callable[[], bool], what: str, timeout: float = 20
) -> None:
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def drive(root: Path, scenario: Callable[[ReelcutApp, Any, ChatPanel], Awaitable[None]]) -> None:
    async def go() -> None:
        with Session(root) as session:
            app = ReelcutApp(session, background_jobs=True)
            async with app.run_test(size=(200, 60)) as pilot:
                await wait_for(pilot, lambda: app.jobs_started and app.preview is not None, "jobs")
                await scenario(app, pilot, app.editor.query_one(ChatPanel))

    asyncio.run(go())


async def ask(app: ReelcutApp, pilot: Any, chat: ChatPanel, message: str) -> RunView:
    chat.focus()
    await pilot.pause()
    field = chat.query_one("#chat-input", Input)
    assert app.focused is field
    field.value = message
    await pilot.press("enter")
    await wait_for(pilot, lambda: bool(chat.runs), "the run to show")
    return list(chat.runs.values())[-1]


def card_of(view: RunView) -> ChangesetCard:
    return next(iter(view.cards.values()))


def label(widget: Any, selector: str) -> str:
    return str(widget.query_one(selector, Label).render())


EDIT = {"path": "scripts/script.md", "after": 0, "text": "Agent line"}


def test_ask_review_apply_revert(demo_dir: Path, fake: FakeGemini) -> None:
    fake.queue(
        Stream(
            [
                chunk(thought("Add a first line.")),
                chunk(call("text_insert_lines", EDIT), call("timeline_blade", {"at": 45})),
            ],
            usage=usage_metadata(900, 20, thoughts=10),
        ),
        Stream(
            [chunk(text("I added a line ")), chunk(text("and cut at 1.5 s."))],
            usage=usage_metadata(950, 9),
        ),
    )

    async def scenario(app: ReelcutApp, pilot: Any, chat: ChatPanel) -> None:
        panes = app.editor.query_one(ScriptPanes)
        await panes.open("scripts/script.md")
        pane = panes.query_one(ScriptPane)
        clips_before = sum(len(t.clips) for t in app.session.project.tracks)
        view = await ask(app, pilot, chat, "Add a line and cut at 1.5 s")
        await wait_for(pilot, lambda: view.finished and bool(view.cards), "the run to finish")
        await pilot.pause(0.2)
        assert view.answers == {2: "I added a line and cut at 1.5 s."}  # step 2, after the tools
        kinds = [
            next(c for c in ("tool", "run-answer", "cs-card") if w.has_class(c))
            for w in view.children
            if any(w.has_class(c) for c in ("tool", "run-answer", "cs-card"))
        ]
        assert kinds == ["tool", "tool", "run-answer", "cs-card"]  # in the order they happened
        assert "Add a first line." in str(view.query_one(".run-thought", Static).render())
        head = label(view, ".run-head")
        assert "complete" in head and "2 calls" in head and "$" in head
        tools = [str(t.render()) for t in view.tools]
        assert "→ text_insert_lines" in tools[0] and "← ok" in tools[0]
        assert "→ timeline_blade" in tools[1] and "cut 3 clip(s) at 00:00:01:15" in tools[1]

        card = card_of(view)
        title = label(card, ".cs-title")
        assert "ready" in title and "scripts/script.md +1 -0" in title and "project.json" in title
        diffs = " ".join(str(s.render()) for s in card.query(".cs-diff"))
        assert "+Agent line" in diffs
        assert "1. cut 3 clip(s)" in str(card.query_one(".cs-ops", Static).render())
        assert not pane.area.text.startswith("Agent line")  # nothing applied yet

        card.focus()
        await pilot.press("a")
        await wait_for(pilot, lambda: "applied" in label(card, ".cs-title"), "applied")
        await wait_for(pilot, lambda: pane.area.text.startswith("Agent line"), "the pane")
        await wait_for(
            pilot,
            lambda: sum(len(t.clips) for t in app.session.project.tracks) > clips_before,
            "the timeline",
        )
        await pilot.press("v")
        await wait_for(pilot, lambda: "reverted" in label(card, ".cs-title"), "reverted")
        await wait_for(pilot, lambda: not pane.area.text.startswith("Agent line"), "the pane")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen), "the full diff")
        await pilot.press("escape")

    drive(demo_dir, scenario)


def test_a_mismatch_then_force(demo_dir: Path, fake: FakeGemini) -> None:
    fake.queue(
        Stream([chunk(call("text_insert_lines", EDIT))]),
        Stream([chunk(text("Done."))]),
    )

    async def scenario(app: ReelcutApp, pilot: Any, chat: ChatPanel) -> None:
        view = await ask(app, pilot, chat, "Add a line")
        await wait_for(pilot, lambda: view.finished and bool(view.cards), "the run to finish")
        script = demo_dir / "scripts" / "script.md"
        script.write_text("Someone else rewrote it.\n")
        card = card_of(view)
        assert app.focused is chat.query_one("#chat-input", Input)
        await pilot.press("tab")  # from the prompt to the newest card
        assert app.focused is card
        await pilot.press("a")
        await wait_for(pilot, lambda: "changed since" in label(card, ".cs-keys"), "the mismatch")
        keys = label(card, ".cs-keys")
        assert "scripts/script.md" in keys and "expected" in keys and "found" in keys
        assert "f then a to force" in keys and app.message.startswith("not applied: ")
        assert script.read_text() == "Someone else rewrote it.\n"
        await pilot.press("f")
        assert "FORCE is on" in label(card, ".cs-keys")
        await pilot.press("a")
        await wait_for(pilot, lambda: "applied" in label(card, ".cs-title"), "forced")
        assert script.read_text().startswith("Agent line\n")

    drive(demo_dir, scenario)


def test_replay_shows_each_move_on_the_timeline(demo_dir: Path, fake: FakeGemini) -> None:
    fake.queue(
        Stream([chunk(call("timeline_blade", {"at": 30}), call("timeline_blade", {"at": 90}))]),
        Stream([chunk(text("Two cuts."))]),
    )

    async def scenario(app: ReelcutApp, pilot: Any, chat: ChatPanel) -> None:
        view = await ask(app, pilot, chat, "Cut at 1 s and 3 s")
        await wait_for(pilot, lambda: view.finished and bool(view.cards), "the run to finish")
        card = card_of(view)
        card.focus()
        seen: list[tuple[str, int]] = []  # (status message, timeline playhead) as shown
        served: list[int] = []  # clips in the project the page is served at each step
        flash = app.flash
        assert app.preview is not None
        page_project = app.preview.state.project

        def clips(project: Any) -> int:
            return sum(len(t.clips) for t in project.tracks)

        before = clips(app.session.project)

        def record(text: str) -> None:
            seen.append((text, app.timeline.playhead))
            served.append(clips(page_project()))
            flash(text)

        app.flash = record  # type: ignore[method-assign]
        await pilot.press("p")
        await wait_for(pilot, lambda: any(m.startswith("replayed") for m, _ in seen), "replay")
        steps = [(m.split(":")[0], at) for m, at in seen if m.startswith("replay")]
        assert steps[:2] == [("replay 1/2", 30), ("replay 2/2", 90)]  # the playhead at each cut
        assert steps[2][0] == "replayed changeset 1"
        # The page plays each step too (two cuts: three clips more, then three more), and the
        # real project again after the replay (the changeset is not applied).
        assert served[:2] == [before + 3, before + 6] and served[-1] == before
        assert clips(page_project()) == before
        assert app.timeline.playhead == app.playhead  # back to the real playhead

    drive(demo_dir, scenario)


def test_a_replay_that_does_not_fit_stops_and_shows_the_diff(
    demo_dir: Path, fake: FakeGemini
) -> None:
    """In one changeset the agent cuts, renames c_12 to c_still in project.json with a text
    edit, then moves c_still: replayed from before the changeset, the move finds no such clip.
    `p` used to end the editor (WorkerFailed on the OpError); it shows the cut, stops at the
    move, says why and opens the file diff, and the editor goes on."""
    cut = Blade(at=30, clip_ids=())
    after_cut = encode_project(
        cut.apply(decode_project((demo_dir / "project.json").read_bytes())).project
    ).decode()
    line = after_cut.splitlines().index('          "id": "c_12",') + 1
    renamed = '          "id": "c_still",'
    rename = {"path": "project.json", "first": line, "last": line, "text": renamed}
    fake.queue(
        Stream(
            [
                chunk(
                    call("timeline_blade", {"at": 30}),
                    call("text_replace_lines", rename),
                    call("timeline_move", {"clip_ids": ["c_still"], "by": 30}),
                )
            ]
        ),
        Stream([chunk(text("Cut, renamed and moved."))]),
    )

    async def scenario(app: ReelcutApp, pilot: Any, chat: ChatPanel) -> None:
        view = await ask(app, pilot, chat, "Cut at 1 s and move the still by its new name")
        await wait_for(pilot, lambda: view.finished and bool(view.cards), "the run to finish")
        card = card_of(view)
        card.focus()
        seen: list[str] = []
        flash = app.flash

        def record(text: str) -> None:
            seen.append(text)
            flash(text)

        app.flash = record  # type: ignore[method-assign]
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen), "the file diff")
        assert seen[0] == "replay 1/2: cut 3 clip(s) at 00:00:01:00"  # the cut fits: shown
        assert seen[-1] == (
            "replay stopped at step 2/2: clip 'c_still' does not exist; `reelcut info DIR` "
            "lists clip ids; showing the file diff"
        )
        assert app.message == seen[-1]
        screen = app.screen
        assert isinstance(screen, DiffScreen) and screen.title_text == "Changeset 1"
        assert f"+{renamed}\n" in screen.diff
        await pilot.pause(0.2)
        assert app.is_running and app.return_code is None
        assert app.agent.replaying is None and app.timeline.playhead == app.playhead
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, DiffScreen), "the diff closed")
        assert app.is_running and "ready" in label(card, ".cs-title")

    drive(demo_dir, scenario)


def test_the_last_thread_is_there_after_a_restart(demo_dir: Path, fake: FakeGemini) -> None:
    fake.queue(
        Stream([chunk(call("text_insert_lines", EDIT))]),
        Stream([chunk(text("Added it."))]),
    )

    async def first(app: ReelcutApp, pilot: Any, chat: ChatPanel) -> None:
        view = await ask(app, pilot, chat, "Add a line")
        await wait_for(pilot, lambda: view.finished and bool(view.cards), "the run to finish")

    drive(demo_dir, first)

    async def second(app: ReelcutApp, pilot: Any, chat: ChatPanel) -> None:
        await wait_for(pilot, lambda: bool(chat.runs), "the last thread")
        view = next(iter(chat.runs.values()))
        await wait_for(pilot, lambda: bool(view.cards), "its changeset")
        await pilot.pause(0.2)
        assert chat.thread == 1
        lines = " ".join(str(w.render()) for w in chat.query(".chat-line"))
        assert "You: Add a line" in lines
        assert list(view.answers.values()) == ["Added it."]
        assert "→ text_insert_lines" in str(view.tools[0].render())
        card = card_of(view)
        assert "ready" in label(card, ".cs-title")
        card.focus()
        await pilot.press("a")  # still reviewable after the restart
        await wait_for(pilot, lambda: "applied" in label(card, ".cs-title"), "applied")

        # Continuing the thread sends the earlier turns along.
        fake.queue(Stream([chunk(text("And another."))]))
        view2 = await ask(app, pilot, chat, "Once more")
        await wait_for(pilot, lambda: view2.finished, "the second run")
        contents = fake.requests[-1].body["contents"]
        assert [c["role"] for c in contents] == ["user", "model", "user", "model", "user"]
        assert contents[-1]["parts"][0]["text"] == "Once more"

    drive(demo_dir, second)


def test_opening_on_a_thread_leaves_the_focus_on_the_timeline(
    demo_dir: Path, fake: FakeGemini
) -> None:
    fake.queue(Stream([chunk(text("Hi."))]))

    async def first(app: ReelcutApp, pilot: Any, chat: ChatPanel) -> None:
        view = await ask(app, pilot, chat, "hello")
        await wait_for(pilot, lambda: view.finished, "the run")

    drive(demo_dir, first)

    async def second(app: ReelcutApp, pilot: Any, chat: ChatPanel) -> None:
        await wait_for(pilot, lambda: bool(chat.runs), "the last thread")
        await pilot.pause(0.2)
        assert app.focused is app.timeline  # the keys still cut, not type into the chat

    drive(demo_dir, second)


@pytest.mark.parametrize(
    "reply",
    [
        Stream([chunk(text("Half")), Raw("{not json")]),
        Stream(
            [chunk(call("file_create", {"path": "scripts/x.md", "text": "x"}))], finish="SAFETY"
        ),
        Json({"promptFeedback": {"blockReason": "SAFETY"}}),
        Stream([chunk({"functionCall": {"name": "file_list", "args": [1]}})]),
    ],
    ids=["bad-json", "safety-with-a-call", "blocked", "args-not-an-object"],
)
def test_malformed_model_output_ends_the_run_in_the_panel_and_the_editor_goes_on(
    demo_dir: Path, fake: FakeGemini, reply: Any
) -> None:
    """The run's error shows in the panel with its reason, no card appears (nothing was run),
    and the editor still answers keys: the timeline takes a frame step."""
    fake.queue(reply)

    async def scenario(app: ReelcutApp, pilot: Any, chat: ChatPanel) -> None:
        view = await ask(app, pilot, chat, "do it")
        await wait_for(pilot, lambda: view.finished, "the run to end")
        said = " ".join(str(s.render()) for s in chat.query(Static))
        assert "error:" in said, said
        assert not view.cards
        assert len(fake.requests) == 1
        app.timeline.focus()
        await pilot.pause()
        before = app.playhead
        await pilot.press("right")
        await wait_for(pilot, lambda: app.playhead == before + 1, "a frame step")

    drive(demo_dir, scenario)
