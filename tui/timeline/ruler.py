"""The timecode ruler as runs of cells: labels, ticks, markers and the in/out range. No
Textual here.

The ruler picks a "nice" label step (frames, then seconds, minutes, hours) whose labels cannot
overlap at the current zoom, and draws ticks, markers and the in/out range; the view draws the
playhead over it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len

from engine.model import Marker
from engine.timebase import Rate, format_timecode
from tui.timeline.runs import Run, RunKind, fit_text
from tui.timeline.viewport import Viewport

MARKER = "◆"
MAJOR_TICK = "╵"
MINOR_TICK = "·"

FRAME_STEPS = (1, 2, 5, 10, 15, 20, 30, 50, 100, 200, 500)
"""Sub-second label steps in frames (those that divide the rate's nominal frames)."""
SECOND_STEPS = (
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
)
"""Label steps of one second and more, in timecode seconds (1 s ... 30 min, 1 h ... 24 h)."""


@dataclass(frozen=True, slots=True)
class RulerStep:
    """The ruler's label spacing at one zoom.

    ``frames`` is the nominal step (``seconds * nominal`` for whole seconds); ``minor`` the
    frames between minor ticks (0 for none); labels are ``label_cols`` cells wide.
    """

    frames: int
    seconds: int
    label_cols: int
    minor: int


def _frame_steps(rate: Rate) -> list[int]:
    nominal = rate.nominal
    steps = [s for s in FRAME_STEPS if s < nominal and nominal % s == 0]
    # Rates such as 24 fps keep few of the round steps; add their half and quarter seconds.
    for part in (4, 2):
        if nominal % part == 0 and nominal // part not in steps and nominal // part > 1:
            steps.append(nominal // part)
    return sorted(steps)


def _second_steps() -> Iterable[int]:
    yield from SECOND_STEPS
    step = SECOND_STEPS[-1]
    while True:
        step *= 2
        yield step


def _tc_second_frame(t: int, rate: Rate) -> int:
    """The first frame whose timecode reads ``t`` whole seconds (drop-frame aware)."""
    nominal, drop = rate.nominal, rate.drop_frames
    if not drop:
        return t * nominal
    minutes = t // 60
    ff = drop if t % 60 == 0 and minutes % 10 else 0
    return t * nominal + ff - drop * (minutes - minutes // 10)


def _label(frame: int, rate: Rate, seconds: int) -> str:
    tc = format_timecode(frame, rate)
    return tc[:-3] if seconds else tc


def ruler_step(frames_per_col: int, rate: Rate, last_frame: int = 0) -> RulerStep:
    """The smallest nice step whose labels keep at least one free cell between them.

    ``last_frame`` (the end of the view) sizes the labels: past 99 hours timecodes are wider.
    """
    fpc = frames_per_col
    hours = len(f"{rate.nominal and last_frame // rate.nominal // 3600:02d}")
    short = hours + 6  # HH:MM:SS
    full = short + 1 + max(2, len(str(rate.nominal - 1)))  # HH:MM:SS:FF
    for s in _frame_steps(rate):
        if s >= (full + 1) * fpc:
            return RulerStep(s, 0, full, _minor(s, fpc))
    drop = rate.drop_frames
    for sec in _second_steps():
        frames = sec * rate.nominal
        # Drop-frame labels sit on timecode seconds, up to ``drop`` frames closer per minute.
        min_gap = frames - drop * (sec // 60 + 1)
        if min_gap >= (short + 1) * fpc:
            return RulerStep(frames, sec, short, _minor(frames, fpc))
    raise AssertionError("unreachable: second steps grow without bound")


def _minor(step: int, fpc: int) -> int:
    for parts in (10, 5, 4, 2):
        if step % parts == 0 and step // parts >= 2 * fpc:
            return step // parts
    return 0


def ruler_labels(vp: Viewport, rate: Rate, step: RulerStep | None = None) -> list[tuple[int, str]]:
    """``(col, text)`` of every label that fits wholly on screen, left to right."""
    step = step or ruler_step(vp.frames_per_col, rate, vp.end_frame)
    out: list[tuple[int, str]] = []
    for frame in _label_frames(vp, rate, step):
        col = vp.col_of(frame)
        if col >= vp.width_cols:
            break
        if col >= 0 and col + step.label_cols <= vp.width_cols:
            out.append((col, _label(frame, rate, step.seconds)))
    return out


def _label_frames(vp: Viewport, rate: Rate, step: RulerStep) -> Iterable[int]:
    """Label frames from the last one before the view to the first one at or after its end
    (the ones just outside give the minor ticks at both edges)."""
    if step.seconds:
        sec = step.seconds

        def at(k: int) -> int:
            return _tc_second_frame(k * sec, rate)

        # Timecode never runs behind the frame count, so this starts at or before the view.
        k = max(0, vp.first_frame // rate.nominal // sec - 1)
    else:
        size = step.frames

        def at(k: int) -> int:
            return k * size

        k = max(0, vp.first_frame // size - 1)
    while at(k + 1) < vp.first_frame:
        k += 1
    end = vp.end_frame
    while True:
        frame = at(k)
        yield frame
        if frame >= end:
            return
        k += 1


def ruler_lines(
    vp: Viewport,
    rate: Rate,
    *,
    markers: Sequence[Marker] = (),
    mark_in: int | None = None,
    mark_out: int | None = None,
    lines: int = 2,
) -> list[list[Run]]:
    """The ruler as ``lines`` rows of runs covering ``[0, vp.width_cols)`` each.

    Two lines: timecode labels above, ticks and markers (glyph and name where there is room)
    below. One line: labels with minor ticks between them and marker glyphs. Cells inside the
    in/out marks are ``in_range``; the playhead is drawn by the caller on top.
    """
    width = vp.width_cols
    step = ruler_step(vp.frames_per_col, rate, vp.end_frame)
    labels = ruler_labels(vp, rate, step)

    # Per cell: text and a (kind, style, color) key; runs are the stretches of equal keys.
    tick_text = [" "] * width
    tick_kind: list[RunKind] = ["blank"] * width
    frames = list(_label_frames(vp, rate, step))
    for i, frame in enumerate(frames):
        col = vp.col_of(frame)
        if 0 <= col < width:
            tick_text[col] = MAJOR_TICK
            tick_kind[col] = "tick"
        if step.minor:
            nxt = frames[i + 1] if i + 1 < len(frames) else frame + step.frames
            tick = frame + step.minor
            while tick < nxt - step.minor // 2:
                tc = vp.col_of(tick)
                if 0 <= tc < width and tick_kind[tc] == "blank":
                    tick_text[tc] = MINOR_TICK
                    tick_kind[tc] = "tick"
                tick += step.minor

    lo = 0 if mark_in is None else mark_in
    hi: int | None = mark_out
    has_range = mark_in is not None or mark_out is not None
    in_range = [
        has_range
        and (hi is None or vp.frame_of(c) < hi)
        and vp.frame_of(c) + vp.frames_per_col > lo
        for c in range(width)
    ]

    marker_cols: list[tuple[int, Marker]] = []
    for m in markers:
        mcol = vp.visible_col(m.frame)
        if mcol is not None:
            marker_cols.append((mcol, m))
    marker_cols.sort(key=lambda cm: cm[0])

    label_text = [" "] * width
    label_kind: list[RunKind] = ["blank"] * width
    for col, text in labels:
        for k, ch in enumerate(text):
            label_text[col + k] = ch
            label_kind[col + k] = "label"

    marker_color: list[str | None] = [None] * width
    target_text, target_kind = (tick_text, tick_kind) if lines >= 2 else (label_text, label_kind)
    if lines < 2:
        for c in range(width):
            if label_kind[c] == "blank" and tick_kind[c] == "tick" and tick_text[c] == MINOR_TICK:
                label_text[c] = MINOR_TICK
                label_kind[c] = "tick"
    for n, (col, m) in enumerate(marker_cols):
        limit = marker_cols[n + 1][0] - 1 if n + 1 < len(marker_cols) else width
        name = m.name if lines >= 2 else ""
        room = max(1, min(limit, width) - col)
        text = MARKER + name
        cells = _cells(fit_text(text, room).rstrip() if cell_len(text) > room else text)
        for k, ch in enumerate(cells):
            if col + k >= width:
                break
            target_text[col + k] = ch
            target_kind[col + k] = "marker"
            marker_color[col + k] = m.color

    def shaded(kinds: list[RunKind]) -> list[bool]:
        # Markers keep their own look, so a wide character never straddles two runs.
        return [r and kind != "marker" for r, kind in zip(in_range, kinds, strict=True)]

    no_color: list[str | None] = [None] * width
    if lines < 2:
        return [_compress(label_text, label_kind, shaded(label_kind), marker_color)]
    return [
        _compress(label_text, label_kind, shaded(label_kind), no_color),
        _compress(tick_text, tick_kind, shaded(tick_kind), marker_color),
    ]


def _cells(text: str) -> list[str]:
    """``text`` as one string per cell: a wide character fills its first cell, then ``""``."""
    out: list[str] = []
    for ch in text:
        out.append(ch)
        if cell_len(ch) == 2:
            out.append("")
    return out


_RULER_STYLE = {
    "blank": "ruler",
    "label": "ruler-label",
    "tick": "ruler-tick",
    "marker": "marker",
}


def _compress(
    text: list[str], kinds: list[RunKind], in_range: list[bool], colors: list[str | None]
) -> list[Run]:
    runs: list[Run] = []
    width = len(text)
    c = 0
    while c < width:
        kind, rng, color = kinds[c], in_range[c], colors[c]
        e = c + 1
        while e < width and kinds[e] == kind and in_range[e] == rng and colors[e] == color:
            e += 1
        # A wide character's second cell is "" and always shares its run (markers only).
        runs.append(
            Run(c, e, kind, "".join(text[c:e]), _RULER_STYLE[kind], in_range=rng, color=color)
        )
        c = e
    return runs
