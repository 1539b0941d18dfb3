"""The scenario spoken as dialogue clips: real espeak-ng, the real google-genai SDK against the
fake Gemini server (PCM and WAV answers, 429s, a failure mid-batch), real SQLite queue.

Each test holds a fresh project the way `reelcut tts` does (`engine.door.hold` with a runner
that has the tts handler) and waits for the pass's jobs through the queue, never by sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from engine.agent.pricing import PRICES, Price
from engine.agent.provider import RetryPolicy
from engine.door import hold
from engine.events import EventStream
from engine.jobs import Runner, store
from engine.model import Generation, MediaInfo, new_project
from engine.ops import LandTake, OpError, PlaceTakes
from engine.ops.generate import Placement
from engine.projectdir import ProjectDir
from engine.scenario import SCENARIO_PATH
from engine.session import Session
from engine.state.adb import AsyncDB
from engine.timebase import Rate
from engine.tts import jobs as tts
from engine.tts import providers
from engine.tts.takes import ScenarioError, parse_scenario
from engine.validate import problems
from tests.fakes.gemini import Error, FakeGemini, Json, response, tone, tts_usage, wav_audio
from tests.fakes.gemini import audio as pcm_audio

SCENARIO: dict[str, Any] = {
    "schema_version": 1,
    "title": "Three lines",
    "speakers": [
        {"id": "narrator", "name": "Narrator", "voice": "Kore"},
        {"id": "guest", "name": "Guest", "voice": "Puck"},
    ],
    "lines": [
        {"id": "l_1", "speaker": "narrator", "text": "Welcome to reelcut."},
        {"id": "l_2", "speaker": "guest", "text": "So the timeline is just a file?"},
        {"id": "l_3", "speaker": "narrator", "text": "A file you and the agent both edit."},
    ],
}


def make_project(root: Path, scenario: dict[str, Any] = SCENARIO) -> Path:
    ProjectDir.create(root, new_project("tts", rate=Rate(30, 1)))
    write_scenario(root, scenario)
    return root


def write_scenario(root: Path, scenario: dict[str, Any]) -> None:
    path = root / SCENARIO_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(scenario, indent=2) + "\n")


async def tts_pass(root: Path, **params: Any) -> dict[str, Any]:
    """One `tts.start` through the door of a holder that runs the jobs, to their end."""
    db = await AsyncDB.open(root / ".reelcut")
    events = EventStream(db)
    await events.start()
    runner = Runner(db, events, root, {}, {}, heartbeat=0.05, tick=0.05, backoff=(0.05,))
    try:
        async with hold(root, "test", db=db, events=events, runner=runner) as ws:
            runner.handlers.update(tts.handlers(ws))
            runner.limits[tts.KIND] = 2
            doc: dict[str, Any] = await ws.call("tts.start", params)
            await runner.start()
            try:
                await wait_jobs(db, events, {j["job"] for j in doc["jobs"]})
            finally:
                await runner.stop()
            doc["status"] = await ws.call("tts.status", {})
    finally:
        await events.close()
        await db.close()
    return doc


async def wait_jobs(db: AsyncDB, events: EventStream, ids: set[int]) -> None:
    feed = events.subscribe(topics=["job"])

    def busy(conn: Any) -> bool:
        return any(store.get(conn, i).status in ("queued", "running") for i in ids)  # type: ignore[union-attr]

    try:
        while await db.read(busy):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(anext(feed), timeout=2.0)
    finally:
        await feed.aclose()  # type: ignore[attr-defined]


def stages(doc: dict[str, Any]) -> dict[str, str]:
    return {ln["line"]: ln["stage"] for ln in doc["status"]["lines"]}


def dialogue(root: Path) -> list[Any]:
    project = ProjectDir(root).load()
    track = next(t for t in project.tracks if t.name == "Dialogue")
    return list(track.clips)


# -- the local provider (espeak-ng) ------------------------------------------------------------


def test_three_lines_two_speakers_become_three_ready_clips_then_one_edit_regenerates_one(
    tmp_path: Path,
) -> None:
    root = make_project(tmp_path / "p")
    doc = asyncio.run(tts_pass(root))
    assert doc["provider"] == "local" and doc["generate"] == ["l_1", "l_2", "l_3"]
    assert stages(doc) == {"l_1": "ready", "l_2": "ready", "l_3": "ready"}
    project = ProjectDir(root).load()
    assert problems(project) == []
    clips = dialogue(root)
    assert len(clips) == 3
    # In scenario order, back to back, each as long as its audio.
    assert clips[0].start == 0
    assert clips[1].start == clips[0].end and clips[2].start == clips[1].end
    assets = {a.id: a for a in project.assets}
    for c in clips:
        a = assets[c.asset_id]
        assert a.generation is not None and a.generation.stage == "ready"
        assert a.media is not None and c.duration == a.media.duration_frames
        data = (root / "assets" / f"{a.hash}.wav").read_bytes()
        assert hashlib.sha256(data).hexdigest() == a.hash  # content-addressed
    # Two speakers, two voices: the narrator's lines share espeak-ng settings, the guest's not.
    jobs = asyncio.run(_jobs(root))
    voice = {j.payload["line"]: tuple(j.payload["local"]) for j in jobs}
    assert voice["l_1"] == voice["l_3"] != voice["l_2"]

    # The same scenario again: nothing to make.
    again = asyncio.run(tts_pass(root))
    assert again["generate"] == [] and again["jobs"] == []
    # One line edited: exactly that one is made again; the earlier take stays in the pool.
    edited = json.loads(json.dumps(SCENARIO))
    edited["lines"][1]["text"] = "So the whole timeline is really just a file?"
    write_scenario(root, edited)
    third = asyncio.run(tts_pass(root))
    assert third["generate"] == ["l_2"] and len(third["jobs"]) == 1
    assert stages(third) == {"l_1": "ready", "l_2": "ready", "l_3": "ready"}
    project = ProjectDir(root).load()
    takes = [a for a in project.assets if a.generation and a.generation.line == "l_2"]
    assert len(takes) == 2
    after = dialogue(root)
    assert after[2].start == after[1].end  # l_3 followed l_2's new end


async def _jobs(root: Path) -> list[Any]:
    db = await AsyncDB.open(root / ".reelcut")
    try:
        return await db.read(tts.tts_jobs)
    finally:
        await db.close()


def test_the_landing_is_an_undo_step_and_the_placement_another(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    asyncio.run(tts_pass(root, lines=["l_1"]))
    with Session(root) as s:
        steps = [st.label for st in s.steps()]
        assert steps[0].startswith("placed 1 scenario line") and "landed" in steps[1]
        s.undo()  # the landing: back to the placeholder
        clip = dialogue_of(s.project)[0]
        asset = s.project.asset(clip.asset_id or "")
        assert asset is not None and asset.hash is None
        assert asset.generation is not None and asset.generation.stage == "queued"
        s.undo()  # the placement: no clip, no placeholder
        assert dialogue_of(s.project) == []
        assert not any(a.generation for a in s.project.assets)
    # A pass brings the made take back without making it again.
    doc = asyncio.run(tts_pass(root, lines=["l_1"]))
    assert doc["generate"] == [] and len(doc["land"]) == 1
    assert stages(doc)["l_1"] == "ready"


def dialogue_of(project: Any) -> list[Any]:
    track = next((t for t in project.tracks if t.name == "Dialogue"), None)
    return [] if track is None else list(track.clips)


def test_a_line_with_a_start_keeps_its_place(tmp_path: Path) -> None:
    sc = json.loads(json.dumps(SCENARIO))
    sc["lines"][2]["start"] = 20
    root = make_project(tmp_path / "p", sc)
    asyncio.run(tts_pass(root))
    clips = dialogue(root)
    assert clips[2].start == 600  # 20 s at 30 fps, past a gap the others did not fill
    assert clips[1].start == clips[0].end


def test_a_killed_worker_is_resumed_after_its_lease(tmp_path: Path) -> None:
    """A worker that claimed a line and died (its lease runs out): the next runner reaps the
    job and makes the line; the attempt is counted."""
    root = make_project(tmp_path / "p")

    async def go() -> dict[str, Any]:
        db = await AsyncDB.open(root / ".reelcut")
        events = EventStream(db)
        await events.start()
        runner = Runner(db, events, root, {}, {}, heartbeat=0.05, tick=0.05, reap_every=0.1)
        try:
            async with hold(root, "test", db=db, events=events, runner=runner) as ws:
                runner.handlers.update(tts.handlers(ws))
                doc: dict[str, Any] = await ws.call("tts.start", {"lines": ["l_1"]})
                # The dead worker: claims the job with a lease that runs out, never beats.
                got = await db.write(lambda c: store.claim(c, [tts.KIND], "dead:1", lease=0.2))
                assert [j.id for j in got] == [doc["jobs"][0]["job"]]
                await runner.start()
                await wait_jobs(db, events, {got[0].id})
                await runner.stop()
                job = await db.read(lambda c: store.get(c, got[0].id))
                doc["job"] = job
                doc["status"] = await ws.call("tts.status", {})
        finally:
            await events.close()
            await db.close()
        return doc

    doc = asyncio.run(go())
    assert doc["job"].status == "succeeded" and doc["job"].attempts == 2
    assert stages(doc) == {"l_1": "ready"}


def test_cancel_leaves_the_placeholder_drawn_cancelled_and_a_pass_queues_it_again(
    tmp_path: Path,
) -> None:
    root = make_project(tmp_path / "p")

    async def go() -> tuple[dict[str, Any], dict[str, Any]]:
        async with hold(root, "test") as ws:
            await ws.call("tts.start", {"lines": ["l_2"]})  # no runner: stays queued
            cancelled = await ws.call("tts.cancel", {})
            status = await ws.call("tts.status", {})
        return cancelled, status

    cancelled, status = asyncio.run(go())
    assert [c["line"] for c in cancelled["cancelled"]] == ["l_2"]
    assert cancelled["cancelled"][0]["status"] == "cancelled"
    assert {ln["line"]: ln["stage"] for ln in status["lines"]} == {"l_2": "cancelled"}
    doc = asyncio.run(tts_pass(root, lines=["l_2"]))
    assert doc["generate"] == ["l_2"] and stages(doc) == {"l_2": "ready"}


# -- Gemini through the real SDK against the fake server ---------------------------------------

TTS_MODEL = "gemini-2.5-flash-preview-tts"


@pytest.fixture
def gemini(monkeypatch: pytest.MonkeyPatch) -> Any:
    with FakeGemini() as server:
        monkeypatch.setenv("GEMINI_API_KEY", "test-key")
        monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.url)
        monkeypatch.setattr(
            providers, "RETRY", RetryPolicy(attempts=3, base=0.01, cap=0.05, retry_after_cap=0.2)
        )
        yield server


def answer(seconds: float, *, wav: bool = False, audio_tokens: int = 100) -> Json:
    part = wav_audio(tone(seconds)) if wav else pcm_audio(tone(seconds))
    return Json(response(part, usage=tts_usage(10, audio_tokens), model=TTS_MODEL))


def gemini_scenario(budget: float = 1.0) -> dict[str, Any]:
    sc: dict[str, Any] = json.loads(json.dumps(SCENARIO))
    sc["tts"] = {"provider": "gemini", "model": TTS_MODEL, "budget_usd": budget}
    return sc


def test_gemini_pcm_and_wav_answers_a_429_and_a_failure_mid_batch(
    tmp_path: Path, gemini: FakeGemini
) -> None:
    root = make_project(tmp_path / "p", gemini_scenario())
    # One line at a time, so the replies meet the lines in order: l_1 is refused with 429
    # once (Retry-After), then answers PCM; l_2 fails for good (400); l_3 answers a WAV.
    gemini.queue(
        Error(429, "quota", retry_after=0.1),
        answer(1.0, audio_tokens=32),
        Error(400, "the text is not speakable"),
        answer(2.0, wav=True, audio_tokens=64),
    )

    async def one_at_a_time() -> dict[str, Any]:
        doc: dict[str, Any] = {}
        for line in ("l_1", "l_2", "l_3"):
            doc = await tts_pass(root, lines=[line])
        return doc

    doc = asyncio.run(one_at_a_time())
    st = {ln["line"]: ln for ln in doc["status"]["lines"]}
    assert st["l_1"]["stage"] == "ready" and st["l_3"]["stage"] == "ready"
    assert st["l_2"]["stage"] == "failed" and "not speakable" in st["l_2"]["error"]
    clips = dialogue(root)
    assert [c.duration for c in (clips[0], clips[2])] == [30, 60]  # 1 s and 2 s at 30 fps
    # What was sent: audio only, the two-speaker configuration, the line said by its speaker.
    sent = gemini.requests[1]
    assert sent.model == TTS_MODEL
    config = sent.generation_config
    assert config["responseModalities"] == ["AUDIO"]
    # This SDK sends the speech config's inner names as written (snake_case); the API reads
    # proto JSON, which takes either spelling.
    speech = config["speechConfig"]
    multi = speech.get("multiSpeakerVoiceConfig") or speech["multi_speaker_voice_config"]
    voices = multi.get("speakerVoiceConfigs") or multi["speaker_voice_configs"]
    assert [v["speaker"] for v in voices] == ["Narrator", "Guest"]
    assert sent.contents[0]["parts"][0]["text"] == "Narrator: Welcome to reelcut."
    # Cost: from the AUDIO tokens at the model's price, per line, and summed.
    price = PRICES[TTS_MODEL]
    jobs = asyncio.run(_jobs(root))
    made = {j.payload["line"]: j.result for j in jobs if j.status == "succeeded"}
    assert made["l_1"]["audio_tokens"] == 32 and made["l_1"]["prompt_tokens"] == 10
    assert made["l_1"]["cost_usd"] == pytest.approx((10 * price.input + 32 * price.output) / 1e6)
    total = sum(r["cost_usd"] for r in made.values())
    assert doc["status"]["usage"]["cost_usd"] == pytest.approx(total, abs=1e-6)


def test_a_paid_pass_over_budget_needs_confirmation_and_pricing_json_overrides(
    tmp_path: Path, gemini: FakeGemini
) -> None:
    root = make_project(tmp_path / "p", gemini_scenario(budget=0.0))
    with pytest.raises(tts.NeedsConfirmation, match="over the budget"):
        asyncio.run(tts_pass(root))
    assert gemini.requests == [] and list((root / "assets").iterdir()) == []
    (root / "pricing.json").write_text(json.dumps({TTS_MODEL: {"input": 0, "output": 0}}))
    dry = asyncio.run(tts_pass(root, dry_run=True))
    assert dry["estimate"]["cost_usd"] == 0.0  # the override priced it: free is within budget
    assert PRICES[TTS_MODEL] != Price(0, 0, 0)


# -- the ops and the scenario check, pure ------------------------------------------------------


def test_landing_longer_pushes_touching_neighbours_and_undo_restores(tmp_path: Path) -> None:
    """[l_1 ~30][l_2 ~30]   [l_3 at 100]  land l_1 at 60 ->  [l_1 60][l_2 30][l_3 at 100]."""
    project = new_project("p", rate=Rate(30, 1))
    places = (
        Placement("l_1", "a" * 16, "one", 30),
        Placement("l_2", "b" * 16, "two", 30),
        Placement("l_3", "c" * 16, "three", 30, start=100),
    )
    placed = PlaceTakes(places).apply(project).project
    media = MediaInfo(format="wav", size_bytes=1, duration_frames=60, duration_us=2_000_000)
    result = LandTake(take="a" * 16, hash="0" * 64, ext="wav", media=media).apply(placed)
    clips = dialogue_of(result.project)
    assert [(c.start, c.duration) for c in clips] == [(0, 60), (60, 30), (100, 30)]
    assert problems(result.project) == []
    assert result.inverse.apply(result.project).project == placed
    # Long enough to reach l_3: it is pushed clear of l_2.
    longer = msgspec.structs.replace(media, duration_frames=80)
    result = LandTake(take="a" * 16, hash="0" * 64, ext="wav", media=longer).apply(placed)
    assert [c.start for c in dialogue_of(result.project)] == [0, 80, 110]
    with pytest.raises(OpError, match="no placeholder"):
        LandTake(take="d" * 16, hash="0" * 64, ext="wav", media=media).apply(placed)


def test_a_placeholder_needs_no_bytes_but_a_ready_asset_does() -> None:
    project = (
        PlaceTakes((Placement("l_1", "a" * 16, "one", 30),))
        .apply(new_project("p", rate=Rate(30, 1)))
        .project
    )
    assert problems(project) == []
    asset = project.assets[0]
    ready = msgspec.structs.replace(
        asset, generation=Generation(stage="ready", line="l_1", take="a" * 16)
    )
    broken = msgspec.structs.replace(project, assets=(ready,))
    assert any("no hash/ext" in m for _, m in problems(broken))


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda sc: sc["lines"][1].update(id="l_1"), "line id"),
        (lambda sc: sc["lines"][0].update(start=-1), "lines[0].start"),
        (lambda sc: sc.update(tts={"provider": "cloud"}), "tts.provider"),
        (lambda sc: sc["speakers"][0].update(local={"voice": "-x; rm"}), "local.voice"),
    ],
)
def test_a_broken_scenario_is_one_line_with_its_place(
    change: Callable[[dict[str, Any]], object], where: str
) -> None:
    sc = json.loads(json.dumps(SCENARIO))
    change(sc)
    with pytest.raises(ScenarioError) as err:
        parse_scenario(json.dumps(sc, indent=2))
    msg = str(err.value)
    assert msg.startswith(f"{SCENARIO_PATH}:") and "\n" not in msg
    assert where in msg
