"""The door's interchange requests: ``export.interchange`` and ``timeline.import``.

An import is one undoable edit (`engine.ops.interchange.ImportTimeline`). On a timeline with
clips it adds the file's tracks beside the ones there (video on top, audio below) unless
``replace`` is asked for, so nobody's cut is lost without saying so; on a timeline without
clips (a new project's empty V1 and A1) the file's tracks take their place. A file that
cannot be read, or holds nothing that relinks, changes nothing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import ReelcutError, UsageError
from engine.interchange import adapter_for, from_otio, to_otio

if TYPE_CHECKING:
    from engine.workspace import Workspace


async def export_interchange(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Write the timeline (or ``range``) to ``out`` (.otio, .edl, .xml, .fcpxml)."""
    from engine.export import render
    from engine.projectdir import ProjectDir
    from engine.session import read_view

    if ws.has_session:
        project = ws.project
        marks = (project.editor.mark_in, project.editor.mark_out)
    else:
        project = await asyncio.to_thread(ProjectDir(ws.root).load)
        view = read_view(ws.root)
        marks = (view.mark_in, view.mark_out) if view is not None else (None, None)
    out = Path(str(params["out"])).absolute()
    adapter_for(out)
    if not out.parent.is_dir():
        raise UsageError(f"{out.parent} is not a folder; export into one that exists")
    if out.is_dir():
        raise UsageError(f"{out} is a folder; name the file to write")
    inside = render._inside(ws.root, out)
    if inside is not None and inside.parts[:1] and inside.parts[0] in render.RESERVED:
        raise UsageError(f"{inside} is reelcut's own; export outside {inside.parts[0]}/")
    first, last = render._span(project, params.get("range"), marks)
    written = await asyncio.to_thread(
        to_otio.write, ws.root, project, out, first, last, force=bool(params.get("force"))
    )
    return written.to_json() | {"first": first, "last": last}


async def import_timeline(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Build tracks from the timeline file ``file`` (absolute) as one undoable edit."""
    from engine.ops.interchange import ImportTimeline

    path = Path(str(params["file"]))
    session = ws.session
    project = session.project
    timeline = await asyncio.to_thread(from_otio.read, path, project)
    found = await asyncio.to_thread(from_otio.plan, ws.root, project, timeline, path.name)
    if not found.clips and not found.markers:
        if not found.not_relinked:
            raise ReelcutError(f"{path.name}: nothing to import: it holds no clips or markers")
        raise ReelcutError(
            f"{path.name}: nothing to import: no clip relinks to the project's media; "
            f"{found.not_relinked[0]}"
        )
    has_clips = any(t.clips for t in project.tracks)
    replace = bool(params.get("replace")) or not has_clips
    op = ImportTimeline(
        tracks=tuple(found.tracks),
        markers=tuple(found.markers),
        replace=replace,
        source=path.name,
    )
    there = set() if replace else {(m.frame, m.name) for m in project.markers}  # not added again
    author = str(params.get("author") or "cli")
    change = await ws.change(lambda: session.apply(op, author=author))
    return {
        "file": str(path),
        "replaced": replace,
        "tracks": len(found.tracks),
        "clips": found.clips,
        "markers": sum((m.frame, m.name) not in there for m in found.markers),
        "relinked": found.relinked,
        "not_relinked": found.not_relinked,
        "warnings": found.warnings,
        "change": None if change is None else change.to_json(),
    }
