"""Model prices: a project's pricing.json is checked before it is used (at its line and column,
naming the model and the key), and a model is priced by the longest name it starts with."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.agent.pricing import PRICES, BadPricing, Price, Usage, cost, prices
from engine.filechecks import check_text

MILLION = Usage(prompt=1_000_000)


def test_a_dated_variant_is_priced_by_the_longest_name_it_starts_with() -> None:
    lite, flash = PRICES["gemini-2.5-flash-lite"], PRICES["gemini-2.5-flash"]
    assert lite.input != flash.input  # else this test could not fail
    assert cost("gemini-2.5-flash-lite-001", MILLION) == lite.input
    assert cost("models/gemini-2.5-flash-lite-preview", MILLION) == lite.input
    assert cost("gemini-2.5-flash-001", MILLION) == flash.input
    assert cost("gemini-9", MILLION) is None


def test_the_longest_name_wins_whatever_order_the_table_is_in() -> None:
    table = {"m-long": Price(5, 0, 0), "m": Price(1, 0, 0)}
    assert cost("m-long-2", MILLION, table) == 5
    assert cost("m-2", MILLION, table) == 1
    assert cost("m-long-2", MILLION, dict(reversed(table.items()))) == 5


def test_a_project_adds_and_overrides_models(tmp_path: Path) -> None:
    (tmp_path / "pricing.json").write_text(
        '{\n  "mine": {"input": 1, "output": 4},\n'
        '  "gemini-2.5-pro": {"input": 2, "output": 3, "cached": 0.5, "input_long": 7}\n}\n'
    )
    table = prices(tmp_path)
    assert table["mine"] == Price(1, 4, 1)  # cached defaults to the input price
    assert table["gemini-2.5-pro"] == Price(2, 3, 0.5, 7, None, None)
    assert table["gemini-2.5-flash"] == PRICES["gemini-2.5-flash"]
    (tmp_path / "pricing.json").unlink()
    assert prices(tmp_path) == PRICES


BAD = [
    ('{"m": {"input": "free", "output": 1}}', 1, 17, '$.m.input: expected a number, got "free"'),
    ('{"m": {"input": true, "output": 1}}', 1, 17, "$.m.input: expected a number, got true"),
    ('{"m": {"input": -1, "output": 1}}', 1, 17, "$.m.input: must be at least 0"),
    ('{"m": {"input": 1e999, "output": 1}}', 1, 17, "$.m.input: must be a finite number"),
    ('{"m": {"input": 1,\n "output": NaN}}', 2, 12, "NaN is not a JSON number"),
    ('{"m": {"input": 1}}', 1, 7, '$.m: missing the key "output"'),
    ('{"m": {"input": 1, "outptu": 2}}', 1, 20, 'did you mean "output"?'),
    ('{"m": {"input": 1, "output": 2, "tier": 3}}', 1, 33, 'unknown key "tier"'),
    ('{"": {"input": 1, "output": 2}}', 1, 6, '$[""]: a model name must not be empty'),
    ('{"m": 3}', 1, 7, "$.m: expected an object, got 3"),
    ("[]", 1, 1, "pricing.json maps model names to"),
    ('{"m": {"input": 1, "output": 2},}', 1, 33, "not valid JSON"),
    ('{"a.b": {"input": 1, "output": []}}', 1, 32, '$["a.b"].output: expected a number'),
]


@pytest.mark.parametrize(("text", "line", "column", "words"), BAD)
def test_a_broken_pricing_file_is_refused_where_it_is_broken(
    tmp_path: Path, text: str, line: int, column: int, words: str
) -> None:
    problem = check_text("pricing.json", text)
    assert problem is not None
    assert (problem.line, problem.column, words in problem.message) == (line, column, True), problem
    (tmp_path / "pricing.json").write_text(text)
    with pytest.raises(BadPricing) as caught:
        prices(tmp_path)
    assert str(caught.value) == f"pricing.json:{line}:{column}: {problem.message}"


def test_pricing_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pricing.json").write_bytes(b'{"m\xff": {"input": 1, "output": 1}}')
    with pytest.raises(BadPricing, match="not UTF-8"):
        prices(tmp_path)


def test_only_the_project_root_pricing_file_is_a_price_table() -> None:
    assert check_text("pricing.json", '{"m": {"input": 1, "output": 2}}') is None
    assert check_text("scripts/pricing.json", '{"m": "anything"}') is None
