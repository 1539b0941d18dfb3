"""Cost of a model call, computed locally from its usage metadata.

Prices are US dollars per million tokens, from Google's published Gemini API price list
(paid tier, prompts up to 200k tokens; `LONG` applies above). Thought tokens are billed as
output; cached prompt tokens at the cache price (they are part of the prompt count). A project
can override or add models in ``pricing.json`` at its root, in the same shape as `PRICES`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from engine import sandbox
from engine.errors import ReelcutError

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


def prices(root: Path | None = None) -> dict[str, Price]:
    """The package table, with the project's ``pricing.json`` over it when there is one."""
    table = dict(PRICES)
    if root is None:
        return table
    try:
        data = json.loads(sandbox.read_bytes(root, "pricing.json"))
    except sandbox.PathNotFound:
        return table
    except ValueError as exc:
        raise BadPricing(f"pricing.json is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadPricing('pricing.json must map model names to {"input": ..., "output": ...}')
    for model, p in data.items():
        try:
            table[model] = Price(**p)
        except TypeError as exc:
            raise BadPricing(f"pricing.json: {model}: {exc}") from None
    return table


def cost(model: str, usage: Usage, table: dict[str, Price] | None = None) -> float | None:
    """Dollars for one call, or None when the model has no price (shown as unknown)."""
    table = PRICES if table is None else table
    price = table.get(model)
    if price is None:
        # "models/gemini-2.5-pro" and dated variants ("gemini-2.5-pro-001") price as the base
        base = model.removeprefix("models/")
        price = next((p for name, p in table.items() if base.startswith(name)), None)
    if price is None:
        return None
    long = usage.prompt > LONG_PROMPT
    pin = price.input_long if long and price.input_long is not None else price.input
    pout = price.output_long if long and price.output_long is not None else price.output
    pcache = price.cached_long if long and price.cached_long is not None else price.cached
    fresh = max(0, usage.prompt - usage.cached)
    return (fresh * pin + usage.cached * pcache + (usage.output + usage.thoughts) * pout) / 1e6
