"""A changeset's timeline operations, replayed one by one from the project as it was before it.

Timeline tools record each op they applied (``audit.meta.op``, with a readable ``summary``), so a
review can walk through the moves. The recorded ops need not fit project.json's ``before_text``
any more: a forced apply rebases it onto the user's newer version, and a text edit inside the
same changeset (``text_replace_lines`` on project.json) can rename the clip a later op moves.
`replay_steps` reports, for every op, whether it fits and, for the first one that does not,
why; the ops after it are not replayed. It is pure; `read_replay` reads a changeset from a
`Ledger` and hands it over.

    step:   1 fits   2 fits   3 does not fit   4 not replayed
                                └─ error: the OpError's message
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.errors import ReelcutError
from engine.model import Project
from engine.ops import Op, decode_op
from engine.projectfile import PROJECT_FILE, decode_project
from engine.timebase import Rate

if TYPE_CHECKING:
    from engine.changes.ledger import Ledger
    from engine.changes.store import FileChange

INVALID_BASE = f"{PROJECT_FILE} before the changeset is not a valid project"
UNREADABLE_OP = "the recorded op cannot be read"


@dataclass(frozen=True)
class ReplayStep:
    """One recorded timeline op and what replaying it gave."""

    index: int
    """1-based, in the order the tools ran."""
    summary: str
    op: Any
    """The op's JSON as recorded (``{"op": "move", ...}``)."""
    frame: int | None
    """Where it happens: the op's own ``at`` frame, else the start of the first clip it touched
    (None when neither is known, e.g. an op that was not replayed)."""
    fits: bool
    """Replayed, and it applied. False for the step that does not fit and every one after it."""
    error: str | None
    """Why it does not fit (the first such step), or that it was not replayed (the later ones)."""
    project: Project | None
    """The timeline after this step, for a front end to show; None unless it fits."""

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "summary": self.summary,
            "op": self.op,
            "frame": self.frame,
            "fits": self.fits,
            "error": self.error,
        }


@dataclass(frozen=True)
class Replay:
    """A changeset's timeline ops replayed from project.json's ``before_text``."""

    changeset_id: int
    steps: tuple[ReplayStep, ...]
    rate: Rate | None
    """The rate of the project before the changeset (for timecode), None if it is not valid."""

    @property
    def fits(self) -> bool:
        """Every step fits (true, too, when there is nothing to replay)."""
        return all(s.fits for s in self.steps)

    @property
    def failed(self) -> ReplayStep | None:
        """The first step that does not fit: where a replay stops."""
        return next((s for s in self.steps if not s.fits), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.changeset_id,
            "steps": [s.to_json() for s in self.steps],
            "fits": self.fits,
        }


def timeline_ops(events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The ``audit.meta`` of every successful tool call that recorded a timeline op."""
    metas = [e.get("audit", {}).get("meta") or {} for e in events if e.get("ok")]
    return [m for m in metas if "op" in m]


def replay_steps(
    changeset_id: int, files: Sequence[FileChange], events: Sequence[Mapping[str, Any]]
) -> Replay:
    """Replay the changeset's recorded timeline ops (from ``events``, its tool calls) on
    project.json's ``before_text`` (from ``files``, its file changes); no I/O."""
    metas = timeline_ops(events)
    if not metas:
        return Replay(changeset_id, (), None)
    project, base_error = _base(files)
    base_rate = project.rate if project is not None else None
    steps: list[ReplayStep] = []
    stopped: int | None = None  # the step that did not fit
    for i, meta in enumerate(metas, 1):
        recorded = meta["op"]
        summary = str(meta.get("summary") or recorded)
        try:
            op: Op | None = decode_op(recorded)
            unreadable = None
        except ReelcutError as exc:
            op, unreadable = None, f"{UNREADABLE_OP}: {exc}"
        at = getattr(op, "at", None)
        frame = at if isinstance(at, int) else None
        if stopped is not None:
            skipped = f"not replayed: step {stopped}/{len(metas)} does not fit"
            steps.append(ReplayStep(i, summary, recorded, frame, False, skipped, None))
            continue
        if project is None:
            why = base_error
        elif op is None:
            why = unreadable
        else:
            try:
                result = op.apply(project)
            except ReelcutError as exc:
                why = str(exc)
            else:
                project = result.project
                if frame is None:  # where it happened: its first touched clip
                    starts = [
                        c.start for t in project.tracks for c in t.clips if c.id in result.touched
                    ]
                    frame = min(starts) if starts else None
                steps.append(ReplayStep(i, summary, recorded, frame, True, None, project))
                continue
        stopped = i
        steps.append(ReplayStep(i, summary, recorded, frame, False, why, None))
    return Replay(changeset_id, tuple(steps), base_rate)


async def read_replay(ledger: Ledger, changeset_id: int) -> Replay:
    """`replay_steps` for a changeset of ``ledger``; ChangesetError if there is no such one."""
    await ledger._get(changeset_id)
    files = await ledger.store.files(changeset_id)
    events = await ledger.store.tool_events(changeset_id)
    return replay_steps(changeset_id, files, events)


def _base(files: Sequence[FileChange]) -> tuple[Project | None, str | None]:
    """project.json as it was before the changeset, or why it is not a project."""
    before = next((f.before_text for f in files if f.path == PROJECT_FILE), None)
    if before is None:
        return None, f"{INVALID_BASE}: there was no {PROJECT_FILE}"
    try:
        return decode_project(before.encode("utf-8")), None
    except ReelcutError as exc:
        return None, f"{INVALID_BASE}: {_without_label(str(exc))}"


def _without_label(message: str) -> str:
    """``decode_project`` starts its messages with the file's name, already said here."""
    prefix = f"{PROJECT_FILE}: "
    return message[len(prefix) :] if message.startswith(prefix) else message
