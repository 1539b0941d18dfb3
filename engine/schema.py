"""Schema versions of stored JSON documents and the registered steps that upgrade them.

A step upgrades a document (plain JSON data) from version N to N+1. Loading runs every step from
the file's version to ``CURRENT`` in order; the upgraded document is written back only when the
project is next saved, never as a side effect of reading it.

Project versions: 1 is the first schema; 2 added ``Clip.audio`` (gain and fades). The golden
files of both live in tests/engine/golden.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.errors import ProjectInvalid
from engine.model import SCHEMA_VERSION

Document = dict[str, Any]
Step = Callable[[Document], Document]


class Upgrades:
    """A registry of upgrade steps for one kind of document."""

    def __init__(self, kind: str, current: int) -> None:
        self.kind = kind
        self.current = current
        self._steps: dict[int, Step] = {}

    def step(self, from_version: int) -> Callable[[Step], Step]:
        """Register the decorated function as the upgrade from ``from_version`` to the next."""

        def register(fn: Step) -> Step:
            if from_version in self._steps:
                raise ValueError(f"{self.kind}: an upgrade from v{from_version} already exists")
            self._steps[from_version] = fn
            return fn

        return register

    def upgrade(self, doc: Document, *, label: str) -> Document:
        """Upgrade ``doc`` to the current version; ``label`` names the file in errors."""
        version = doc.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ProjectInvalid(
                f"{label}: $.schema_version: expected a positive integer, got {version!r}"
            )
        if version > self.current:
            raise ProjectInvalid(
                f"{label}: schema version {version} is newer than this reelcut understands "
                f"({self.current}); upgrade reelcut"
            )
        while version < self.current:
            step = self._steps.get(version)
            if step is None:
                raise ProjectInvalid(
                    f"{label}: no upgrade from schema version {version}; upgrade reelcut"
                )
            doc = step(dict(doc))
            doc["schema_version"] = version + 1
            version += 1
        return doc


PROJECT = Upgrades("project", current=SCHEMA_VERSION)
"""Upgrade steps for project.json."""


@PROJECT.step(1)
def _project_v1_to_v2(doc: Document) -> Document:
    """v2 added ``audio`` (gain and fades) to clips; a v1 clip has none, which reads as unity
    gain without fades, so nothing in the document changes but its version. The version still
    moves so that an older reelcut refuses a v2 file by its version ("newer than this reelcut
    understands") instead of by an unknown field."""
    return doc
