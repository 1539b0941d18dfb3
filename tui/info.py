"""``reelcut info``: a project's tracks, clips and assets, as JSON data or a text table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.media import derivatives
from engine.model import Asset, Project
from engine.timebase import Rate, format_timecode


def derivative_state(root: Path, asset: Asset, rate: Rate) -> dict[str, dict[str, Any]]:
    """The derivatives ``asset`` has (proxy, thumbs, peaks), each with its path in the project
    and whether a complete one is there (``ready``); a missing or stale one is rebuilt by
    ``reelcut jobs DIR queue`` / ``run`` or the open editor. Nothing is ready while the asset's
    own file is missing or changed (`media_state`)."""
    whole = media_state(root, asset) in ("ok", "none")
    return {
        kind: {
            "path": path.relative_to(root).as_posix(),
            "ready": whole and derivatives.is_fresh(path),
        }
        for kind, path in derivatives.derivative_paths(root, asset, rate).items()
    }


def media_state(root: Path, asset: Asset) -> str:
    """``ok``, ``missing``, ``changed`` (another size than imported) or ``none`` (no bytes of
    its own); by size only, no hash: the editor's media bin also hashes."""
    from engine.media.status import file_state

    if asset.filename is None:
        return "none"
    return file_state(root / "assets" / asset.filename, asset, verify=False)


def describe(project: Project, root: Path | None = None) -> dict[str, Any]:
    """Frame-exact description of the timeline (with derived timecodes for humans); with the
    project's ``root``, each asset also says which of its derivatives are ready."""
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
        "markers": [
            {"id": m.id, "frame": m.frame, "name": m.name, "note": m.note} for m in project.markers
        ],
        "assets": [
            {
                "id": a.id,
                "kind": a.kind,
                "name": a.name,
                "file": a.filename,
                "duration_frames": a.media.duration_frames if a.media else None,
                "derived_from": a.derived_from,
                **(
                    {
                        "media": media_state(root, a),
                        "derivatives": derivative_state(root, a, project.rate),
                    }
                    if root is not None
                    else {}
                ),
            }
            for a in project.assets
        ],
    }


def _flags(track: dict[str, Any]) -> str:
    return ("L" if track["locked"] else "") + ("M" if track["muted"] else "")


def render_text(project: Project, root: Path | None = None) -> str:
    d = describe(project, root)
    rate = project.rate
    heads = {
        t["id"]: t["name"] + (f"[{flags}]" if (flags := _flags(t)) else "") for t in d["tracks"]
    }
    w = max([6, *(len(h) + 1 for h in heads.values())])  # "Captions" is longer than "V1"
    lines = [
        f"{d['name']}: {d['width']}x{d['height']} at {rate} fps, "
        f"{d['duration_tc']} ({d['duration']} frames)",
        "",
        f"{'track':<{w}}{'clip':<8}{'kind':<9}{'start':>7}{'dur':>7}{'in':>7}  "
        f"{'start tc':<12}{'link':<8}name",
    ]
    for t in d["tracks"]:
        head = heads[t["id"]]
        if not t["clips"]:
            lines.append(f"{head:<{w}}(empty)")
        for c in t["clips"]:
            lines.append(
                f"{head:<{w}}{c['id']:<8}{c['kind']:<9}{c['start']:>7}{c['duration']:>7}"
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
        made = a.get("derivatives") or {}
        state = ", ".join(f"{k} {'ready' if v['ready'] else 'missing'}" for k, v in made.items())
        if a.get("media") in ("missing", "changed"):
            state = f"FILE {a['media'].upper()}: relink it in the editor's media bin (F5, r)"
        lines.append(f"  {a['id']:<6}{a['kind']:<7}{a['name']}" + (f"  ({state})" if state else ""))
    return "\n".join(lines)
