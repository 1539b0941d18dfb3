"""Transcription: where long sound is cut, the transcript file, pocketsphinx alignment of
espeak-ng words, and the real google-cloud-speech client against the fake Cloud Speech server
through the job queue (chunks, retries, refusals), all on real ffmpeg and a real project.

The queue tests hold a fresh project the way `reelcut transcribe` does (`engine.door.hold`
with a runner that has the transcribe handler) and wait for the jobs through the queue.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import itertools
import subprocess
import wave
from pathlib import Path
from typing import Any

import pytest

from engine.door import door, hold
from engine.events import EventStream
from engine.jobs import Runner, store
from engine.model import new_project
from engine.projectdir import ProjectDir
from engine.state.adb import AsyncDB
from engine.timebase import Rate
from engine.transcripts import jobs as transcribe
from engine.transcripts.align import align
from engine.transcripts.audio import RATE, WINDOW, Chunk, plan_chunks
from engine.transcripts.document import (
    SCHEMA_VERSION,
    Transcript,
    TranscriptInvalid,
    Word,
    decode_transcript,
    encode_transcript,
    read_transcript,
)
from engine.transcripts.providers import ENDPOINT_ENV
from tests.fakes.speech import Error, FakeSpeech, Spoken, speech_pcm

# -- where long sound is cut --------------------------------------------------------------------

LOUD, QUIET = -10.0, -90.0


def levels(pattern: str) -> list[float]:
    """One 10 ms window per character: ``#`` sound, ``.`` silence."""
    return [LOUD if c == "#" else QUIET for c in pattern]


@pytest.mark.parametrize(
    ("pattern", "max_s", "min_s", "cuts", "in_silence"),
    [
        # Short enough: one piece.
        ("#" * 50, 1.0, 0.2, [], []),
        # The one silence in range: cut in its middle (windows 60-69 -> 65).
        ("#" * 60 + "." * 10 + "#" * 60, 1.0, 0.2, [65], [True]),
        # Two silences in range: the longer one wins, though it comes first.
        ("#" * 30 + "." * 8 + "#" * 30 + "." * 3 + "#" * 60, 1.0, 0.2, [34], [True]),
        # A silence before min_seconds does not count: no silence, a hard cut at the limit.
        ("#" * 10 + "." * 5 + "#" * 150, 1.0, 0.5, [100], [False]),
    ],
)
def test_plan_chunks_cuts_in_the_middle_of_the_longest_silence(
    pattern: str, max_s: float, min_s: float, cuts: list[int], in_silence: list[bool]
) -> None:
    total = len(pattern) * WINDOW
    chunks = plan_chunks(levels(pattern), total, max_seconds=max_s, min_seconds=min_s)
    assert [c.start for c in chunks[1:]] == [w * WINDOW for w in cuts]
    assert [c.cut_in_silence for c in chunks[:-1]] == in_silence
    assert chunks[0].start == 0 and chunks[-1].end == total
    assert all(a.end == b.start for a, b in itertools.pairwise(chunks))
    assert all((c.end - c.start) <= max_s * RATE for c in chunks)


# -- the file -----------------------------------------------------------------------------------


def sample() -> Transcript:
    return Transcript(
        schema_version=SCHEMA_VERSION,
        asset_id="a_3",
        asset_hash="0" * 64,
        provider="local",
        method="aligned",
        model="pocketsphinx en-us",
        language="en-US",
        duration_ms=2000,
        words=(Word("Hello", 100, 400, 0.9, "Narrator"), Word("world.", 450, 900)),
    )


def test_a_transcript_is_one_word_per_line_and_reads_back_the_same() -> None:
    text = encode_transcript(sample())
    assert '    {"text": "world.", "start_ms": 450, "end_ms": 900}' in text.splitlines()
    assert decode_transcript(text) == sample()


def test_a_hand_edited_transcript_with_a_word_ending_before_it_starts_names_line_and_column() -> (
    None
):
    text = encode_transcript(sample()).replace('"end_ms": 900', '"end_ms": 300')
    with pytest.raises(TranscriptInvalid) as err:
        decode_transcript(text, "transcripts/a_3.json")
    assert str(err.value).startswith("transcripts/a_3.json:12:")
    assert "ends at 300 ms, not after its start" in str(err.value)


