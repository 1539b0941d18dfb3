"""Every line's takes: listed, one chosen per line, and a scenario version restored.

A take stays in the project's pool once made (an asset whose `Generation` names its line and
its take key), whatever the scenario says now. `takes` lists them by line and says which one
the line's clip shows; `select` shows another on the clip (`engine.ops.SelectTake`, one undo
step); the tool ``tts_restore`` brings back the scenario text of an earlier version
(`engine.tts.versions`) and the takes that version made on the timeline, as ONE changeset of
two files (``scripts/Scenario_TTS.json`` and ``project.json``) that waits for review like an
agent's (`reelcut changes DIR show N`, the editor's agent panel) and applies or reverts both
at once. A line of that version with no take in the pool gets a placeholder; `reelcut tts DIR`
makes it after the apply.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import msgspec

from engine.errors import ReelcutError
from engine.model import Asset, Project
from engine.ops import OpError, PlaceTakes, SelectTake
from engine.projectfile import decode_project, encode_project
from engine.scenario import SCENARIO_PATH
from engine.tools.registry import Outcome, ToolContext, ToolError, tool
from engine.tts import versions
from engine.tts.plan import line_clips, plan
from engine.tts.takes import LOCAL_MODEL, PROVIDERS, Scenario, model_for, parse_scenario

if TYPE_CHECKING:
    from engine.session import Change
    from engine.workspace import Workspace

PROJECT = "project.json"


def pool_by_line(project: Project) -> dict[str, list[Asset]]:
    """The take assets of each line, in the pool's order."""
    out: dict[str, list[Asset]] = {}
    for a in project.assets:
        g = a.generation
        if g is not None and g.line is not None and g.take is not None:
            out.setdefault(g.line, []).append(a)
    return out


def takes(project: Project) -> list[dict[str, Any]]:
    """Each line that has takes: its clip, and every take with its stage, length and whether
    the clip shows it (``current``)."""
    shown = line_clips(project)
    out = []
    for line, assets in pool_by_line(project).items():
        clip = shown.get(line)
        current = clip[1].id if clip is not None else None
        out.append(
            {
                "line": line,
                "clip": clip[0].id if clip is not None else None,
                "takes": [
                    {
                        "asset": a.id,
                        "take": a.generation.take if a.generation else None,
                        "stage": a.generation.stage if a.generation else None,
                        "frames": a.media.duration_frames if a.media is not None else None,
                        "name": a.name,
                        "current": a.id == current,
                    }
                    for a in assets
                ],
            }
        )
    return out


def select_op(project: Project, line: str, take: str) -> SelectTake:
    """The op that shows take ``take`` (an asset id, or a take key or its start) of ``line``
    on the line's clip; ReelcutError saying what to give instead."""
    shown = line_clips(project).get(line)
    if shown is None:
        raise ReelcutError(
            f"line {line!r} has no clip on the Dialogue track; `reelcut tts DIR takes` lists them"
        )
    mine = pool_by_line(project).get(line, [])
    found = [
        a
        for a in mine
        if a.id == take or (a.generation is not None and (a.generation.take or "").startswith(take))
    ]
    if len(found) != 1:
        known = ", ".join(f"{a.id} ({(a.generation.take or '')[:8]})" for a in mine if a.generation)
        what = "names no take" if not found else f"names {len(found)} takes"
        raise ReelcutError(f"{take!r} {what} of line {line}; its takes: {known or 'none'}")
    return SelectTake(clip=shown[0].id, asset=found[0].id)


async def select(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """The door's ``tts.select``: params ``line`` and ``take``."""
    session = ws.session

    def go() -> Change:
        op = select_op(session.project, str(params["line"]), str(params["take"]))
        return session.apply(op, author=str(params.get("author") or "cli"))

    try:
        change = await ws.change(go)
    except OpError as exc:
        raise ReelcutError(str(exc)) from None
    if ws.events is not None:
        ws.events.committed()
    return {"change": None if change is None else change.to_json(), "takes": takes(ws.project)}


# -- restoring a version ------------------------------------------------------------------------


def restore_plan(project: Project, sc: Scenario) -> tuple[Project, PlaceTakes, list[str]]:
    """The timeline showing ``sc``'s takes: for the provider whose takes of ``sc`` the pool
    holds most of (local first), each line's clip switched to its take, a placeholder where
    none was made; and the lines left without a take."""
    best: tuple[int, str, str] | None = None
    for provider in PROVIDERS:
        model = LOCAL_MODEL if provider == "local" else model_for(provider, sc.model)
        p = plan(project, sc, provider, model, {})
        have = sum(1 for pl in p.placements if pl.reuse is not None or pl.keep)
        if best is None or have > best[0]:
            best = (have, provider, model)
    assert best is not None
    p = plan(project, sc, best[1], best[2], {})
    op = PlaceTakes(tuple(p.placements))
    missing = [line.id for line, _, _ in p.generate]
    return op.apply(project).project, op, missing


@tool(
    "tts_restore",
    "Restore an earlier version of the TTS scenario (its id or the start of it, from "
    "`reelcut tts DIR versions`): the scenario text and, on the Dialogue track, the takes that "
    "version made, proposed together as one changeset for review. Lines of that version with "
    "no take get a placeholder; `reelcut tts DIR` makes them once applied.",
    {"version": {"type": "string", "pattern": "^[0-9a-f]{4,64}$"}},
    ["version"],
    writes=True,
)
async def tts_restore(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    try:
        sha, text = versions.read_version(ctx.root, args["version"])
        sc = parse_scenario(text)
    except ReelcutError as exc:
        raise ToolError(str(exc)) from None
    body = await ctx.read(PROJECT)
    if body is None:
        raise ToolError("this folder has no project.json; it is not a reelcut project")
    project = decode_project(body.encode("utf-8"))
    try:
        after, op, missing = restore_plan(project, sc)
    except OpError as exc:
        raise ToolError(str(exc)) from None
    changes: dict[str, str | None] = {}
    if await ctx.read(SCENARIO_PATH) != text:
        changes[SCENARIO_PATH] = text
    if after != project:
        changes[PROJECT] = encode_project(after).decode("utf-8")
    summary = (
        f"scenario version {sha[:12]} restored: {len(sc.lines)} line(s)"
        + (f", {len(missing)} without a take ({', '.join(missing)})" if missing else "")
        + ("" if changes else " (no change: this is the current version)")
    )
    meta: dict[str, Any] = {"summary": summary}
    if PROJECT in changes:
        meta["op"] = json.loads(msgspec.json.encode(op))
    return Outcome({"summary": summary, "version": sha, "without_take": missing}, changes, meta)
