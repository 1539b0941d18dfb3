"""The TTS scenario (scripts/Scenario_TTS.json): the demo's file is one, and a broken one is
reported at the line and column of what is wrong, wherever `check_text` is asked."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from engine.demo import SCENARIO
from engine.filechecks import check_text
from engine.jsoncheck import locate
from engine.scenario import SCENARIO_PATH, is_scenario_path


def text_of(doc: Any) -> str:
    return json.dumps(doc, indent=2) + "\n"


def test_the_demo_scenario_passes() -> None:
    assert check_text(SCENARIO_PATH, text_of(SCENARIO)) is None


def test_other_keys_and_an_explicit_start_are_allowed() -> None:
    doc: Any = copy.deepcopy(SCENARIO)
    doc["lines"][1]["start"] = 2.5
    doc["lines"][0]["style"] = "warm"  # a TTS setting this schema does not know yet
    doc["speakers"][0]["pace"] = 1.1
    doc["music"] = "none"
    assert check_text(SCENARIO_PATH, text_of(doc)) is None
    assert check_text(SCENARIO_PATH, '{"speakers": [], "lines": []}') is None


def _set(path: tuple[str | int, ...], value: Any) -> Any:
    doc: Any = copy.deepcopy(SCENARIO)
    node = doc
    for part in path[:-1]:
        node = node[part]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "at", "words"),
    [
        (("lines", 1, "speaker"), "host", ("lines", 1, "speaker"), 'no speaker has the id "host"'),
        (("lines", 0, "text"), "", ("lines", 0, "text"), "$.lines[0].text: must not be empty"),
        (("lines", 0, "text"), "   ", ("lines", 0, "text"), "must not be only spaces"),
        (("lines", 2, "text"), _DELETE, ("lines", 2), '$.lines[2]: missing the key "text"'),
        (("lines", 1, "start"), -1, ("lines", 1, "start"), "must be a number from 0 to 86400"),
        (("lines", 2, "id"), "l_1", ("lines", 2, "id"), 'line id "l_1" is already used by'),
        (("lines", 1, "start"), "soon", ("lines", 1, "start"), "expected a number"),
        (("speakers", 1, "voice"), _DELETE, ("speakers", 1), 'missing the key "voice"'),
        (("speakers", 1, "id"), "narrator", ("speakers", 1, "id"), "already used by"),
        (("speakers",), {}, ("speakers",), "$.speakers: expected an array"),
        (("lines",), _DELETE, (), 'missing the key "lines"'),
        (("schema_version",), 2, ("schema_version",), "must be 1"),
    ],
)
def test_a_broken_scenario_is_reported_where_it_is_broken(
    path: tuple[str | int, ...], value: Any, at: tuple[str | int, ...], words: str
) -> None:
    text = text_of(_set(path, value))
    problem = check_text(SCENARIO_PATH, text)
    assert problem is not None
    assert words in problem.message, problem
    assert (problem.line, problem.column) == locate(text, at), problem


def test_only_the_scenario_path_is_checked_as_one() -> None:
    assert is_scenario_path("scripts/Scenario_TTS.json")
    assert is_scenario_path("./scripts//Scenario_TTS.json")
    assert not is_scenario_path("scripts/other/Scenario_TTS.json")
    assert check_text("scripts/dialogue.json", '{"lines": 3}') is None
