"""Scenario versions: the text each TTS pass read, kept by its sha256.

A pass snapshots the scenario it read as ``.reelcut/tts/scenarios/<sha256>.json`` (written
once, atomically; the same text is never written twice), and each of its jobs records that
sha256 (`engine.tts.jobs`). `list_versions` lists them with the takes each one made, newest
first; `read_version` gives one back, for a restore.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import ReelcutError
from engine.fsio.durable import atomic_write

if TYPE_CHECKING:
    from engine.jobs.store import Job
    from engine.tts.takes import Scenario

_NAME = re.compile(r"^[0-9a-f]{64}\.json$")


def folder(root: Path) -> Path:
    return root / ".reelcut" / "tts" / "scenarios"


def snapshot(root: Path, sc: Scenario) -> None:
    path = folder(root) / f"{sc.sha256}.json"
    if path.is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, sc.text.encode("utf-8"))


def list_versions(root: Path, jobs: list[Job]) -> list[dict[str, Any]]:
    """Every snapshot with when it was first used and its takes, newest first."""
    d = folder(root)
    if not d.is_dir():
        return []
    out: list[dict[str, Any]] = []
    for path in d.iterdir():
        if not _NAME.match(path.name):
            continue
        sha = path.name[:64]
        mine = [j for j in jobs if j.payload.get("scenario") == sha]
        out.append(
            {
                "version": sha,
                "short": sha[:12],
                "saved_at": path.stat().st_mtime,
                "takes": sum(1 for j in mine if j.status == "succeeded"),
                "jobs": len(mine),
                "lines": sorted({str(j.payload.get("line")) for j in mine}),
            }
        )
    out.sort(key=lambda v: float(v["saved_at"]), reverse=True)
    return out


def read_version(root: Path, prefix: str) -> tuple[str, str]:
    """``(sha256, text)`` of the snapshot whose sha256 starts with ``prefix``."""
    if not re.fullmatch(r"[0-9a-f]{4,64}", prefix):
        raise ReelcutError(f"{prefix!r} is not a scenario version; `reelcut tts DIR versions`")
    d = folder(root)
    found = (
        sorted(p for p in d.glob(f"{prefix}*.json") if _NAME.match(p.name)) if d.is_dir() else []
    )
    if not found:
        raise ReelcutError(f"no scenario version {prefix}; `reelcut tts DIR versions` lists them")
    if len(found) > 1:
        raise ReelcutError(f"{prefix} names {len(found)} versions; give more of the hash")
    data = found[0].read_bytes()
    sha = found[0].name[:64]
    if hashlib.sha256(data).hexdigest() != sha:
        raise ReelcutError(f"scenario version {sha[:12]} is damaged (its hash does not match)")
    return sha, data.decode("utf-8")
