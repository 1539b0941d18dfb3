"""The editor's transcript: the timeline's words shown in a script pane, words deleted there,
and the cut proposed as one changeset whose card waits in the agent panel; applying it cuts
the timeline the editor shows (Pilot, the real door, real media)."""

from __future__ import annotations

from pathlib import Path

from engine.workspace import Workspace
from tests.engine.test_transcript_edit import make_talk
from tests.tui.test_scripts import drive, status, wait_for
from tui.app import ReelcutApp
from tui.scripts import ScriptPanes


def test_words_deleted_in_the_pane_become_a_changeset_to_review_then_the_cut(
    tmp_path: Path,
) -> None:
    root = tmp_path / "p"
    make_talk(root)
    view = Workspace.TRANSCRIPT_VIEW

    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        await app.editor.run_action("transcript_show")
        await wait_for(pilot, lambda: any(p.path == view for p in panes.panes), "the view")
        pane = next(p for p in panes.panes if p.path == view)
        assert "so today we are um going" in pane.area.text
        pane.area.text = pane.area.text.replace(" um ", " ")
        await app.editor.run_action("transcript_cut")
        await wait_for(pilot, lambda: "changeset 1:" in status(app), "the proposal")
        assert "cut 1 stretch(es) of words, 12 frame(s)" in status(app)
        assert 1 in app.agent.chat.clients["transcript"].cards
        assert app.session.project.duration == 270  # proposed, not applied
        await app.workspace.apply_changeset(1)
        await wait_for(pilot, lambda: app.session.project.duration == 258, "the cut")

        pane.area.text = pane.area.text.replace("today", "tomorrow")
        await app.editor.run_action("transcript_cut")
        await wait_for(pilot, lambda: "not cut" in status(app), "the refusal")
        assert "'tomorrow' is not a word of clip" in status(app)

    drive(root, scenario)


def test_the_palette_places_captions_as_one_step_that_undo_takes_back(tmp_path: Path) -> None:
    root = tmp_path / "p"
    make_talk(root)

    async def scenario(app: ReelcutApp, pilot: object, panes: ScriptPanes) -> None:
        from engine.ops.captions import caption_clips

        await app.editor.run_action("captions_place")
        await wait_for(pilot, lambda: "caption clip(s)" in status(app), "the captions")
        assert status(app).startswith("2 caption clip(s) on the Captions track")
        await wait_for(pilot, lambda: len(caption_clips(app.project.tracks)) == 2, "the clips")
        assert app.project.tracks[0].name == "Captions"
        await app.editor.run_action("undo")
        await wait_for(pilot, lambda: not caption_clips(app.project.tracks), "the undo")
        assert "Captions" not in [t.name for t in app.project.tracks]

    drive(root, scenario)
