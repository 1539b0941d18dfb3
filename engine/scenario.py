"""The dialogue scenario a TTS pass speaks: ``scripts/Scenario_TTS.json``, and how a broken one is
reported.

The file names the voices and then the lines, in order (the demo writes this one)::

    {
      "schema_version": 1,
      "title": "Demo dialogue",
      "speakers": [
        {"id": "narrator", "name": "Narrator", "voice": "Kore"},
        {"id": "guest", "name": "Guest", "voice": "Puck"}
      ],
      "lines": [
        {"id": "l_1", "speaker": "narrator", "text": "Welcome to reelcut."},
        {"id": "l_2", "speaker": "guest", "text": "So the timeline is just a file?", "start": 2.5}
      ]
    }

`SCENARIO_SCHEMA` requires ``speakers`` (each with an ``id`` and a ``voice``) and ``lines`` (each
with a ``speaker`` and non-empty ``text``; ``start``, in seconds, is optional). Other keys are
allowed at every level, so the TTS pass can grow settings without breaking files written
before. The ones it reads (`engine.tts.takes`): ``tts`` at the top (``provider`` local or
gemini, ``model``, ``budget_usd``: a paid run estimated above it must be confirmed), a
speaker's ``style`` and ``local`` voice for espeak-ng (``voice`` such as ``en+f3``, ``pitch``
0-99, ``rate`` in words a minute), and a line's ``style`` (how it is said, for Gemini).
Beyond the schema, `check_scenario` refuses a speaker id or a line id given twice and a line
whose speaker is not among the speakers, at the line and column of the offending value.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from engine.jsoncheck import Problem, json_path, problem_at, schema_problem

if TYPE_CHECKING:
    import jsonschema

SCENARIO_PATH = "scripts/Scenario_TTS.json"
SCHEMA_VERSION = 1

_NAME = {"type": "string", "minLength": 1, "pattern": r"\S"}

SCENARIO_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": f"reelcut TTS scenario ({SCENARIO_PATH})",
    "type": "object",
    "required": ["speakers", "lines"],
    "properties": {
        "schema_version": {
            "const": SCHEMA_VERSION,
            "description": f"the file format's version, {SCHEMA_VERSION}",
        },
        "title": {"type": "string", "description": "what the dialogue is"},
        "speakers": {
            "type": "array",
            "description": "the voices of the dialogue",
            "items": {
                "type": "object",
                "required": ["id", "voice"],
                "properties": {
                    "id": {**_NAME, "description": "what the lines call the speaker"},
                    "name": {"type": "string", "description": "the name shown to people"},
                    "voice": {**_NAME, "description": "the TTS voice, e.g. Kore"},
                    "style": {"type": "string", "description": "how this speaker talks"},
                    "local": {
                        "type": "object",
                        "description": "the espeak-ng voice for the local provider",
                        "properties": {
                            "voice": {
                                "type": "string",
                                "pattern": r"^[a-z]{2,3}(-[a-z0-9]{1,8})?(\+[a-z0-9]{1,8})?$",
                                "description": "an espeak-ng voice and variant, e.g. en+f3",
                            },
                            "pitch": {"type": "integer", "minimum": 0, "maximum": 99},
                            "rate": {
                                "type": "integer",
                                "minimum": 80,
                                "maximum": 450,
                                "description": "words per minute",
                            },
                        },
                    },
                },
            },
        },
        "lines": {
            "type": "array",
            "description": "what is said, in order",
            "items": {
                "type": "object",
                "required": ["speaker", "text"],
                "properties": {
                    "id": {"type": "string", "description": "names the line"},
                    "speaker": {**_NAME, "description": "the id of one of the speakers"},
                    "text": {**_NAME, "maxLength": 5000, "description": "the words spoken"},
                    "style": {"type": "string", "description": "how the line is said"},
                    "start": {
                        "type": "number",
                        "minimum": 0,
                        "maximum": 86400,
                        "description": "seconds from the scene's start; else after the last line",
                    },
                },
            },
        },
        "tts": {
            "type": "object",
            "description": "how the scenario is spoken",
            "properties": {
                "provider": {"enum": ["local", "gemini"], "description": "default: local"},
                "model": {"type": "string", "minLength": 1, "description": "the Gemini model"},
                "budget_usd": {
                    "type": "number",
                    "minimum": 0,
                    "description": "a paid run estimated above this asks for confirmation",
                },
            },
        },
    },
}


def is_scenario_path(rel: str) -> bool:
    """Whether ``rel`` names the scenario file."""
    return "/".join(p for p in rel.split("/") if p not in ("", ".")) == SCENARIO_PATH


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    # Imported on first use: jsonschema costs ~40 ms, and the editor imports this module at start.
    import jsonschema

    return jsonschema.Draft202012Validator(SCENARIO_SCHEMA)


def check_scenario(text: str, doc: Any) -> Problem | None:
    """The first way ``doc`` (parsed from ``text`` by `engine.jsoncheck.parse_json`) is not a
    scenario, with its line and column in ``text``; None if it is one."""
    problem = schema_problem(_validator(), doc, text)
    if problem is not None:
        return problem
    ids: dict[str, int] = {}
    for i, speaker in enumerate(doc["speakers"]):
        if speaker["id"] in ids:
            return problem_at(
                text,
                ("speakers", i, "id"),
                f"the speaker id {json.dumps(speaker['id'])} is already used by "
                f"{json_path(('speakers', ids[speaker['id']]))}; give each speaker its own",
            )
        ids[speaker["id"]] = i
    line_ids: dict[str, int] = {}
    for i, line in enumerate(doc["lines"]):
        line_id = line.get("id")
        if isinstance(line_id, str) and line_id in line_ids:
            return problem_at(
                text,
                ("lines", i, "id"),
                f"the line id {json.dumps(line_id)} is already used by "
                f"{json_path(('lines', line_ids[line_id]))}; give each line its own",
            )
        if isinstance(line_id, str):
            line_ids[line_id] = i
        if line["speaker"] not in ids:
            known = ", ".join(json.dumps(k) for k in ids) or "none yet"
            return problem_at(
                text,
                ("lines", i, "speaker"),
                f"no speaker has the id {json.dumps(line['speaker'])} (the speakers are "
                f"{known}); add it to $.speakers or use one of those",
            )
    return None
