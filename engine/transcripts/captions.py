"""Captions of the timeline: its words (`engine.transcripts.timeline`) grouped into cues and
written as SubRip (.srt) or WebVTT (.vtt) by pysubs2, a maintained subtitle library.

A cue takes words in timeline order until the next would make it longer than `MAX_CHARS`
characters or `MAX_MS` long, or a sentence ended, or a pause of `PAUSE_MS` or more comes, or
the next word is in another clip that does not follow at once. Its times are the first word's
start and the last word's end, in milliseconds from the timeline's frames (exact fractions of
the project's rate, rounded to the millisecond).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from engine.errors import ReelcutError, UsageError
from engine.model import Project
from engine.transcripts.timeline import ClipWords, TimelineWord

MAX_CHARS = 42
MAX_MS = 6000
PAUSE_MS = 700
FORMATS = {".srt": "srt", ".vtt": "vtt"}


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    text: str


def frame_ms(frame: int, project: Project) -> int:
    return round(Fraction(frame * 1000) / project.rate.fraction)


def cues(project: Project, blocks: list[ClipWords]) -> list[Cue]:
    words: list[TimelineWord] = sorted(
        (w for b in blocks for w in b.words), key=lambda w: (w.start, w.end)
    )
    out: list[Cue] = []
    run: list[TimelineWord] = []

    def close() -> None:
        if run:
            text = " ".join(w.text for w in run)
            out.append(Cue(frame_ms(run[0].start, project), frame_ms(run[-1].end, project), text))
            run.clear()

    for w in words:
        if run:
            last = run[-1]
            text = " ".join(x.text for x in (*run, w))
            pause = frame_ms(w.start, project) - frame_ms(last.end, project)
            if (
                len(text) > MAX_CHARS
                or frame_ms(w.end, project) - frame_ms(run[0].start, project) > MAX_MS
                or last.text.endswith((".", "?", "!"))
                or pause >= PAUSE_MS
            ):
                close()
        run.append(w)
    close()
    # A word's last frame may be the next word's first: a cue never runs into the next one.
    nexts = [c.start_ms for c in out[1:]] + [2**62]
    return [
        Cue(c.start_ms, max(c.start_ms + 1, min(c.end_ms, n)), c.text)
        for c, n in zip(out, nexts[: len(out)], strict=True)
    ]


def write(project: Project, blocks: list[ClipWords], out: Path, *, force: bool = False) -> int:
    """Write the captions to ``out`` (its suffix picks the format), atomically; the number of
    cues. Refused, with nothing written, for another suffix or an existing file without
    ``force``."""
    import pysubs2

    from engine.fsio.durable import atomic_write

    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise UsageError(f"{out.name}: captions are written as .srt or .vtt; name one of those")
    if out.exists() and not force:
        raise ReelcutError(f"{out} exists; give --force to replace it")
    if not out.parent.is_dir():
        raise UsageError(f"{out.parent} is not a folder; captions go into an existing folder")
    subs = pysubs2.SSAFile()
    found = cues(project, blocks)
    for c in found:
        subs.append(pysubs2.SSAEvent(start=c.start_ms, end=c.end_ms, text=c.text))
    atomic_write(out, subs.to_string(fmt).encode("utf-8"))
    return len(found)
