"""The local provider's voices and the lander's batches, with real espeak-ng and a real session.

espeak-ng is started on a voice's thread, never on the event loop (which runs the queue); a
line cancelled while it speaks leaves no espeak-ng running, and one cancelled while it waits
for a voice never speaks. A voice waits for espeak-ng's exit without polling, and one that
outlives its time limit is killed. Takes that finish while a batch is being written land together
with the next batch (`engine.tts.landing.GAP`), and `settled` lands what is gathering at once;
a take's file is fsynced as soon as it is handed to the lander, not when its batch lands."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from engine.tts import landing, providers
from engine.tts.landing import Lander, Landing
from engine.tts.providers import LocalProvider, TTSUnavailable
from engine.tts.takes import Line, LocalVoice
from engine.workspace import Workspace
from tests.engine.test_tts_kill import espeak_children
from tests.engine.test_tts_landing import TAKES, land, placed, stages

LONG = " ".join(["a long line that keeps espeak-ng speaking for a good while"] * 40)


def line(text: str) -> Line:
    return Line(0, "l_1", "a", "A", text, "Kore", LocalVoice("en-us", 50, 175))


def nothing(fraction: float, message: str) -> None:
    pass


def test_espeak_ng_starts_off_the_event_loop_and_its_wav_comes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started_on: list[int] = []
    real = subprocess.Popen

    def popen(*args: Any, **kwargs: Any) -> Any:
        started_on.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", popen)

    async def go() -> tuple[bytes, int]:
        synth = await LocalProvider().synthesize(line("Hello there."), nothing)
        return synth.wav, threading.get_ident()

    wav, loop_thread = asyncio.run(go())
    assert wav[:4] == b"RIFF" and len(wav) > 1000
    assert len(started_on) == 1 and started_on[0] != loop_thread


def test_a_voice_waits_for_espeak_ng_to_exit_without_polling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With a timeout, Popen.wait polls the exit in sleeps of 1, 2, 4 ms..., each after
    # espeak-ng has closed its output: time a voice sits idle on every line.
    waits: list[float | None] = []
    real = subprocess.Popen.wait

    def wait(self: Any, timeout: float | None = None) -> Any:
        waits.append(timeout)
        return real(self, timeout)

    monkeypatch.setattr(subprocess.Popen, "wait", wait)

    async def go() -> bytes:
        synth = await LocalProvider().synthesize(line("Hello there, twice."), nothing)
        return synth.wav

    assert asyncio.run(go())[:4] == b"RIFF"
    assert waits and all(t is None for t in waits)


def test_an_espeak_ng_that_outlives_its_time_limit_is_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin" / "espeak-ng"
    fake.parent.mkdir()
    pid_file = tmp_path / "pid"
    fake.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 600\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")

    async def go() -> None:
        speak = LocalProvider(timeout=0.5).synthesize(line("Hung."), nothing)
        await asyncio.wait_for(speak, 60)

    with pytest.raises(TTSUnavailable, match="espeak-ng took over"):
        asyncio.run(go())
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):  # killed and reaped
        os.kill(pid, 0)


def placed_with_takes(root: Path) -> Path:
    """`placed`, with a stand-in file in assets/ for each of `TAKES`."""
    placed(root)
    (root / "assets").mkdir(exist_ok=True)
    for t in TAKES:
        (root / "assets" / f"{t[0] * 64}.wav").write_bytes(b"RIFF")
    return root


def test_a_take_is_fsynced_when_handed_to_the_lander_not_when_its_batch_lands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.session import Session

    root = placed_with_takes(tmp_path / "p")
    monkeypatch.setattr(landing, "GAP", 3600.0)  # only `settled` lands the second batch
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.path.basename(os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    second = f"{TAKES[1][0] * 64}.wav"

    async def go(s: Session) -> tuple[bool, str]:
        lander = Lander(Workspace(root, s))
        lander.land(Landing(land(TAKES[0], 45), 1, "l_0"))
        for _ in range(2000):
            if stages(s)[TAKES[0]] == "ready":
                break
            await asyncio.sleep(0.01)
        lander.land(Landing(land(TAKES[1], 50), 2, "l_1"))
        for _ in range(2000):  # gathering: on disk already, before its batch lands
            if second in synced:
                break
            await asyncio.sleep(0.01)
        early, stage = second in synced, stages(s)[TAKES[1]]
        await asyncio.wait_for(lander.settled(), 60)
        return early, stage

    with Session(root) as s:
        early, stage = asyncio.run(go(s))
        assert early and stage == "queued"
        assert stages(s)[TAKES[1]] == "ready"
        assert synced.count(second) == 1  # and not again when it lands


def test_a_line_cancelled_while_speaking_leaves_no_espeak_ng_and_frees_its_voice() -> None:
    async def go() -> bytes:
        task = asyncio.ensure_future(LocalProvider().synthesize(line(LONG), nothing))
        for _ in range(2000):
            if espeak_children(os.getpid()):
                break
            await asyncio.sleep(0.01)
        assert espeak_children(os.getpid()) == 1, "espeak-ng did not start"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert espeak_children(os.getpid()) == 0  # killed and reaped before the cancel ends
        synth = await LocalProvider().synthesize(line("Again."), nothing)
        return synth.wav

    assert asyncio.run(go())[:4] == b"RIFF"


def test_a_line_cancelled_while_waiting_for_a_voice_never_speaks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said: list[bytes] = []
    real = providers._Speech.run

    def run(self: Any) -> Any:
        said.append(self.text)
        return real(self)

    monkeypatch.setattr(providers._Speech, "run", run)
    busy = providers.voices_at_once()

    async def go() -> None:
        speaking = [
            asyncio.ensure_future(LocalProvider().synthesize(line(LONG), nothing))
            for _ in range(busy)
        ]
        waiting = asyncio.ensure_future(LocalProvider().synthesize(line("Never."), nothing))
        for _ in range(2000):
            if espeak_children(os.getpid()) == busy:
                break
            await asyncio.sleep(0.01)
        assert espeak_children(os.getpid()) == busy, "every voice should be speaking"
        waiting.cancel()
        for t in speaking:
            t.cancel()
        await asyncio.gather(waiting, *speaking, return_exceptions=True)
        assert espeak_children(os.getpid()) == 0

    asyncio.run(go())
    assert b"Never." not in said and len(said) == busy


def test_takes_finishing_while_a_batch_lands_gather_and_settled_lands_them_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.session import Session

    root = placed_with_takes(tmp_path / "p")
    # A gap no test waits out: only `settled` can end it.
    monkeypatch.setattr(landing, "GAP", 3600.0)

    async def go(s: Session) -> tuple[list[int], dict[str, str]]:
        lander = Lander(Workspace(root, s))
        sizes: list[int] = []
        real = lander._land

        async def counted(batch: list[Landing]) -> None:
            sizes.append(len(batch))
            await real(batch)

        monkeypatch.setattr(lander, "_land", counted)
        lander.land(Landing(land(TAKES[0], 45), 1, "l_0"))
        for _ in range(2000):  # the first take lands alone and at once
            if stages(s)[TAKES[0]] == "ready":
                break
            await asyncio.sleep(0.01)
        lander.land(Landing(land(TAKES[1], 50), 2, "l_1"))
        await asyncio.sleep(0.2)  # (without a gap it lands alone meanwhile)
        lander.land(Landing(land(TAKES[2], 55), 3, "l_2"))
        assert stages(s)[TAKES[1]] == "queued"  # gathering, within the gap
        await asyncio.wait_for(lander.settled(), 60)
        return sizes, stages(s)

    with Session(root) as s:
        sizes, after = asyncio.run(go(s))
        assert sizes == [1, 2]
        assert set(after.values()) == {"ready"}
        s.undo()  # the two that gathered are one undo step
        assert stages(s) == {TAKES[0]: "ready", TAKES[1]: "queued", TAKES[2]: "queued"}