# -- pocketsphinx aligns espeak-ng words --------------------------------------------------------


def spoken_word(word: str, voice: str) -> array.array[int]:
    """One word said by espeak-ng as 16 kHz samples, its silent head and tail cut off."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "--stdout", word], capture_output=True, check=True
    ).stdout
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", "pipe:0", "-ac", "1", "-ar", str(RATE), "-f", "s16le", "-"],
        input=wav,
        capture_output=True,
        check=True,
    ).stdout
    a = array.array("h")
    a.frombytes(raw)
    loud = [i for i, x in enumerate(a) if abs(x) > 300]
    return a[loud[0] : loud[-1] + 1]


@pytest.mark.parametrize("voice", ["en-us", "en+f3"])
def test_alignment_puts_every_word_start_within_100_ms_of_where_it_is(voice: str) -> None:
    """Words said one by one with known silences between them (the truth is where each
    word's samples were put); the aligner hears the whole line."""
    text = "Hello world, this is a test of the transcription"
    pcm = array.array("h", [0] * (RATE // 2))
    truth = []
    for i, word in enumerate(text.split()):
        truth.append(len(pcm) * 1000 // RATE)
        pcm.extend(spoken_word(word.strip(","), voice))
        pcm.extend([0] * (RATE * (200 + 60 * (i % 3)) // 1000))
    words = align(pcm.tobytes(), text)
    assert words is not None
    assert [w.text for w in words] == text.split()
    errors = [w.start_ms - t for w, t in zip(words, truth, strict=True)]
    assert max(abs(e) for e in errors) <= 100, errors


def test_alignment_of_a_whole_espeak_sentence_keeps_the_words_in_order_and_inside_the_sound() -> (
    None
):
    text = "welcome back to the show today we talk about editing video with text"
    wav = subprocess.run(
        ["espeak-ng", "-v", "en+f3", "--stdout", text], capture_output=True, check=True
    ).stdout
    pcm = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", "pipe:0", "-ac", "1", "-ar", str(RATE), "-f", "s16le", "-"],
        input=wav,
        capture_output=True,
        check=True,
    ).stdout
    words = align(pcm, text)
    assert words is not None and [w.text for w in words] == text.split()
    length = len(pcm) // 2 * 1000 // RATE
    assert all(0 <= w.start_ms < w.end_ms <= length for w in words)
    assert all(a.start_ms <= b.start_ms for a, b in itertools.pairwise(words))


# -- the queue, the fake Cloud Speech -----------------------------------------------------------


def make_project(root: Path, pcm: bytes, name: str = "talk.wav") -> str:
    """A project holding ``pcm`` as an imported WAV; the asset's id."""
    ProjectDir.create(root, new_project("talk", rate=Rate(30, 1)))
    src = root.parent / name
    with wave.open(str(src), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm)
    with door(root, "test") as d:
        doc = d.call("import", {"files": [str(src)]})
    (asset,) = doc["results"][0]["assets"]
    return str(asset)


async def transcribe_pass(root: Path, **params: Any) -> dict[str, Any]:
    """One `transcribe.start` through the door of a holder that runs the jobs, to their end."""
    db = await AsyncDB.open(root / ".reelcut")
    events = EventStream(db)
    await events.start()
    runner = Runner(db, events, root, {}, {}, heartbeat=0.05, tick=0.05, backoff=(0.05,))
    seen: list[Any] = []
    unlisten = events.listen(lambda e: seen.append(e) if e.topic == "job" else None)
    try:
        async with hold(root, "test", db=db, events=events, runner=runner) as ws:
            transcribe.register(ws, runner.handlers, runner.limits)
            doc: dict[str, Any] = await ws.call("transcribe.start", params)
            await runner.start()
            try:
                await wait_jobs(db, events, {j["job"] for j in doc["jobs"]})
            finally:
                await runner.stop()
            ids = {j["job"] for j in doc["jobs"]}
            doc["done"] = [j for j in await db.read(transcribe.transcribe_jobs) if j.id in ids]
            doc["events"] = [(e.kind, e.data.get("progress")) for e in seen]
    finally:
        unlisten()
        await events.close()
        await db.close()
    return doc


async def wait_jobs(db: AsyncDB, events: EventStream, ids: set[int]) -> None:
    wake = asyncio.Event()
    unlisten = events.listen(lambda e: wake.set())

    def busy(conn: Any) -> bool:
        return any(store.get(conn, i).status in ("queued", "running") for i in ids)  # type: ignore[union-attr]

    try:
        while await db.read(busy):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=2.0)
            wake.clear()
    finally:
        unlisten()


def three_minutes() -> tuple[bytes, list[Spoken]]:
    """180 s of "speech": words of 0.25-0.55 s with short gaps, a longer pause every
    sentence (so there is silence to cut at, never more than 9 words apart)."""
    words: list[Spoken] = []
    t, n = 0.4, 0
    while t < 178.0:
        length = 0.25 + 0.05 * (n % 7)
        words.append(Spoken(f"w{n}", round(t, 3), round(t + length, 3), speaker=1 + (n // 9) % 2))
        t += length + (0.9 if n % 9 == 8 else 0.12)
        n += 1
    return speech_pcm(words, 180.0), words


@pytest.fixture
def fake_speech(monkeypatch: pytest.MonkeyPatch) -> Any:
    with FakeSpeech() as fake:
        monkeypatch.setenv(ENDPOINT_ENV, fake.url)
        yield fake


def test_three_minutes_through_cloud_speech_in_pieces_line_up_within_50_ms(
    tmp_path: Path, fake_speech: FakeSpeech
) -> None:
    pcm, truth = three_minutes()
    fake_speech.hear(pcm, truth)
    root = tmp_path / "p"
    asset = make_project(root, pcm)
    doc = asyncio.run(transcribe_pass(root, provider="google", speakers=2))
    (job,) = doc["done"]
    assert job.status == "succeeded", job.error
    sent = fake_speech.requests
    assert len(sent) >= 4  # 180 s in pieces of at most 55 s
    assert all(r.seconds <= 55.0 for r in sent)
    assert all(r.config["enableWordTimeOffsets"] for r in sent)
    assert sum(r.seconds for r in sent) == pytest.approx(180.0, abs=0.01)
    t = read_transcript(root, asset)
    assert t is not None and t.provider == "google" and t.method == "recognized"
    assert [w.text for w in t.words] == [w.text for w in truth]
    worst = max(
        max(abs(w.start_ms - s.start * 1000), abs(w.end_ms - s.end * 1000))
        for w, s in zip(t.words, truth, strict=True)
    )
    assert worst <= 50
    assert {w.speaker for w in t.words} == {"1", "2"}
    assert job.result["pieces"] == len(sent) and job.result["billed_seconds"] >= 180
    assert job.result["cost_usd"] == pytest.approx(
        job.result["billed_seconds"] / 60 * 0.016, abs=1e-6
    )
    # The estimate said before the job ran is the sound's length; each request is billed in
    # whole seconds, rounded up, so the cost is at most a second a piece more.
    assert doc["estimate"] == {"audio_seconds": 180.0, "cost_usd": pytest.approx(0.048)}
    extra = job.result["cost_usd"] - doc["estimate"]["cost_usd"]
    assert 0 <= extra <= len(sent) / 60 * 0.016 + 1e-6
    kinds = [k for k, _ in doc["events"]]
    assert "running" in kinds and "progress" in kinds and kinds[-1] == "succeeded"


def test_a_503_is_retried_and_a_403_fails_the_job_with_one_line(
    tmp_path: Path, fake_speech: FakeSpeech, monkeypatch: pytest.MonkeyPatch
) -> None:
    words = [Spoken("hello", 0.5, 0.9), Spoken("there", 1.0, 1.4)]
    pcm = speech_pcm(words, 2.0)
    fake_speech.hear(pcm, words)
    root = tmp_path / "p"
    asset = make_project(root, pcm)
    monkeypatch.setattr("engine.transcripts.providers.GoogleProvider.base_wait", 0.01)
    fake_speech.fail(Error(503, "try later", {"Retry-After": "0"}))
    doc = asyncio.run(transcribe_pass(root, provider="google"))
    assert doc["done"][0].status == "succeeded"
    assert len(fake_speech.requests) == 2
    t = read_transcript(root, asset)
    assert t is not None and [w.text for w in t.words] == ["hello", "there"]

    fake_speech.fail(Error(403, "Cloud Speech-to-Text API has not been used in project 1"))
    doc = asyncio.run(transcribe_pass(root, provider="google", force=True))
    (job,) = doc["done"]
    assert job.status == "failed"
    assert job.error == (
        "Cloud Speech refused: HTTP 403: Cloud Speech-to-Text API has not been used in project 1"
    )
    assert read_transcript(root, asset) == t  # the old transcript stays


def test_a_transcript_made_once_is_not_made_again_unless_forced(
    tmp_path: Path, fake_speech: FakeSpeech
) -> None:
    words = [Spoken("hi", 0.2, 0.5)]
    pcm = speech_pcm(words, 1.0)
    fake_speech.hear(pcm, words)
    root = tmp_path / "p"
    make_project(root, pcm)
    asyncio.run(transcribe_pass(root, provider="google"))
    doc = asyncio.run(transcribe_pass(root, provider="google"))
    assert doc["jobs"] == [] and [s["why"] for s in doc["skipped"]] == ["exists"]
    doc = asyncio.run(transcribe_pass(root, provider="google", force=True))
    assert [j.status for j in doc["done"]] == ["succeeded"]
    assert len(fake_speech.requests) == 2


def test_the_local_provider_aligns_given_text_offline(tmp_path: Path) -> None:
    words = [Spoken("one", 0.3, 0.6), Spoken("two", 1.0, 1.3)]
    root = tmp_path / "p"
    asset = make_project(root, speech_pcm(words, 2.0))
    doc = asyncio.run(transcribe_pass(root, provider="local", text="One, two."))
    (job,) = doc["done"]
    assert job.status == "succeeded", job.error
    t = read_transcript(root, asset)
    assert t is not None and t.method == "aligned" and t.provider == "local"
    assert [(w.text, w.start_ms) for w in t.words] == [("One,", 300), ("two.", 1000)]


def test_no_google_credentials_is_one_line_and_queues_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.transcripts.providers import TranscribeFailed

    monkeypatch.delenv(ENDPOINT_ENV, raising=False)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))  # no ADC file there
    root = tmp_path / "p"
    make_project(root, speech_pcm([Spoken("hi", 0.2, 0.5)], 1.0))
    with pytest.raises(TranscribeFailed, match="no Google credentials for Cloud Speech"):
        asyncio.run(transcribe_pass(root, provider="google"))
    monkeypatch.setenv(ENDPOINT_ENV, "http://speech.example.com")
    with pytest.raises(TranscribeFailed, match="is not a loopback URL"):
        asyncio.run(transcribe_pass(root, provider="google"))

    async def jobs() -> list[Any]:
        db = await AsyncDB.open(root / ".reelcut")
        try:
            return await db.read(transcribe.transcribe_jobs)
        finally:
            await db.close()

    assert asyncio.run(jobs()) == []


def test_chunk_times_are_samples() -> None:
    assert Chunk(RATE * 2, RATE * 3).start_ms == 2000


def test_tts_takes_are_aligned_with_their_lines_and_speakers(tmp_path: Path) -> None:
    """The scenario spoken by espeak-ng (a real TTS pass): transcribing the project aligns
    each take with the line it says, its speaker named."""
    from tests.engine.test_tts import make_project as make_scenario
    from tests.engine.test_tts import tts_pass

    root = make_scenario(tmp_path / "p")
    asyncio.run(tts_pass(root, provider="local"))
    doc = asyncio.run(transcribe_pass(root, provider="local"))
    assert len(doc["done"]) == 3 and all(j.status == "succeeded" for j in doc["done"])
    assert all(j.payload["text_source"] == "tts" for j in doc["done"])
    said = {}
    for j in doc["done"]:
        t = read_transcript(root, j.payload["asset"])
        assert t is not None and t.method == "aligned"
        said[t.text] = {w.speaker for w in t.words}
    assert said == {
        "Welcome to reelcut.": {"Narrator"},
        "So the timeline is just a file?": {"Guest"},
        "A file you and the agent both edit.": {"Narrator"},
    }
