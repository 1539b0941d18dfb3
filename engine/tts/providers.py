"""TTS providers behind one interface: a line in, a WAV file and its usage out.

- `LocalProvider`: espeak-ng, offline and free, the default when no key is set. Each speaker
  speaks with its own voice variant, pitch and pace (`engine.tts.takes.LOCAL_VOICES`, or the
  scenario's ``local`` settings), so a two-speaker dialogue is audibly two people. The text
  goes to espeak-ng on stdin (never as an argument, so a line starting with ``-`` is words).
  espeak-ng runs on one of `voices_at_once` threads (`voices`), off the event loop; a pass
  can start its first lines before their jobs exist (`speak_ahead`).
- `GeminiProvider`: Gemini TTS through google-genai (``response_modalities=["AUDIO"]``, a
  prebuilt voice per speaker; in a two-speaker scenario the multi-speaker configuration with
  both voices and the line said as ``Name: text``, so each voice sounds the same in every
  line; a line's style leads the prompt, as Gemini TTS takes it). The answer is raw PCM or a
  whole WAV, decided by its mime type (`engine.tts.audio`). 429, 5xx and dropped connections
  are retried with back-off (Retry-After honoured, `engine.agent.provider.RetryPolicy`); 400,
  401, 403 and 404 fail at once. Usage is read from ``usageMetadata``: the audio-output tokens
  are the ``candidatesTokensDetails`` entry of modality AUDIO.

A provider is chosen per run (``--provider``) or per project (the scenario's ``tts.provider``);
`choose` falls back to local when Gemini is asked for implicitly and no key is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from engine.errors import ReelcutError
from engine.tts.audio import BadAudio, checked_wav, to_wav
from engine.tts.takes import Line

if TYPE_CHECKING:
    from google import genai

    from engine.agent.provider import RetryPolicy

Progress = Callable[[float, str], None]
Retrying = Callable[[int, float, str], Awaitable[None]]
LOCAL_TIMEOUT = 60.0
RETRY: RetryPolicy | None = None
"""The Gemini retries of every provider made without a policy of its own (None: the agent's
default, `engine.agent.provider.RetryPolicy`); the tests shorten the waits here."""


class TTSFailed(ReelcutError):
    """The provider cannot make this take as asked (a refusal, bad audio): no retry helps."""

    exit_code = 13


class TTSUnavailable(ReelcutError):
    """A transient failure that outlived the retries (the job queue may try again)."""

    exit_code = 13


@dataclass(frozen=True)
class Synthesis:
    """A take's audio (a WAV file's bytes) and what it cost."""

    wav: bytes
    prompt_tokens: int = 0
    audio_tokens: int = 0
    model: str = ""


class Provider(Protocol):
    name: str
    model: str

    async def synthesize(self, line: Line, on_progress: Progress) -> Synthesis: ...


@dataclass
class LocalProvider:
    """espeak-ng (see the module's docstring)."""

    name: str = "local"
    model: str = "espeak-ng"
    timeout: float = LOCAL_TIMEOUT

    async def synthesize(self, line: Line, on_progress: Progress) -> Synthesis:
        exe = espeak_ng()
        if exe is None:
            raise TTSFailed("espeak-ng is not installed; install it (apt install espeak-ng)")
        on_progress(0.05, "waiting for a voice")
        out = await self._speak(exe, line, on_progress)
        on_progress(0.8, "spoken")
        try:
            wav = checked_wav(out)  # as espeak-ng wrote it (sizes set by `_fix_stream_wav`)
        except BadAudio as exc:
            raise TTSFailed(str(exc)) from None
        return Synthesis(wav, model=self.model)

    async def _speak(self, exe: str, line: Line, on_progress: Progress) -> bytes:
        """espeak-ng's WAV of ``line``, spoken by one of the voices (`voices`) when it is free.

        The process is started and waited for on the voice's thread, never on the event
        loop: forking there blocked the loop that runs the queue (0.2-0.4 s for 50 lines, a
        few ms a line on a loaded machine, `bench/bench_tts.py`), and asyncio's child
        watcher started a thread per process. A voice that ends takes the next line waiting
        for one at once, without a turn of the event loop in between. A line `speak_ahead`
        started is taken over, not spoken again."""
        argv = _argv(exe, line)
        loop = asyncio.get_running_loop()
        watchdog: list[asyncio.TimerHandle] = []

        def speaking() -> None:  # on the loop, once espeak-ng runs
            on_progress(0.1, f"espeak-ng {line.local.voice}")
            if not done.done():
                watchdog.append(loop.call_later(self.timeout, speech.expire))

        def started() -> None:
            loop.call_soon_threadsafe(speaking)

        ahead = _AHEAD.pop((*argv, line.text), None)
        if ahead is not None and not ahead.speech.stopped:
            ahead.timer.cancel()
            speech, done = ahead.speech, ahead.done
        else:
            speech = _Speech(argv, line.text.encode("utf-8"))
            done = voices().submit(speech.run)
        speech.when_started(started)
        try:
            code, out, err = await asyncio.wrap_future(done)
        except asyncio.CancelledError:  # never leave espeak-ng running, nor a line queued
            speech.stop()
            if not done.cancel():
                with contextlib.suppress(Exception):
                    await asyncio.wrap_future(done)
            raise
        finally:
            for timer in watchdog:
                timer.cancel()
        if speech.expired:
            raise TTSUnavailable(f"espeak-ng took over {self.timeout:.0f} s")
        if code != 0 or not out:
            tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            raise TTSFailed(f"espeak-ng failed (exit {code}): {tail[0]}")
        return out


class _Speech:
    """One espeak-ng run on a voice's thread, which `stop` kills from any thread (or keeps
    from starting), and `expire` kills when it outlived its time.

    The text is read from, and the WAV and messages written to, unnamed files in memory
    (`_scratch`), so the voice's thread does nothing while espeak-ng speaks but wait for its
    exit, without a timeout: with pipes, `subprocess.Popen.communicate` ran a Python loop per
    64 KiB of audio, each turn waiting for the GIL the queue's threads hold, and with a timeout
    it waits for the exit by polling (sleeps of 1, 2, 4 ms... after espeak-ng closed its
    output: 0.14 s in 150 lines of `bench/bench_tts.py`). The voices' CPU in a 50-line pass
    went from ~50 to ~26 ms. The time limit is a timer on the event loop instead
    (`LocalProvider._speak`)."""

    def __init__(self, argv: list[str], text: bytes) -> None:
        self.argv, self.text = argv, text
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._on_start: list[Callable[[], None]] = []
        self.stopped = False
        self.expired = False

    def when_started(self, call: Callable[[], None]) -> None:
        """``call()`` once espeak-ng runs (on the voice's thread), or now if it runs already."""
        with self._lock:
            if self._proc is None:
                self._on_start.append(call)
                return
        call()

    def run(self) -> tuple[int, bytes, bytes]:
        with contextlib.ExitStack() as files:
            said, out, err = (files.enter_context(_scratch()) for _ in range(3))
            _write_all(said, self.text)
            os.lseek(said, 0, os.SEEK_SET)
            with self._lock:
                if self.stopped:
                    return -signal.SIGKILL, b"", b"stopped"
                # A new session: a Ctrl-C in the terminal stops the editor, never a voice
                # mid-line.
                self._proc = proc = subprocess.Popen(
                    self.argv, stdin=said, stdout=out, stderr=err, start_new_session=True
                )
                calls, self._on_start = self._on_start, []
            for call in calls:
                with contextlib.suppress(RuntimeError):  # (its event loop closed meanwhile)
                    call()
            try:
                proc.wait()
            except BaseException:
                proc.kill()
                proc.wait()
                raise
            _fix_stream_wav(out)
            return proc.returncode, _read_all(out), _read_all(err)

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            if self._proc is not None:
                with contextlib.suppress(ProcessLookupError):
                    self._proc.kill()

    def expire(self) -> None:
        """The time limit ran out: kill espeak-ng (`run` returns what it had)."""
        self.expired = True
        self.stop()


@contextlib.contextmanager
def _scratch() -> Iterator[int]:
    """An unnamed file in memory (a temporary file where memfd_create is missing)."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("reelcut-voice", os.MFD_CLOEXEC)
        try:
            yield fd
        finally:
            os.close(fd)
    else:  # pragma: no cover (not Linux)
        with tempfile.TemporaryFile() as f:
            yield f.fileno()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    parts, at = [], 0
    while at < size:
        got = os.pread(fd, size - at, at)
        if not got:
            break
        parts.append(got)
        at += len(got)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _argv(exe: str, line: Line) -> list[str]:
    v = line.local
    return [exe, "-v", v.voice, "-p", str(v.pitch), "-s", str(v.rate), "--stdout", "--stdin"]


_EXE: dict[str, str] = {}


def espeak_ng() -> str | None:
    """espeak-ng's path (None: not installed), looked up along PATH once per PATH: a lookup
    is a dozen stat calls, on the event loop, for every line."""
    path = os.environ.get("PATH", os.defpath)
    exe = _EXE.get(path)
    if exe is None or not os.access(exe, os.X_OK):
        exe = shutil.which("espeak-ng", path=path)
        if exe is None:
            return None  # (not remembered: installing it needs no restart)
        _EXE[path] = exe
    return exe


AHEAD_KEEP = 30.0
"""Seconds a line `speak_ahead` started waits for its job to take it over: then it is dropped
(and espeak-ng stopped, should it still speak)."""


@dataclass(frozen=True)
class _Ahead:
    speech: _Speech
    done: Future[tuple[int, bytes, bytes]]
    timer: asyncio.TimerHandle


_AHEAD: dict[tuple[str, ...], _Ahead] = {}
"""The lines spoken ahead of their jobs, by espeak-ng command line and text."""


def speak_ahead(lines: list[Line], keep: float = AHEAD_KEEP) -> int:
    """Start speaking ``lines`` with espeak-ng now, on the voices, in order, before their jobs
    exist: `LocalProvider` takes each over when its job runs (same command, same text) instead
    of speaking it again. ``engine.tts.jobs.start`` calls it for a free local pass whose jobs
    this process runs, before it writes the scenario's snapshot, the jobs and the
    placeholders (10-40 ms, most of it fsyncs) and before the runner claims the first line:
    the voices speak meanwhile. A line no job takes over within ``keep`` seconds is dropped.
    Returns how many lines were started. Called on the event loop that runs the jobs."""
    exe = espeak_ng()
    if exe is None:
        return 0
    loop = asyncio.get_running_loop()
    started = 0
    for line in lines:
        argv = _argv(exe, line)
        key = (*argv, line.text)
        if key in _AHEAD:
            continue
        speech = _Speech(argv, line.text.encode("utf-8"))
        done = voices().submit(speech.run)
        _AHEAD[key] = _Ahead(speech, done, loop.call_later(keep, _forget, key, speech))
        started += 1
    return started


def _forget(key: tuple[str, ...], speech: _Speech) -> None:
    ahead = _AHEAD.get(key)
    if ahead is not None and ahead.speech is speech:
        del _AHEAD[key]
        speech.stop()


def voices_at_once() -> int:
    """How many espeak-ng processes speak at once: one a core."""
    return max(1, os.cpu_count() or 1)


_VOICES: ThreadPoolExecutor | None = None
_VOICES_LOCK = threading.Lock()


def voices() -> ThreadPoolExecutor:
    """The process's espeak-ng voices: `voices_at_once` threads, each running one espeak-ng
    at a time; lines wait their turn in order. The queue runs more tts jobs than that
    (`engine.tts.jobs.limit`): a job storing and landing its take holds no voice, so the next
    line starts speaking the moment one ends, as when the commands run on their own."""
    global _VOICES
    with _VOICES_LOCK:
        if _VOICES is None:
            _VOICES = ThreadPoolExecutor(voices_at_once(), thread_name_prefix="reelcut-voice")
        return _VOICES


def _fix_stream_wav(fd: int) -> None:
    """espeak-ng's ``--stdout`` WAV has 0x7fffffff-style sizes (it cannot seek back): set the
    RIFF and data sizes from what was written, in the file ``fd`` it wrote, so the wave
    module reads every sample (the take is stored as it is then: no copy decoded and
    written again)."""
    size = os.fstat(fd).st_size
    head = os.pread(fd, min(size, 4096), 0)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return
    at = head.find(b"data", 12)
    if at < 0:
        return
    os.pwrite(fd, (size - 8).to_bytes(4, "little"), 4)
    os.pwrite(fd, (size - (at + 8)).to_bytes(4, "little"), at + 4)


@dataclass
class GeminiProvider:
    """Gemini TTS through google-genai (see the module's docstring)."""

    model: str
    client: genai.Client
    speakers: tuple[tuple[str, str, str], ...] = ()
    """``(id, name, voice)`` of the scenario's speakers: two of them use the multi-speaker
    configuration."""
    policy: RetryPolicy | None = None
    on_retry: Retrying | None = None
    name: str = "gemini"

    def config(self, line: Line) -> Any:
        from google.genai import types

        def voice(name: str) -> types.VoiceConfig:
            prebuilt = types.PrebuiltVoiceConfig(voice_name=name)
            return types.VoiceConfig(prebuilt_voice_config=prebuilt)

        if len(self.speakers) == 2:
            speech = types.SpeechConfig(
                multi_speaker_voice_config=types.MultiSpeakerVoiceConfig(
                    speaker_voice_configs=[
                        types.SpeakerVoiceConfig(speaker=name, voice_config=voice(v))
                        for _, name, v in self.speakers
                    ]
                )
            )
        else:
            speech = types.SpeechConfig(voice_config=voice(line.voice))
        return types.GenerateContentConfig(response_modalities=["AUDIO"], speech_config=speech)

    def prompt(self, line: Line) -> str:
        said = f"{line.speaker_name}: {line.text}" if len(self.speakers) == 2 else line.text
        return f"{line.style}:\n{said}" if line.style else said

    async def synthesize(self, line: Line, on_progress: Progress) -> Synthesis:
        from google.genai import errors as genai_errors

        from engine.agent import provider as gp

        policy = self.policy or RETRY or gp.RetryPolicy()
        on_progress(0.1, f"asking {self.model}")
        for attempt in range(policy.attempts):
            try:
                response = await self.client.aio.models.generate_content(
                    model=self.model, contents=self.prompt(line), config=self.config(line)
                )
                break
            except genai_errors.APIError as exc:
                if exc.code not in gp.RETRY_STATUSES:
                    raise TTSFailed(str(gp.fail_fast(exc))) from None
                reason, retry_after = gp.describe(exc), gp._retry_after(exc)
            except gp.TRANSPORT_ERRORS as exc:
                reason, retry_after = f"the connection dropped ({gp.describe(exc)})", None
            if attempt + 1 >= policy.attempts:
                raise TTSUnavailable(f"Gemini failed {policy.attempts} times; the last: {reason}")
            wait = policy.wait(attempt, retry_after)
            on_progress(0.1, f"retry {attempt + 1} in {wait:.1f}s: {reason}"[:200])
            if self.on_retry is not None:
                await self.on_retry(attempt + 1, wait, reason)
            await asyncio.sleep(wait)
        on_progress(0.7, "decoding audio")
        parts = _audio_parts(response)
        try:
            wav = to_wav(parts)
        except BadAudio as exc:
            finish = _finish(response)
            said = f" (finish reason {finish})" if finish and finish != "STOP" else ""
            raise TTSFailed(f"{exc}{said}") from None
        prompt, audio = _usage(response)
        return Synthesis(wav, prompt, audio, model=self.model)


def _audio_parts(response: Any) -> list[tuple[str, bytes]]:
    out = []
    for cand in (response.candidates or [])[:1]:
        for part in (cand.content.parts if cand.content else None) or []:
            blob = part.inline_data
            if blob is not None and blob.data:
                out.append((blob.mime_type or "", blob.data))
    return out


def _finish(response: Any) -> str | None:
    cands = response.candidates or []
    reason = cands[0].finish_reason if cands else None
    return getattr(reason, "value", None) or (str(reason) if reason else None)


def _usage(response: Any) -> tuple[int, int]:
    """``(prompt tokens, audio output tokens)`` from ``usageMetadata``: the AUDIO entry of
    ``candidatesTokensDetails``, else the whole candidates count."""
    meta = response.usage_metadata
    if meta is None:
        return 0, 0
    audio = None
    for detail in meta.candidates_tokens_details or []:
        modality = getattr(detail.modality, "value", detail.modality)
        if modality == "AUDIO":
            audio = (audio or 0) + (detail.token_count or 0)
    if audio is None:
        audio = meta.candidates_token_count or 0
    return meta.prompt_token_count or 0, audio


def has_key() -> bool:
    return bool(os.environ.get("GOOGLE_API_KEY") or os.environ.get("GEMINI_API_KEY"))


def make(
    provider: str,
    model: str,
    speakers: tuple[tuple[str, str, str], ...] = (),
    *,
    client: genai.Client | None = None,
) -> Provider:
    """The provider named ``provider`` speaking with ``model``."""
    if provider == "local":
        return LocalProvider()
    if provider == "gemini":
        if client is None:
            from engine.agent.provider import make_client

            client = make_client()
        return GeminiProvider(model=model, client=client, speakers=speakers)
    raise ReelcutError(f"no TTS provider {provider!r}; use local or gemini")


def choose(asked: str | None, scenario_provider: str) -> str:
    """The provider of a run: the one asked for, else the scenario's, except that a project
    set to Gemini falls back to local when no key is set (asking for gemini explicitly with
    no key is an error, at `make`)."""
    if asked is not None:
        return asked
    if scenario_provider == "gemini" and not has_key():
        return "local"
    return scenario_provider
