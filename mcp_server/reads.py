"""What the MCP server reads without the door: files, the changeset ledger, the event stream.

Reads take no lock (saves are atomic renames, so a reader sees whole files) and write nothing;
they work whether or not the editor has the project open. `changes` turns the project's event
stream into the resource URIs that changed.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from engine.changes.ledger import Ledger
from engine.errors import ReelcutError
from engine.events import EventStream
from engine.projectdir import ProjectDir
from engine.projectfile import PROJECT_FILE
from engine.scripts import read_text, script_files
from engine.state.adb import AsyncDB
from engine.workflows import Workflow, list_workflows, load_workflow

SCHEME = "reelcut://project/"
MAX_DIFF_CHARS = 64 * 1024  # what one changes_show returns of a changeset's diff


def project_text(root: Path) -> str:
    try:
        return (root / PROJECT_FILE).read_text(encoding="utf-8")
    except OSError as exc:
        raise ReelcutError(f"cannot read {PROJECT_FILE}: {exc.strerror}") from None


def timeline(root: Path) -> dict[str, Any]:
    """The timeline summary the ``timeline_read`` tool gives, with the editor's playhead."""
    from engine.session import fit_view, read_view
    from engine.tools.timeline_tools import summary

    project = ProjectDir(root).load()
    view = read_view(root)
    return summary(fit_view(project, view) if view is not None else project)


def scripts(root: Path) -> list[str]:
    """The text files a person edits (scripts, workflows...); project.json is its own."""
    return [rel for rel in script_files(root) if rel != PROJECT_FILE]


def script(root: Path, rel: str) -> str:
    text, _ = read_text(root, rel)
    return text


def workflows(root: Path) -> list[Workflow]:
    found = []
    for rel in list_workflows(root):
        with contextlib.suppress(ReelcutError):  # a broken one is not offered
            found.append(load_workflow(root, rel))
    return found


@contextlib.asynccontextmanager
async def ledger(root: Path) -> AsyncIterator[Ledger]:
    """The project's changesets, for reading (no reconciliation, which would write)."""
    led = await Ledger.open(root, reconcile=False)
    try:
        yield led
    finally:
        await led.close()


async def changesets(root: Path, limit: int = 200) -> list[dict[str, Any]]:
    async with ledger(root) as led:
        out = []
        for cs in await led.store.recent(limit):
            files = await led.store.files(cs.id)
            out.append({**_changeset_json(cs), "files": [f.path for f in files]})
        return out


async def changeset(root: Path, cs_id: int) -> dict[str, Any]:
    """One changeset: its files (what changes how), its diff (bounded) and its tool calls."""
    async with ledger(root) as led:
        cs = await led.store.get(cs_id)
        if cs is None:
            raise ReelcutError(f"no changeset {cs_id}; changes_list shows them")
        files = await led.store.files(cs_id)
        calls = await led.store.tool_events(cs_id)
    diff = "".join(f.diff for f in files)
    return {
        **_changeset_json(cs),
        "files": [
            {
                "path": f.path,
                "change": "new"
                if f.base_hash is None
                else "deleted"
                if f.after_hash is None
                else "changed",
                "before_bytes": f.before_bytes,
                "after_bytes": f.after_bytes,
            }
            for f in files
        ],
        "diff": diff[:MAX_DIFF_CHARS],
        "diff_truncated": len(diff) > MAX_DIFF_CHARS,
        "tool_calls": [{"tool": e["tool"], "ok": e["ok"], "error": e.get("error")} for e in calls],
    }


async def replay(root: Path, cs_id: int) -> dict[str, Any]:
    from engine.changes.replay import read_replay

    async with ledger(root) as led:
        return (await read_replay(led, cs_id)).to_json()


async def open_for_more(root: Path, cs_id: int) -> bool:
    """Whether more proposals may join changeset ``cs_id`` (it waits for review)."""
    async with ledger(root) as led:
        cs = await led.store.get(cs_id)
    return cs is not None and cs.status in ("pending", "ready")


def for_client(out: dict[str, Any]) -> dict[str, Any]:
    """A registry tool's outcome as a client gets it: the result, the changeset and whether it
    was applied; not the audit (whole before and after texts: `changes_show` has the diff)."""
    keep = ("ok", "changeset", "applied", "result", "error")
    return {k: out[k] for k in keep if k in out}


def _changeset_json(cs: Any) -> dict[str, Any]:
    return {
        "id": cs.id,
        "status": cs.status,
        "author": cs.author,
        "reason": cs.reason,
        "error": cs.error,
        "created_at": cs.created_at,
    }


async def changes(root: Path) -> AsyncIterator[tuple[list[str], bool]]:
    """(the resource URIs that changed, whether the list of resources did) for each change
    on the project's event stream, from now on."""
    db = await AsyncDB.open(root / ".reelcut")
    events = EventStream(db)
    await events.start()
    try:
        async for event in events.subscribe(topics=["project", "changeset"]):
            if event.topic == "changeset":
                yield [SCHEME + "changesets"], False
            elif event.kind == "file":
                path = str(event.data.get("path", ""))
                listed = event.data.get("sha256") is None or event.data.get("from") == "changeset"
                if path == PROJECT_FILE:
                    yield [SCHEME + PROJECT_FILE, SCHEME + "timeline"], False
                else:
                    yield [SCHEME + "files/" + path], listed
            elif event.kind != "editor":  # a view change is not the timeline's
                yield [SCHEME + PROJECT_FILE, SCHEME + "timeline"], False
    finally:
        await events.close()
        await db.close()
