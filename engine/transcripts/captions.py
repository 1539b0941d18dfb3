"""Captions of the timeline: its words (`engine.transcripts.timeline`) grouped into cues, placed
as caption clips (`engine.ops.captions.PlaceCaptions`), written as SubRip (.srt) or WebVTT
(.vtt) and read back from them by pysubs2, a maintained subtitle library.

A cue takes words in timeline order until the next would make it longer than `MAX_CHARS`
characters or `MAX_MS` long, or a sentence ended, or a pause of `PAUSE_MS` or more comes, or
the next word is in another clip that does not follow at once. Its frames are the first
word's start and the last word's end (a cue never runs into the next one); in a file they are
milliseconds (exact fractions of the project's rate, rounded to the millisecond).

What a file holds: the caption clips when the captions track has any (what a person edited,
what the page draws and the export burns in), else the cues made from the words, as placing
them would make them. A file read in becomes caption clips, each cue's milliseconds rounded
to the nearest frame (a cue at least one frame long, never before the previous one's end).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from engine.errors import ReelcutError, UsageError
from engine.model import Project
from engine.ops.captions import CaptionCue, caption_clips
from engine.timebase import MAX_FRAMES
from engine.transcripts.timeline import ClipWords, TimelineWord

MAX_CHARS = 42
MAX_MS = 6000
PAUSE_MS = 700
FORMATS = {".srt": "srt", ".vtt": "vtt"}


@dataclass(frozen=True)
class Cue:
    """A caption in a file: milliseconds from the timeline's start."""

    start_ms: int
    end_ms: int
    text: str


def frame_ms(frame: int, project: Project) -> int:
    return round(Fraction(frame * 1000) / project.rate.fraction)


def ms_frame(ms: int, project: Project) -> int:
    return round(Fraction(ms, 1000) * project.rate.fraction)


def frame_cues(project: Project, blocks: list[ClipWords]) -> list[CaptionCue]:
    """The words of ``blocks`` grouped into cues (see the module's docstring), in frames."""
    words: list[TimelineWord] = sorted(
        (w for b in blocks for w in b.words), key=lambda w: (w.start, w.end)
    )
    runs: list[list[TimelineWord]] = []
    run: list[TimelineWord] = []
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
                runs.append(run)
                run = []
        run.append(w)
    if run:
        runs.append(run)
    out: list[CaptionCue] = []
    for n, r in enumerate(runs):
        # A word's last frame may be the next word's first: a cue never runs into the next one.
        end = max(x.end for x in r)
        if n + 1 < len(runs):
            end = min(end, runs[n + 1][0].start)
        start = r[0].start
        out.append(CaptionCue(" ".join(x.text for x in r), start, max(1, end - start)))
    return out


def cues(project: Project, blocks: list[ClipWords]) -> list[Cue]:
    """What a file holds (see the module's docstring), in milliseconds."""
    placed = caption_clips(project.tracks)
    if placed:
        found = [CaptionCue(c.text.text, c.start, c.duration) for c in placed if c.text]
    else:
        found = frame_cues(project, blocks)
    return [
        Cue(frame_ms(c.at, project), frame_ms(c.at + c.duration, project), c.text) for c in found
    ]


def read(project: Project, path: Path) -> list[CaptionCue]:
    """The cues of the subtitle file ``path`` (.srt or .vtt) in the project's frames; one clear
    line when it cannot be read or holds none."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(f"{path.name}: captions are read from .srt or .vtt files")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path.name}: cannot be read as UTF-8 text ({exc})") from None
    return parse(project, text, fmt, path.name)


def parse(project: Project, text: str, fmt: str, name: str) -> list[CaptionCue]:
    """The cues of subtitle ``text`` in format ``fmt`` ("srt" or "vtt"; ``name`` is what a
    refusal calls it), as `read` gives them."""
    import pysubs2

    try:
        subs = pysubs2.SSAFile.from_string(text, format_=fmt)
    except Exception as exc:  # pysubs2 raises its own errors for malformed files
        raise UsageError(f"{name}: not a readable {fmt} file ({exc})") from None
    out: list[CaptionCue] = []
    previous = 0
    for e in sorted(subs, key=lambda e: (e.start, e.end)):
        text = e.plaintext.strip()
        if e.is_comment or not text or e.end < 0:
            continue
        start = max(previous, ms_frame(max(0, e.start), project))
        end = max(start + 1, ms_frame(e.end, project))
        if end > MAX_FRAMES:
            raise UsageError(f"{name}: a caption at {e.start} ms is past any timeline's end")
        out.append(CaptionCue(text, start, end - start))
        previous = end
    if not out:
        raise UsageError(f"{name}: holds no caption with text; nothing to place")
    return out


def write(project: Project, blocks: list[ClipWords], out: Path, *, force: bool = False) -> int:
    """Write the captions (see the module's docstring) to ``out`` (its suffix picks the
    format), atomically; the number of cues. Refused, with nothing written, for another suffix
    or an existing file without ``force``."""
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
        event = pysubs2.SSAEvent(start=c.start_ms, end=c.end_ms)
        event.plaintext = c.text
        subs.append(event)
    atomic_write(out, subs.to_string(fmt).encode("utf-8"))
    return len(found)
