"""What a changeset may not leave behind: a file reelcut itself reads, in a shape it cannot read.

An agent edits ``project.json`` and the JSON files beside it line by line, so nothing stops a
proposal from holding a missing comma or a clip with a negative duration; applied, it would lock
the user out of the editor. `problem` says what is wrong with one file's proposed text (the ledger
asks it for every file an apply would write, before writing any):

- ``project.json`` must decode as a project (`engine.projectfile.decode_project`, untrusted);
- every ``.json`` must be strict JSON, and ``scripts/workflows/*.json``,
  ``remotion/*/manifest.json``, ``pricing.json`` and ``scripts/Scenario_TTS.json`` must match
  their formats (`engine.filechecks.check_text`).

Deleting ``project.json`` is refused too. Other files are not read by reelcut, so anything goes
there.
"""

from __future__ import annotations

import json
import re

from engine.errors import ProjectInvalid
from engine.filechecks import check_text
from engine.jsoncheck import locate
from engine.projectfile import PROJECT_FILE, decode_project


def problem(rel: str, text: str | None) -> str | None:
    """``line:column: what is wrong`` with ``text`` as the project file ``rel`` (None: the file
    deleted, a problem only for project.json), or None when reelcut can read it (or does not
    read ``rel`` at all)."""
    # A case-folding file system opens project.json by either spelling.
    timeline = rel.casefold() == PROJECT_FILE
    if text is None:
        # Without it the folder is no longer a project: not even `reelcut changes` would run.
        return (
            "it would be deleted, and the folder would no longer be a project" if timeline else None
        )
    found = check_text(rel, text)
    if found is not None:
        return str(found)
    return _project_problem(text) if timeline else None


# A JSON path as engine.projectfile and engine.validate write it: $.key, [index] and ["odd key"].
_PATH = re.compile(r'\$(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])*')
_STEP = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def _project_problem(text: str) -> str | None:
    try:
        decode_project(text.encode("utf-8"), trusted=False)
    except ProjectInvalid as exc:
        message = str(exc).removeprefix(f"{PROJECT_FILE}: ")
        path = _PATH.search(message)
        steps: list[str | int] = []
        if path is not None:
            for key, index, quoted in _STEP.findall(path.group()[1:]):
                steps.append(int(index) if index else key or json.loads(quoted))
        # The value itself, else the nearest object that holds it (a missing field).
        while (where := locate(text, steps)) is None and steps:
            steps.pop()
        line, column = where or (1, 1)
        return f"{line}:{column}: {message}"
    return None
