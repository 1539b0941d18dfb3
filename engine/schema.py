"""Schema versions of stored JSON documents and the registered steps that upgrade them.

A step upgrades a document (plain JSON data) from version N to N+1. Loading runs every step from
the file's version to ``CURRENT`` in order; the upgraded document is written back only when the
project is next saved, never as a side effect of reading it.

Version 1 is the first schema, so no project steps exist yet; the first change to project.json's
shape adds ``_v1_to_v2`` here together with a golden file of a version-1 project in the tests.
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
