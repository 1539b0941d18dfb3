"""The words under the timeline, and cutting the video by deleting them.

`timeline_words` maps each transcript's words (source milliseconds in an asset) through the
clips that use that asset: a word belongs to a clip when its middle lies in the clip's source
range, and its timeline frames are ``clip.start + (source frame - clip.source_in)``, clamped to
the clip. A linked video/audio pair says its words once (on the audio clip), and a clip of a
video whose sound was imported as its own audio asset reads that asset's transcript.

The view a person edits (`render` -> `parse`) is plain text, one block per clip in timeline
order:

    ## c_4  talk.wav  00:00:01:00-00:00:09:12
    so today we are going to talk about um editing

Deleting words (or a whole block) and handing the text back gives `deleted`: which words went.
Only deleting is a cut: a changed or added word is refused with its line and column (a wrong
word is corrected in ``transcripts/<asset-id>.json``, where the recognizer put it).

`cut_ops` turns deleted words into edits: consecutive deleted words of a clip make one range
(their frames and the gaps between them); each range, latest first, is bladed out of its clip
and linked partner (`Blade` on that clip) and ripple-deleted (`RippleDelete`), so exactly those
frames leave the clip and its partner, and everything after closes up. Caption clips over the
range are cut out with it (`lift_captions`); the `transcript_cut` tool then groups the
remaining words into captions again.

    before  V1 [AAAAAAAAAA]     words  so today um we   ("um" deleted)
            A1 [aaaaaaaaaa]
    after   V1 [AAAAAAAA]       words  so today we
            A1 [aaaaaaaa]
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from engine.errors import ReelcutError
from engine.jsoncheck import Problem
from engine.model import Asset, Clip, Project
from engine.ops import Batch, Blade, Op, OpError, RippleDelete
from engine.ops.captions import lift_captions
from engine.timebase import format_timecode
from engine.transcripts.document import Transcript

HEADER = re.compile(r"^## (?P<clip>[A-Za-z0-9_.-]{1,64})(?:\s.*)?$")
PREAMBLE = (
    "# The words under the timeline, clip by clip. Delete words, sentences or whole blocks and\n"
    "# save to cut them (and their linked partners) from the timeline as one changeset.\n"
    "# Keep the ## lines; a word cannot be changed or added here.\n"
)
FILLERS = frozenset({"um", "uh", "er", "erm", "ah", "hmm", "mm", "uhm"})


class TranscriptEditRefused(ReelcutError):
    """An edited view that is not only deletions; the message has line and column."""

    exit_code = 2


@dataclass(frozen=True)
class TimelineWord:
    """One word as it sits on the timeline: ``[start, end)`` in project frames."""

    clip_id: str
    index: int
    """Its index in the asset's transcript (stable while the transcript is)."""
    text: str
    start: int
    end: int
    speaker: str | None = None


@dataclass(frozen=True)
class ClipWords:
    clip_id: str
    track: str
    asset_id: str
    name: str
    start: int
    end: int
    words: tuple[TimelineWord, ...]


def transcript_for(
    project: Project, asset: Asset, transcripts: Mapping[str, Transcript]
) -> str | None:
    """The id of the asset whose transcript holds ``asset``'s words: its own, else the audio
    imported from it, else the video it was imported from."""
    if asset.id in transcripts:
        return asset.id
    for a in project.assets:
        if a.derived_from == asset.id and a.id in transcripts:
            return a.id
    if asset.derived_from and asset.derived_from in transcripts:
        return asset.derived_from
    return None


def _frame(ms: int, rate: Fraction) -> Fraction:
    return Fraction(ms, 1000) * rate


