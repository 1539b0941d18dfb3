"""``reelcut info``: a project's tracks, clips and assets, as JSON data or a text table."""

from __future__ import annotations

from typing import Any

from engine.model import Project
from engine.timebase import format_timecode


def describe(project: Project) -> dict[str, Any]:
    """Frame-exact description of the timeline (with derived timecodes for humans)."""
    rate = project.rate

    def tc(frame: int) -> str:
        return format_timecode(frame, rate)

    return {
        "name": project.name,
        "rate": {"num": rate.num, "den": rate.den},
        "width": project.width,
        "height": project.height,
        "duration": project.duration,
        "duration_tc": tc(project.duration),
        "tracks": [
            {
                "id": t.id,
                "name": t.name,
                "kind": t.kind,
                "locked": t.locked,
                "muted": t.muted,
                "clips": [
                    {
                        "id": c.id,
                        "kind": c.kind,
                        "name": c.name,
                        "start": c.start,
                        "duration": c.duration,
                        "end": c.end,
                        "source_in": c.source_in,
                        "asset_id": c.asset_id,
                        "linked_id": c.linked_id,
                        "start_tc": tc(c.start),
                        "end_tc": tc(c.end),
                    }
                    for c in t.clips
                ],
            }
            for t in project.tracks
        ],
        "markers": [{"id": m.id, "frame": m.frame, "name": m.name} for m in project.markers],
        "assets": [
            {
                "id": a.id,
                "kind": a.kind,
                "name": a.name,
                "file": a.filename,
                "duration_frames": a.media.duration_frames if a.media else None,
                "derived_from": a.derived_from,
            }
            for a in project.assets
        ],
    }


def render_text(project: Project) -> str:
    d = describe(project)
    rate = project.rate
    lines = [
        f"{d['name']}: {d['width']}x{d['height']} at {rate} fps, "
        f"{d['duration_tc']} ({d['duration']} frames)",
        "",
        f"{'track':<6}{'clip':<8}{'kind':<9}{'start':>7}{'dur':>7}{'in':>7}  "
        f"{'start tc':<12}{'link':<8}name",
    ]
    for t in d["tracks"]:
        flags = ("L" if t["locked"] else "") + ("M" if t["muted"] else "")
        head = f"{t['name']}{'[' + flags + ']' if flags else ''}"
        if not t["clips"]:
            lines.append(f"{head:<6}(empty)")
        for c in t["clips"]:
            lines.append(
                f"{head:<6}{c['id']:<8}{c['kind']:<9}{c['start']:>7}{c['duration']:>7}"
                f"{c['source_in']:>7}  {c['start_tc']:<12}{c['linked_id'] or '':<8}{c['name']}"
            )
            head = ""
    if d["markers"]:
        lines += [
            "",
            "markers: "
            + ", ".join(
                f"{m['name'] or m['id']} @ {format_timecode(m['frame'], rate)}"
                for m in d["markers"]
            ),
        ]
    lines += ["", f"assets ({len(d['assets'])}):"]
    for a in d["assets"]:
        lines.append(f"  {a['id']:<6}{a['kind']:<7}{a['name']}")
    return "\n".join(lines)
