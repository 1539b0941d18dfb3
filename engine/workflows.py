"""Workflow prompt files: what the agent is told before a run, and how a broken one is reported.

A workflow is a JSON file in ``scripts/workflows/`` that a person edits in the script panes::

    {
      "schema_version": 1,
      "name": "Editor",
      "description": "Rewrites scripts and re-cuts the timeline.",
      "system_instruction": "You are the editing assistant inside reelcut ...",
      "model": "gemini-2.5-flash",
      "thinking_level": "low",
      "temperature": 0.7
    }

`WORKFLOW_SCHEMA` (JSON Schema draft 2020-12) is the format: ``schema_version``, ``name`` and
``system_instruction`` are required, the rest optional, and no other key is allowed, so a
misspelt key is an error rather than a setting silently ignored. `load_workflow` reads one file
(through the sandbox) before every run and raises `InvalidWorkflow` with one line that names the
file, the line and column, the JSON path and what to write instead (wrapped here)::

    scripts/workflows/editor.json:5:3: $.sytem_instruction: unknown key "sytem_instruction";
        did you mean "system_instruction"?
    scripts/workflows/editor.json:6:21: $.thinking_level: must be one of "minimal", "low",
        "medium", "high", got "max"
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from engine import sandbox, scripts
from engine.errors import ReelcutError
from engine.jsoncheck import Problem, parse_json, schema_problem

if TYPE_CHECKING:
    import jsonschema

WORKFLOWS_DIR = "scripts/workflows"
SCHEMA_VERSION = 1

ThinkingLevel = Literal["minimal", "low", "medium", "high"]

EDITOR_WORKFLOW: dict[str, Any] = {
    "schema_version": SCHEMA_VERSION,
    "name": "Editor",
    "description": "Rewrites scripts and re-cuts the timeline through reelcut's tools.",
    "system_instruction": (
        "You are the editing assistant inside reelcut, a video editor. The project is a set of "
        "files: project.json holds the timeline, scripts/ holds markdown and JSON. Read before you "
        "edit, change only what was asked, address clips by their ids, and explain each change "
        "in one sentence."
    ),
}
"""The workflow every new project starts with (``scripts/workflows/editor.json``): without one
the agent refuses to run."""

WORKFLOW_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "reelcut workflow prompt file (scripts/workflows/*.json)",
    "type": "object",
    "required": ["schema_version", "name", "system_instruction"],
    "additionalProperties": False,
    "properties": {
        "schema_version": {
            "const": SCHEMA_VERSION,
            "description": f"the file format's version, {SCHEMA_VERSION}",
        },
        "name": {
            "type": "string",
            "minLength": 1,
            "pattern": r"\S",
            "description": "the name shown when choosing a workflow",
        },
        "description": {"type": "string", "description": "one line on what the workflow does"},
        "system_instruction": {
            "type": "string",
            "minLength": 1,
            "pattern": r"\S",
            "description": "the instructions the model follows on every run",
        },
        "model": {"type": "string", "description": "the model to run, e.g. gemini-2.5-flash"},
        "thinking_level": {
            "enum": ["minimal", "low", "medium", "high"],
            "description": "how long the model thinks before it answers",
        },
        "temperature": {
            "type": "number",
            "minimum": 0,
            "maximum": 2,
            "description": "sampling temperature, from 0 to 2",
        },
    },
}


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    # Imported on first use: jsonschema costs ~40 ms, and the editor imports this module at start
    # (through engine.filechecks) but reads a workflow only when an agent runs or a pane saves.
    import jsonschema

    return jsonschema.Draft202012Validator(WORKFLOW_SCHEMA)


class InvalidWorkflow(ReelcutError):
    """A workflow file that cannot be used: the one line says which file, where and what to fix."""


@dataclass(frozen=True)
class Workflow:
    """One validated workflow file, with the path and sha256 of the bytes it was read from."""

    path: str
    sha256: str
    name: str
    system_instruction: str
    schema_version: int = SCHEMA_VERSION
    description: str | None = None
    model: str | None = None
    thinking_level: ThinkingLevel | None = None
    temperature: float | None = None


def is_workflow_path(rel: str) -> bool:
    """Whether ``rel`` names a workflow file: ``scripts/workflows/<name>.json``."""
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    return (
        len(parts) == 3
        and "/".join(parts[:2]) == WORKFLOWS_DIR
        and PurePosixPath(parts[2]).suffix.lower() == ".json"
    )


def list_workflows(root: Path) -> list[str]:
    """The workflow files of the project, sorted; none if ``scripts/workflows/`` is missing."""
    try:
        found = sandbox.list_files(root, WORKFLOWS_DIR)
    except sandbox.PathNotFound:
        return []
    return [rel for rel in found if is_workflow_path(rel)]


def load_workflow(root: Path, rel: str) -> Workflow:
    """Read and validate the workflow file ``rel``.

    `InvalidWorkflow` if it is not UTF-8 JSON text matching `WORKFLOW_SCHEMA`;
    `sandbox.PathRefused` (or its `sandbox.PathNotFound`) if the path cannot be read.
    """
    path = sandbox.normalize(root, rel)
    data = sandbox.read_bytes(root, path)
    if len(data) > scripts.MAX_TEXT_BYTES:
        raise InvalidWorkflow(
            f"{path} is {len(data) >> 20} MB; a workflow file is at most "
            f"{scripts.MAX_TEXT_BYTES >> 20} MB of JSON text"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        start = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[start : exc.start].decode("utf-8", "replace")) + 1
        raise InvalidWorkflow(
            f"{path}:{line}:{column}: not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        ) from None
    doc, problem = parse_json(text)
    if problem is None:
        problem = check_workflow(text, doc)
    if problem is not None:
        raise InvalidWorkflow(f"{path}:{problem.line}:{problem.column}: {problem.message}")
    temperature = doc.get("temperature")
    return Workflow(
        path=path,
        sha256=scripts.sha256(data),
        name=doc["name"],
        system_instruction=doc["system_instruction"],
        schema_version=int(doc["schema_version"]),
        description=doc.get("description"),
        model=doc.get("model"),
        thinking_level=doc.get("thinking_level"),
        temperature=None if temperature is None else float(temperature),
    )


def check_workflow(text: str, doc: Any) -> Problem | None:
    """The first way ``doc`` (parsed from ``text`` by `engine.jsoncheck.parse_json`) breaks the
    workflow schema, with its line and column in ``text``; None if it is a valid workflow."""
    return schema_problem(_validator(), doc, text)


def write_editor_workflow(root: Path) -> str:
    """Write `EDITOR_WORKFLOW` as ``scripts/workflows/editor.json`` under ``root`` (atomically);
    its project-relative path."""
    import json

    from engine.fsio.durable import atomic_write

    folder = root / WORKFLOWS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "editor.json", (json.dumps(EDITOR_WORKFLOW, indent=2) + "\n").encode())
    return f"{WORKFLOWS_DIR}/editor.json"
