"""What a TTS pass does to the timeline, worked out without touching anything (pure).

For every scenario line, in order, `plan` decides one of:

- **keep**: the line's clip already shows a take of this exact identity (`takes.take_key`);
  when that take is still a placeholder, its job is (re)queued, or, if a job made the take
  already, it lands from that job's result without generating again;
- **reuse**: a take of this identity is in the pool (made earlier, since replaced): the
  line's clip switches back to it, or a new clip shows it;
- **generate**: no take of this identity exists: a placeholder as long as the estimate, and
  a job.

Only lines whose identity changed are generated again; earlier takes stay in the pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.model import Asset, Clip, MediaInfo, Project
from engine.ops.generate import DIALOGUE_TRACK, LandTake, Placement
from engine.timebase import frames_from_seconds
from engine.tts.takes import Line, Scenario, estimate_seconds, identity, take_key

NAME_CHARS = 60


@dataclass(frozen=True)
class Made:
    """A take a finished job made (its result), whether or not it is on the timeline."""

    hash: str
    ext: str
    media: MediaInfo


@dataclass
class Plan:
    placements: list[Placement] = field(default_factory=list)
    generate: list[tuple[Line, str, dict[str, Any]]] = field(default_factory=list)
    """``(line, take key, identity)`` of each line that needs a job."""
    lands: list[LandTake] = field(default_factory=list)
    """Takes made already whose placeholders are waiting: landed right after placing."""

    @property
    def changes_timeline(self) -> bool:
        return any(not p.keep for p in self.placements)


def clip_name(line: Line) -> str:
    name = f"{line.speaker_name}: {line.text}"
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"


def line_clips(project: Project, track_name: str = DIALOGUE_TRACK) -> dict[str, tuple[Clip, Asset]]:
    """The clip (and its asset) that speaks each scenario line on the dialogue track, by line
    id: the first one, when a line has several."""
    track = next((t for t in project.tracks if t.name == track_name), None)
    if track is None:
        return {}
    assets = {a.id: a for a in project.assets}
    out: dict[str, tuple[Clip, Asset]] = {}
    for c in track.clips:
        a = assets.get(c.asset_id or "")
        if a is not None and a.generation is not None and a.generation.line is not None:
            out.setdefault(a.generation.line, (c, a))
    return out


def plan(
    project: Project,
    scenario: Scenario,
    provider: str,
    model: str,
    made: dict[str, Made],
    only: set[str] | None = None,
) -> Plan:
    """The pass over ``scenario`` (see the module's docstring); ``made`` holds the takes
    finished jobs made, by key; ``only`` limits it to those line ids (others are kept)."""
    out = Plan()
    on_track = line_clips(project)
    pool: dict[str, Asset] = {}
    for a in project.assets:
        g = a.generation
        if g is not None and g.take is not None and (g.take not in pool or g.stage == "ready"):
            pool[g.take] = a
    speakers = len(scenario.speakers)
    for line in scenario.lines:
        ident = identity(line, provider, model, speakers)
        key = take_key(ident)
        current = on_track.get(line.id)
        start = None if line.start is None else frames_from_seconds(line.start, project.rate)
        name = clip_name(line)
        estimate = max(1, frames_from_seconds(estimate_seconds(line.text), project.rate))
        if only is not None and line.id not in only:
            if current is not None:
                out.placements.append(
                    Placement(
                        line.id, key, name, current[0].duration, clip=current[0].id, keep=True
                    )
                )
            continue
        if current is not None and current[1].generation is not None:
            gen = current[1].generation
            if gen.take == key:
                out.placements.append(
                    Placement(
                        line.id, key, name, current[0].duration, clip=current[0].id, keep=True
                    )
                )
                if gen.stage != "ready":
                    _make_or_land(out, line, key, ident, made)
                continue
        clip_id = current[0].id if current is not None else None
        have = pool.get(key)
        if have is not None and have.generation is not None:
            ready = have.generation.stage == "ready" and have.media is not None
            length = have.media.duration_frames if ready and have.media else estimate
            out.placements.append(
                Placement(line.id, key, name, max(1, length), start, clip_id, reuse=have.id)
            )
            if not ready:
                _make_or_land(out, line, key, ident, made)
            continue
        out.placements.append(Placement(line.id, key, name, estimate, start, clip_id))
        _make_or_land(out, line, key, ident, made)
    return out


def _make_or_land(
    out: Plan, line: Line, key: str, ident: dict[str, Any], made: dict[str, Made]
) -> None:
    m = made.get(key)
    if m is not None:
        out.lands.append(LandTake(take=key, hash=m.hash, ext=m.ext, media=m.media))
    else:
        out.generate.append((line, key, ident))