def clip_words(project: Project, clip: Clip, t: Transcript) -> tuple[TimelineWord, ...]:
    rate = project.rate.fraction
    lo, hi = clip.source_in, clip.source_in + clip.duration
    out = []
    for i, w in enumerate(t.words):
        mid = _frame((w.start_ms + w.end_ms) // 2, rate)
        if not lo <= mid < hi:
            continue
        s = max(lo, int(_frame(w.start_ms, rate)))
        e = min(hi, max(s + 1, -int(-_frame(w.end_ms, rate) // 1)))
        out.append(
            TimelineWord(clip.id, i, w.text, clip.start + s - lo, clip.start + e - lo, w.speaker)
        )
    return tuple(out)


def timeline_words(project: Project, transcripts: Mapping[str, Transcript]) -> list[ClipWords]:
    """Every clip with words, in timeline order (start, then track order)."""
    assets = {a.id: a for a in project.assets}
    kinds = {t.id: t.kind for t in project.tracks}
    found: list[tuple[int, int, ClipWords]] = []
    said: set[str] = set()
    clips = [(n, t, c) for n, t in enumerate(project.tracks) for c in t.clips]
    # Audio tracks first, so a linked pair speaks through its audio clip.
    for n, track, clip in sorted(clips, key=lambda x: kinds[x[1].id] != "audio"):
        if clip.asset_id is None or clip.id in said or clip.asset_id not in assets:
            continue
        source = transcript_for(project, assets[clip.asset_id], transcripts)
        if source is None:
            continue
        said.add(clip.id)
        if clip.linked_id:
            said.add(clip.linked_id)
        words = clip_words(project, clip, transcripts[source])
        name = assets[clip.asset_id].name
        found.append(
            (
                clip.start,
                n,
                ClipWords(clip.id, track.name, source, name, clip.start, clip.end, words),
            )
        )
    return [cw for _, _, cw in sorted(found, key=lambda x: (x[0], x[1]))]


def words_on_timeline(root: Path, project: Project) -> list[dict[str, Any]]:
    """Every word under the timeline as ``{clip, text, start, end}`` (frames, half-open), in
    time order: what the preview page highlights under the playhead."""
    from engine.transcripts.document import read_transcripts

    found = read_transcripts(root, [a.id for a in project.assets])
    words = [w for b in timeline_words(project, found) for w in b.words]
    return [
        {"clip": w.clip_id, "text": w.text, "start": w.start, "end": w.end}
        for w in sorted(words, key=lambda w: (w.start, w.end))
    ]


# -- the view a person edits ---------------------------------------------------------------------


def render(project: Project, blocks: list[ClipWords]) -> str:
    """The text view (see the module's docstring)."""
    out = [PREAMBLE]
    for b in blocks:
        span = f"{format_timecode(b.start, project.rate)}-{format_timecode(b.end, project.rate)}"
        out.append(f"\n## {b.clip_id}  {b.name}  {span}\n")
        line: list[str] = []
        for w in b.words:
            line.append(w.text)
            if w.text.endswith((".", "?", "!")):  # a sentence a line: easy to delete whole
                out.append(" ".join(line) + "\n")
                line = []
        if line:
            out.append(" ".join(line) + "\n")
    return "".join(out)


def _tokens(text: str) -> dict[str, list[tuple[str, int, int]]]:
    """Each block's words with their line and column (1-based), by clip id."""
    blocks: dict[str, list[tuple[str, int, int]]] = {}
    current: list[tuple[str, int, int]] | None = None
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("#"):
            m = HEADER.match(line)
            if m:
                current = blocks.setdefault(m["clip"], [])
            continue
        for m in re.finditer(r"\S+", line):
            if current is None:
                raise TranscriptEditRefused(
                    f"{n}:{m.start() + 1}: {m.group()!r} is outside any clip's block; "
                    "words come after a '## <clip id>' line"
                )
            current.append((m.group(), n, m.start() + 1))
    return blocks


def deleted(blocks: list[ClipWords], edited: str, rel: str = "") -> list[TimelineWord]:
    """The words ``edited`` (the view, after a person's edits) no longer has. A block that is
    gone lost all its words; a changed or added word is `TranscriptEditRefused` naming it."""
    where = f"{rel}:" if rel else ""
    have = _tokens(edited)
    known = {b.clip_id for b in blocks}
    for cid, toks in have.items():
        if cid not in known and toks:
            _, n, col = toks[0]
            raise TranscriptEditRefused(
                f"{where}{n}:{col}: no clip {cid} with words on the timeline; keep the ## lines "
                "as they were (or show the transcript again)"
            )
    out: list[TimelineWord] = []
    for b in blocks:
        toks = have.get(b.clip_id, [])
        old = [w.text for w in b.words]
        new = [t for t, _, _ in toks]
        sm = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
        for op, i1, i2, j1, _ in sm.get_opcodes():
            if op == "delete":
                out.extend(b.words[i1:i2])
            elif op in ("replace", "insert"):
                word, n, col = toks[j1]
                raise TranscriptEditRefused(
                    f"{where}{n}:{col}: {word!r} is not a word of clip {b.clip_id} here; this "
                    "view cuts by deleting words only (correct a word in "
                    f"transcripts/{b.asset_id}.json)"
                )
    return out


def problem(blocks: list[ClipWords], edited: str) -> Problem | None:
    """`deleted`'s refusal as a Problem (line, column, message), or None."""
    try:
        deleted(blocks, edited)
    except TranscriptEditRefused as exc:
        line, col, msg = str(exc).split(":", 2)
        return Problem(msg.strip(), int(line), int(col))
    return None


# -- cutting --------------------------------------------------------------------------------------


def ranges(words: list[TimelineWord], blocks: list[ClipWords]) -> list[tuple[str, int, int]]:
    """``(clip id, start, end)`` frames to remove: each run of consecutive deleted words of a
    clip, with the gaps between them, as one range."""
    gone = {(w.clip_id, w.index) for w in words}
    out: list[tuple[str, int, int]] = []
    for b in blocks:
        run: list[TimelineWord] = []
        for w in (*b.words, None):
            if w is not None and (w.clip_id, w.index) in gone:
                run.append(w)
                continue
            if run:
                out.append((b.clip_id, run[0].start, max(x.end for x in run)))
                run = []
    return out


def cut_ops(project: Project, cuts: list[tuple[str, int, int]]) -> tuple[Project, Batch, str]:
    """Apply the cuts (latest first, so an earlier range never moves before its turn) to
    ``project``: the result, the primitives applied (one `Batch`, what a review replays) and
    a summary. `OpError` when one does not fit (a clip of another track in the way)."""
    steps: list[Any] = []
    frames = 0

    def do(op: Op) -> None:
        nonlocal project
        result = op.apply(project)
        project = result.project
        steps.extend(result.forward.steps)

    for clip_id, start, end in sorted(cuts, key=lambda c: -c[1]):
        lifted = lift_captions(project, start, end)  # captions over the words go with them
        if lifted is not None:
            project = lifted.project
            steps.extend(lifted.forward.steps)
        track = _track_of(project, clip_id)
        target = _clip_at(project, track, start)
        if start > target.start:
            do(Blade(start, (target.id,)))
            target = _clip_at(project, track, start)  # the right half has a new id
        if end < target.end:
            do(Blade(end, (target.id,)))
        do(RippleDelete((target.id,)))
        frames += end - start
    summary = f"cut {len(cuts)} stretch(es) of words, {frames} frame(s), from the timeline"
    return project, Batch(tuple(steps)), summary


def _track_of(project: Project, clip_id: str) -> str:
    for t in project.tracks:
        if any(c.id == clip_id for c in t.clips):
            return t.id
    raise OpError(f"no clip {clip_id} on the timeline; show the transcript again")


def _clip_at(project: Project, track_id: str, frame: int) -> Clip:
    for t in project.tracks:
        if t.id == track_id:
            for c in t.clips:
                if c.start <= frame < c.end:
                    return c
    raise OpError(f"no clip at frame {frame} where the words were; show the transcript again")
