"""Cost of a model call, computed locally from its usage metadata.

Prices are US dollars per million tokens, from Google's published Gemini API price list
(paid tier, prompts up to 200k tokens; `LONG` applies above). Thought tokens are billed as
output; cached prompt tokens at the cache price (they are part of the prompt count). A project
can override or add models in ``pricing.json`` at its root::

    {"gemini-2.5-flash": {"input": 0.30, "output": 2.50, "cached": 0.03},
     "my-tuned-model": {"input": 1, "output": 4}}

Each model needs ``input`` and ``output``; ``cached`` (else the input price) and the ``_long``
prices (else the short ones) are optional; every price is a finite number >= 0. `check_pricing`
says what is wrong with such a file at its line and column (the script panes and changeset apply
use it through `engine.filechecks.check_text`); `prices` refuses a broken one with `BadPricing`.
A model without an entry of its own is priced by the longest entry its name starts with.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import sandbox
from engine.errors import ReelcutError
from engine.jsoncheck import Problem, parse_json, problem_at, schema_problem

if TYPE_CHECKING:
    import jsonschema

AS_OF = "2026-11"
LONG_PROMPT = 200_000


@dataclass(frozen=True)
class Price:
    input: float
    output: float
    cached: float
    input_long: float | None = None
    output_long: float | None = None
    cached_long: float | None = None


PRICES: dict[str, Price] = {
    "gemini-3-pro-preview": Price(2.00, 12.00, 0.20, 4.00, 18.00, 0.40),
    "gemini-3-flash-preview": Price(0.50, 3.00, 0.05),
    "gemini-2.5-pro": Price(1.25, 10.00, 0.125, 2.50, 15.00, 0.25),
    "gemini-2.5-flash": Price(0.30, 2.50, 0.03),
    "gemini-2.5-flash-lite": Price(0.10, 0.40, 0.01),
    # Text-to-speech: the output price is for audio tokens (engine.tts); text in.
    "gemini-2.5-flash-preview-tts": Price(0.50, 10.00, 0.50),
    "gemini-2.5-pro-preview-tts": Price(1.00, 20.00, 1.00),
}


@dataclass(frozen=True)
class Usage:
    prompt: int = 0  # includes the cached tokens
    output: int = 0  # candidates (the answer), without thoughts
    cached: int = 0
    thoughts: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt + other.prompt,
            self.output + other.output,
            self.cached + other.cached,
            self.thoughts + other.thoughts,
        )


class BadPricing(ReelcutError):
    """pricing.json is not a table of prices."""


PRICING_FILE = "pricing.json"
_PRICE = {"type": "number", "minimum": 0, "description": "US dollars per million tokens"}
PRICING_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": f"reelcut model prices ({PRICING_FILE})",
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "required": ["input", "output"],
        "additionalProperties": False,
        "properties": {
            "input": {**_PRICE, "description": "prompt tokens, $ per million"},
            "output": {**_PRICE, "description": "answer and thought tokens, $ per million"},
            "cached": {**_PRICE, "description": "cached prompt tokens (default: input)"},
            "input_long": {**_PRICE, "description": f"input above {LONG_PROMPT} prompt tokens"},
            "output_long": {**_PRICE, "description": f"output above {LONG_PROMPT} prompt tokens"},
            "cached_long": {**_PRICE, "description": f"cached above {LONG_PROMPT} prompt tokens"},
        },
    },
}


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    # Imported on first use: jsonschema costs ~40 ms, and most runs never read pricing.json.
    import jsonschema

    return jsonschema.Draft202012Validator(PRICING_SCHEMA)


def check_pricing(text: str, doc: Any) -> Problem | None:
    """The first way ``doc`` (parsed from ``text`` by `engine.jsoncheck.parse_json`) is not a
    price table, naming the model and the key, at its line and column in ``text``; None if it
    is one."""
    if isinstance(doc, dict):
        for model, entry in doc.items():
            if not model.strip():
                return problem_at(text, (model,), "a model name must not be empty")
            # jsonschema takes 1e999 (json reads it as infinity) for a number >= 0.
            for key, value in entry.items() if isinstance(entry, dict) else ():
                if isinstance(value, float) and not math.isfinite(value):
                    return problem_at(text, (model, key), f"must be a finite number, got {value}")
    problem = schema_problem(_validator(), doc, text)
    if problem is not None and problem.message.startswith("$: expected an object"):
        return Problem(
            f'{problem.message}; pricing.json maps model names to {{"input": ..., "output": ...}}',
            problem.line,
            problem.column,
        )
    return problem


def parse_pricing(text: str) -> dict[str, Price]:
    """The prices ``text`` (the contents of pricing.json) sets; `BadPricing` naming the line,
    column, model and key of the first problem."""
    doc, problem = parse_json(text)
    if problem is None:
        problem = check_pricing(text, doc)
    if problem is not None:
        raise BadPricing(f"{PRICING_FILE}:{problem}")
    return {
        model: Price(
            input=p["input"],
            output=p["output"],
            cached=p.get("cached", p["input"]),
            input_long=p.get("input_long"),
            output_long=p.get("output_long"),
            cached_long=p.get("cached_long"),
        )
        for model, p in doc.items()
    }


def prices(root: Path | None = None) -> dict[str, Price]:
    """The package table, with the project's ``pricing.json`` over it when there is one."""
    table = dict(PRICES)
    if root is None:
        return table
    try:
        data = sandbox.read_bytes(root, PRICING_FILE)
    except sandbox.PathNotFound:
        return table
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadPricing(
            f"{PRICING_FILE} is not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    table.update(parse_pricing(text))
    return table


def cost(model: str, usage: Usage, table: dict[str, Price] | None = None) -> float | None:
    """Dollars for one call, or None when the model has no price (shown as unknown)."""
    table = PRICES if table is None else table
    price = table.get(model)
    if price is None:
        # "models/gemini-2.5-pro" and dated variants ("gemini-2.5-pro-001") price as the base;
        # the longest base wins, so "gemini-2.5-flash-lite-001" is not priced as "-flash".
        base = model.removeprefix("models/")
        name = max((n for n in table if base.startswith(n)), key=len, default=None)
        price = None if name is None else table[name]
    if price is None:
        return None
    long = usage.prompt > LONG_PROMPT
    pin = price.input_long if long and price.input_long is not None else price.input
    pout = price.output_long if long and price.output_long is not None else price.output
    pcache = price.cached_long if long and price.cached_long is not None else price.cached
    fresh = max(0, usage.prompt - usage.cached)
    return (fresh * pin + usage.cached * pcache + (usage.output + usage.thoughts) * pout) / 1e6
