"""What a TTS pass reads from the scenario, and what identifies a take.

`read_scenario` turns ``scripts/Scenario_TTS.json`` (checked like every project file:
`engine.scenario.check_scenario`, errors at file:line:column) into `Line`s, each carrying what
its voice needs. A take is identified by what made it (`take_key`): the text, the speaker, the
voice and its local parameters, the style, the provider and the model. A line whose key has a
take already is not generated again; editing a line's text (or its speaker's voice) changes its
key, so exactly that line is generated anew, and the earlier take stays in the pool.

Estimates are deliberately simple and documented: speech runs at `WORDS_PER_SECOND` (150 words a
minute) plus `LEAD_SECONDS`, and Gemini's audio costs `AUDIO_TOKENS_PER_SECOND` output tokens a
second of speech (the rate Google gives for audio) at the model's output price; the text is a
token per four characters at its input price.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from engine import sandbox
from engine.errors import ReelcutError
from engine.jsoncheck import parse_json
from engine.scenario import SCENARIO_PATH, check_scenario

PROVIDERS = ("local", "gemini")
DEFAULT_GEMINI_MODEL = "gemini-2.5-flash-preview-tts"
LOCAL_MODEL = "espeak-ng"
WORDS_PER_SECOND = 2.5
LEAD_SECONDS = 0.4
AUDIO_TOKENS_PER_SECOND = 32
DEFAULT_BUDGET_USD = 0.0
"""A paid run estimated above the budget is confirmed first; with none set, every paid run is."""

# Distinct espeak-ng voices, one per speaker in order, when the scenario names none: a man's
# and a woman's variant with pitch and pace apart, so a dialogue is audibly two people.
LOCAL_VOICES: tuple[tuple[str, int, int], ...] = (
    ("en+m3", 40, 165),
    ("en+f3", 70, 155),
    ("en+m7", 25, 145),
    ("en+f4", 85, 175),
)


class ScenarioError(ReelcutError):
    """The scenario file is missing or not a scenario (the line names file:line:column)."""

    exit_code = 3


@dataclass(frozen=True)
class LocalVoice:
    """An espeak-ng voice: ``-v voice -p pitch -s rate``."""

    voice: str
    pitch: int
    rate: int


@dataclass(frozen=True)
class Line:
    """One line of the scenario, as a provider speaks it."""

    index: int
    id: str
    speaker: str
    speaker_name: str
    text: str
    voice: str
    """The Gemini prebuilt voice (``Kore``)."""
    local: LocalVoice
    style: str = ""
    start: Fraction | None = None
    """Seconds from the scene's start, when the line gives one."""


@dataclass(frozen=True)
class Scenario:
    """The scenario file as read: its lines, settings and the sha256 of its bytes (its
    version)."""

    lines: tuple[Line, ...]
    provider: str
    model: str | None
    budget_usd: float
    sha256: str
    text: str
    speakers: tuple[tuple[str, str, str], ...] = field(default=())
    """``(id, name, Gemini voice)`` of every speaker, in order."""


def read_scenario(root: Path) -> Scenario:
    """The project's scenario; `ScenarioError` naming the file, line and column of what is
    wrong, or saying the file is missing."""
    try:
        data = sandbox.read_bytes(root, SCENARIO_PATH)
    except sandbox.PathNotFound:
        raise ScenarioError(
            f"{SCENARIO_PATH}: no scenario; write one (the demo has an example: `reelcut demo DIR`)"
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{SCENARIO_PATH}: not UTF-8 text (byte {exc.start})") from None
    return parse_scenario(text)


def parse_scenario(text: str) -> Scenario:
    doc, problem = parse_json(text)
    if problem is None:
        problem = check_scenario(text, doc)
    if problem is not None:
        raise ScenarioError(f"{SCENARIO_PATH}:{problem}")
    settings = doc.get("tts") or {}
    provider = settings.get("provider", "local")
    speakers: dict[str, dict[str, Any]] = {s["id"]: s for s in doc["speakers"]}
    order = list(speakers)
    lines = []
    for i, raw in enumerate(doc["lines"]):
        sp = speakers[raw["speaker"]]
        n = order.index(sp["id"])
        default = LOCAL_VOICES[n % len(LOCAL_VOICES)]
        local = sp.get("local") or {}
        start = raw.get("start")
        style = " ".join(s for s in (sp.get("style", ""), raw.get("style", "")) if s)
        lines.append(
            Line(
                index=i,
                id=str(raw.get("id") or f"line{i + 1}"),
                speaker=sp["id"],
                speaker_name=sp.get("name") or sp["id"],
                text=raw["text"].strip(),
                voice=sp["voice"],
                local=LocalVoice(
                    local.get("voice", default[0]),
                    local.get("pitch", default[1]),
                    local.get("rate", default[2]),
                ),
                style=style,
                start=None if start is None else Fraction(str(start)),
            )
        )
    return Scenario(
        lines=tuple(lines),
        provider=provider,
        model=settings.get("model"),
        budget_usd=float(settings.get("budget_usd", DEFAULT_BUDGET_USD)),
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        text=text,
        speakers=tuple((s["id"], s.get("name") or s["id"], s["voice"]) for s in doc["speakers"]),
    )


def model_for(provider: str, model: str | None) -> str:
    """The model a provider speaks with: espeak-ng locally, else the named Gemini model."""
    if provider == "local":
        return LOCAL_MODEL
    return model or DEFAULT_GEMINI_MODEL


def identity(line: Line, provider: str, model: str, speakers: int = 1) -> dict[str, Any]:
    """What makes a take of ``line``: the fields of `take_key`. The local voice counts only
    for the local provider, the Gemini voice only for Gemini (and whether it spoke in a
    two-speaker configuration, which changes how the voice sounds)."""
    out: dict[str, Any] = {
        "text": line.text,
        "speaker": line.speaker,
        "style": line.style,
        "provider": provider,
        "model": model,
    }
    if provider == "local":
        out["voice"] = f"{line.local.voice} p{line.local.pitch} s{line.local.rate}"
    else:
        out["voice"] = line.voice
        out["dialogue"] = speakers == 2
    return out


def take_key(ident: dict[str, Any]) -> str:
    """The take's key: 16 hex digits of the sha256 of its identity as canonical JSON."""
    data = json.dumps(ident, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def estimate_seconds(text: str) -> Fraction:
    """How long ``text`` takes to say, roughly (see the module's docstring)."""
    words = max(1, len(text.split()))
    return Fraction(words) / Fraction(str(WORDS_PER_SECOND)) + Fraction(str(LEAD_SECONDS))


def text_tokens(text: str) -> int:
    return max(1, -(-len(text) // 4))


def estimate_usage(text: str) -> tuple[int, int]:
    """``(prompt tokens, audio output tokens)`` a Gemini take of ``text`` should cost."""
    audio = int(estimate_seconds(text) * AUDIO_TOKENS_PER_SECOND) + 1
    return text_tokens(text), audio
