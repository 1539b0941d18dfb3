"""Which project files reelcut reads, and the first problem in one's text.

`check_text` is what the script panes ask before a save and what a changeset's apply asks of
every file it would write (`engine.changes.checks`). Every ``.json`` file must be strict JSON
(`engine.jsoncheck.parse_json`); the files reelcut reads must also match their formats, which
belong to the modules that read them:

==============================  ===================================
``scripts/workflows/*.json``    `engine.workflows.check_workflow`
``remotion/*/manifest.json``    `MANIFEST_SCHEMA`, here
``pricing.json``                `engine.agent.pricing.check_pricing`
``scripts/Scenario_TTS.json``   `engine.scenario.check_scenario`
``transcripts/*.json``          `engine.transcripts.document.check_transcript`
==============================  ===================================

This module sits above those owners (it imports them; none of them imports it), so adding a
format is one row here and no owner needs to know about the others.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from engine import scenario, workflows
from engine.agent import pricing
from engine.jsoncheck import Problem, parse_json, schema_problem
from engine.transcripts import document as transcript_doc

if TYPE_CHECKING:
    import jsonschema

MANIFEST_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Remotion clip manifest (remotion/<asset-id>/manifest.json)",
    "type": "object",
    "required": ["source"],
    "properties": {
        "source": {"type": "string", "description": "the clip's TSX source"},
        "props": {"type": "object", "description": "the props the clip's component receives"},
    },
}


@functools.cache
def _manifest_validator() -> jsonschema.Draft202012Validator:
    # Imported on first use: jsonschema costs ~40 ms, and the editor imports this module at start.
    import jsonschema

    return jsonschema.Draft202012Validator(MANIFEST_SCHEMA)


def is_manifest_path(rel: str) -> bool:
    """Whether ``rel`` names a Remotion clip's manifest: ``remotion/<asset-id>/manifest.json``."""
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    return len(parts) == 3 and parts[0] == "remotion" and parts[2] == "manifest.json"


def check_manifest(text: str, doc: Any) -> Problem | None:
    """The first way ``doc`` (parsed from ``text``) breaks `MANIFEST_SCHEMA`, or None."""
    return schema_problem(_manifest_validator(), doc, text)


def check_text(rel: str, text: str) -> Problem | None:
    """The first problem in ``text``, the contents of the project file ``rel``, or None.

    Every ``.json`` file must parse, without NaN or Infinity and without a key repeated in one
    object; the files in the table above must also match their formats. Other files have no
    checks.
    """
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts or not parts[-1].lower().endswith(".json"):
        return None
    doc, problem = parse_json(text)
    if problem is not None:
        return problem
    if is_manifest_path(rel):
        return check_manifest(text, doc)
    if workflows.is_workflow_path(rel):
        return workflows.check_workflow(text, doc)
    if parts == [pricing.PRICING_FILE]:
        return pricing.check_pricing(text, doc)
    if scenario.is_scenario_path(rel):
        return scenario.check_scenario(text, doc)
    if transcript_doc.is_transcript_path(rel):
        return transcript_doc.check_transcript(text, doc)
    return None
