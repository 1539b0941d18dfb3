"""Timeline painting: the Line-API TimelineView against the frame budget and a widget per clip.

A headless Textual app (``App.run_test``) hosts one ``TimelineView`` filling a 200x50 screen
(200x49 of content under the horizontal scrollbar). Projects of 1k, 10k and 100k clips on 8
tracks (4 video with some text clips, 4 audio, V1/A1 linked pairs; clip lengths from 1 frame to
10 s, some gaps) are shown at three zooms: 1 frame per column, 1 s per column (30 frames) and
fit-all, scrolled to the middle of the timeline for the first two.

Measured, median of several runs, through the widget's real paint path
(``TimelineView.render_lines`` over the whole content region, which calls ``render_line`` for
every line through Textual's styles cache):

- cold: after ``clear_caches()`` (what a scroll or a zoom costs: every row laid out again);
- warm: every strip cached (a repaint of an unchanged view);
- edit: one track replaced by a new ``Track`` object (its index rebuilt, its rows re-laid);
- open: every track new (all indexes rebuilt, O(clips); not a per-frame cost);
- playhead: a one-frame playhead move, in bytes the compositor writes to the terminal and in
  segments the widget builds, each against a full repaint of the same view.

The anchor is the naive design at 1k clips: one ``Static`` per clip in a horizontal container
per track (margins for gaps), timed through the same compositor calls for a full repaint and
for a zoom step (every clip widget resized, then a layout and a repaint).

The filmstrip case repeats the largest size with every video media clip showing a thumbnail
strip (8 video assets, random tile colours: the worst case, every cell its own style) and the
video tracks drawn three lines tall, as in the editor once the thumbnails are built.

Targets (exit 1 when missed): warm full repaint <= 4 ms at 100k clips and at most 2x the 1k
figure at each zoom; cold full repaint within one 60 Hz frame (16.7 ms); a one-frame playhead
move changes <= 10% of the bytes and builds <= 10% of the segments of a full repaint (the bytes
Textual actually writes for it are printed too; see ``span_bytes``); the same warm, cold and
playhead targets with filmstrips on every video clip.

    .venv/bin/python bench/bench_timeline.py [--sizes 1000,10000,100000] [--reps 30] [--no-strips]

Uses two private Textual calls for the compositor-level figures (``Screen._refresh_layout``,
``Screen._compositor``); they are read-only here.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
from rich.console import Console, RenderableType
from rich.control import Control

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual._compositor import ChopsUpdate, LayoutUpdate
from textual.app import App, ComposeResult
from textual.containers import Horizontal, ScrollableContainer
from textual.geometry import Region
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Static

from engine.model import Asset, Clip, Project, Track, TrackKind, new_project
from engine.timebase import Rate
from tui.span_writes import install as install_span_writes
from tui.timeline.thumbnails import Filmstrip, StripSize
from tui.timeline.widget import TimelineView

SIZE = (200, 50)
TRACKS = 8
FPS = 30
FRAME_MS = 1000 / 60
WARM_TARGET_MS = 4.0
GROWTH_TARGET = 2.0
PLAYHEAD_TARGET = 0.10
ZOOMS = ("1 f/col", "1 s/col", "fit-all")


def build_project(n: int, seed: int = 7) -> Project:
    """``n`` clips on 8 tracks; V1 and A1 hold linked pairs over the same ranges."""
    rnd = random.Random(seed)
    per_track = n // TRACKS

    def spans() -> list[tuple[int, int]]:
        out, at = [], 0
        for _ in range(per_track):
            if rnd.random() < 0.15:
                at += rnd.randint(1, 90)
            duration = rnd.randint(1, 20) if rnd.random() < 0.4 else rnd.randint(20, 300)
            out.append((at, duration))
            at += duration
        return out

    tracks: list[Track] = []
    v1 = spans()
    layout = [v1, *(spans() for _ in range(3)), v1, *(spans() for _ in range(3))]
    for t, ranges in enumerate(layout):
        kind: TrackKind = "video" if t < 4 else "audio"
        name = f"V{t + 1}" if t < 4 else f"A{t - 3}"
        clips = []
        for i, (start, duration) in enumerate(ranges):
            linked = None
            if t in (0, 4):
                linked = f"c_{4 - t}_{i}" if t == 0 else f"c_0_{i}"
            text = kind == "video" and t > 0 and i % 10 == 0
            clips.append(
                Clip(
                    id=f"c_{t}_{i}",
                    kind="text" if text else "media",
                    name=f"{name} clip {i}",
                    start=start,
                    duration=duration,
                    linked_id=linked,
                )
            )
        tracks.append(Track(id=f"t_{t}", kind=kind, name=name, clips=tuple(clips)))
    project = new_project("bench", rate=Rate(FPS))
    return msgspec.structs.replace(project, tracks=tuple(tracks))


STRIP_ASSETS = 8


def with_footage(project: Project) -> Project:
    """``project`` with every video media clip on one of ``STRIP_ASSETS`` video assets."""
    tracks = []
    for track in project.tracks:
        if track.kind == "video":
            clips = tuple(
                msgspec.structs.replace(c, asset_id=f"a_{i % STRIP_ASSETS}")
                if c.kind == "media"
                else c
                for i, c in enumerate(track.clips)
            )
            track = msgspec.structs.replace(track, clips=clips)
        tracks.append(track)
    assets = tuple(Asset(id=f"a_{i}", kind="video", name=f"v{i}") for i in range(STRIP_ASSETS))
    return msgspec.structs.replace(project, tracks=tuple(tracks), assets=assets)


def random_filmstrips(seed: int = 3) -> dict[str, Filmstrip]:
    """A strip of 100 one-second tiles per asset, every pixel a random colour (the sizes the
    editor decodes: 4 cells across for one row, 8 for two)."""
    rnd = random.Random(seed)
    count = 100

    def size(rows: int, width: int) -> StripSize:
        cells = tuple(rnd.randbytes(6 * width) for _ in range(count * rows))
        return StripSize(rows, width, cells)

    return {
        f"a_{i}": Filmstrip(count, 1000, {1: size(1, 4), 2: size(2, 8)})
        for i in range(STRIP_ASSETS)
    }


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(
    fn: Callable[[], object],
    reps: int,
    before: Callable[[], object] | None = None,
    *,
    after: Callable[[], object] | None = None,
) -> float:
    """Median ms of ``fn()`` then ``after()``; ``before()`` runs untimed ahead of each."""
    samples = []
    for _ in range(reps):
        if before is not None:
            before()
        t0 = time.perf_counter()
        fn()
        if after is not None:
            after()
        samples.append(time.perf_counter() - t0)
    return median_ms(samples)


class Revisions:
    """Session revisions handed to ``set_project``."""

    def __init__(self) -> None:
        self.n = 1

    def next(self) -> int:
        self.n += 1
        return self.n


def new_tracks(view: TimelineView, revisions: Revisions, *, every: bool) -> None:
    """Give the view a project whose second track (or every track) is a new object, as after
    an edit on that track (or a reload)."""
    project = view.project
    assert project is not None
    tracks = list(project.tracks)
    for i in range(len(tracks)) if every else (1,):
        tracks[i] = msgspec.structs.replace(tracks[i])
    view.set_project(msgspec.structs.replace(project, tracks=tuple(tracks)), revisions.next())


# -- the timeline ------------------------------------------------------------------------------


class TimelineHost(App[None]):
    def __init__(self, project: Project) -> None:
        super().__init__()
        self.project = project
        self.written: list[int] = []
        """Bytes of every screen update the compositor produced (the headless driver would
        drop them; we count them instead)."""
        self.changed: list[int] = []
        """The same updates cropped to their dirty spans (see ``span_bytes``)."""

    def compose(self) -> ComposeResult:
        yield TimelineView(self.project, 1)

    def _display(self, screen: Screen[object], renderable: RenderableType | None) -> None:
        if isinstance(renderable, ChopsUpdate | LayoutUpdate):
            written = len(renderable.render_segments(self.console).encode())
            self.written.append(written)
            changed = span_bytes(renderable, self.console)
            self.changed.append(written if changed is None else changed)


def span_bytes(update: object, console: Console) -> int | None:
    """Bytes of a partial update cropped to its dirty spans, or None for a full update.

    Textual 8 writes each dirty line of a widget from the widget's left edge to the end of the
    dirty span (``ChopsUpdate.render_segments`` crops the end only; Textual issue #5625), so a
    one-column change at column 150 rewrites 150 columns. This is what a span-exact writer
    would send: the changed cells themselves.
    """
    if not isinstance(update, ChopsUpdate):
        return None
    total = 0
    for y, x1, x2 in update.spans:
        for end, (x, strip) in zip(update.chop_ends[y], update.chops[y].items(), strict=False):
            if strip is None or x >= x2 or end <= x1:
                continue
            part = strip.crop(max(x1 - x, 0), min(end, x2) - x)
            move = Control.move_to(max(x, x1), y).segment.text
            total += len(move.encode()) + len(part.render(console).encode())
    return total


async def settle(pilot: Pilot[None]) -> None:
    # Long enough for the screen's update timer (60 Hz) to fire.
    await pilot.pause(0.05)


async def set_zoom(view: TimelineView, pilot: Pilot[None], zoom: str) -> None:
    project = view.project
    assert project is not None
    if zoom == "fit-all":
        view.zoom_to_fit()
    else:
        view.zoom_to(1 if zoom == "1 f/col" else FPS, anchor=0)
        await settle(pilot)
        view.scroll_to(x=project.duration // 2 // view.frames_per_col, animate=False)
    await settle(pilot)


async def bench_timeline(n: int, reps: int, *, strips: bool = False) -> dict[str, dict[str, float]]:
    project = build_project(n)
    if strips:
        project = with_footage(project)
    app = TimelineHost(project)
    rows: dict[str, dict[str, float]] = {}
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(TimelineView)
        if strips:
            view.set_thumbnails(random_filmstrips())
        await settle(pilot)
        width, height = view.scrollable_content_region.size
        region = Region(0, 0, width, height)

        def paint() -> None:
            view.render_lines(region)

        def cold() -> None:
            view.clear_caches()
            view.refresh()

        revisions = Revisions()
        for zoom in ZOOMS:
            await set_zoom(view, pilot, zoom)
            row: dict[str, float] = {}
            row["cold"] = timed(paint, max(5, reps // 3), cold)
            view.stats.reset()
            cold()
            paint()
            full_segments = view.stats.segments_built
            row["warm"] = timed(paint, reps, view.refresh)
            row["edit"] = timed(
                lambda: new_tracks(view, revisions, every=False), max(5, reps // 3), after=paint
            )
            row["open"] = timed(lambda: new_tracks(view, revisions, every=True), 3, after=paint)

            # One-frame playhead move on screen vs a full repaint of the same view.
            vp = view.viewport
            view.set_playhead(vp.frame_of(vp.width_cols // 2), follow=False)
            await settle(pilot)
            app.written.clear()
            view.refresh()
            await settle(pilot)
            full_bytes = sum(app.written)
            app.written.clear()
            app.changed.clear()
            view.stats.reset()
            view.set_playhead(view.playhead + 1, follow=False)
            await settle(pilot)
            row["full_bytes"] = full_bytes
            row["move_bytes"] = sum(app.changed)
            row["move_written"] = sum(app.written)
            row["full_segments"] = full_segments
            row["move_segments"] = view.stats.segments_built
            row["move_lines"] = view.stats.lines
            row["fpc"] = view.frames_per_col
            rows[zoom] = row
    return rows


async def compositor_figures(n: int) -> dict[str, float]:
    """The timeline at 1 s/col through the compositor: full repaint and one zoom step."""
    app = TimelineHost(build_project(n))
    out: dict[str, float] = {}
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(TimelineView)
        await set_zoom(view, pilot, "1 s/col")
        screen = app.screen

        def repaint() -> None:
            screen._compositor.render_update(full=True).render_segments(app.console)  # type: ignore[union-attr]

        out["repaint_warm"] = timed(repaint, 20, view.refresh)

        def zoom_step() -> None:
            view.zoom_to(view.frames_per_col * 2 if view.frames_per_col < 60 else 30)
            screen._refresh_layout()
            repaint()

        out["zoom"] = timed(zoom_step, 10)
    return out


# -- the naive anchor --------------------------------------------------------------------------


class NaiveHost(App[None]):
    """A widget per clip: one Static per clip, one horizontal container per track."""

    CSS = """
    #tracks { overflow-x: auto; overflow-y: auto; }
    .track { height: 2; width: auto; }
    .clip { height: 2; background: $primary-muted; color: $text; }
    """

    def __init__(self, project: Project, fpc: int) -> None:
        super().__init__()
        self.project = project
        self.fpc = fpc

    def compose(self) -> ComposeResult:
        yield ScrollableContainer(id="tracks")

    def clip_widgets(self, track: Track) -> list[Static]:
        widgets, end = [], 0
        for clip in track.clips:
            w = Static(clip.name, classes="clip")
            w.styles.width = max(1, round(clip.duration / self.fpc))
            w.styles.margin = (0, 0, 0, round((clip.start - end) / self.fpc))
            widgets.append(w)
            end = clip.end
        return widgets


async def bench_naive(n: int) -> dict[str, float]:
    project = build_project(n)
    app = NaiveHost(project, FPS)
    out: dict[str, float] = {}
    async with app.run_test(size=SIZE) as pilot:
        container = app.query_one("#tracks")
        rows = [Horizontal(*app.clip_widgets(t), classes="track") for t in project.tracks]
        t0 = time.perf_counter()
        await container.mount_all(rows)
        await settle(pilot)
        out["mount"] = (time.perf_counter() - t0) * 1000
        clips = list(app.query(".clip").results(Static))
        screen = app.screen

        def dirty_all() -> None:
            for w in clips:
                w.refresh()

        def repaint() -> None:
            screen._compositor.render_update(full=True).render_segments(app.console)  # type: ignore[union-attr]

        out["repaint"] = timed(repaint, 10, dirty_all)
        scale = [1.0]

        def zoom_step() -> None:
            scale[0] = 0.5 if scale[0] == 1.0 else 1.0
            for w, clip in zip(clips, (c for t in project.tracks for c in t.clips), strict=True):
                w.styles.width = max(1, round(clip.duration / FPS * scale[0]))
            screen._refresh_layout()
            repaint()

        out["zoom"] = timed(zoom_step, 5)
        out["widgets"] = len(clips)
    return out


# -- report --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument(
        "--textual-writes",
        action="store_true",
        help="measure Textual's own line writes (without the editor's span-exact ones)",
    )
    parser.add_argument(
        "--no-strips", action="store_true", help="skip the case with filmstrips on every clip"
    )
    args = parser.parse_args()
    if not args.textual_writes:
        assert install_span_writes()  # as the editor does (tui/app.py)
    sizes = [int(s) for s in args.sizes.split(",")]

    results = {n: asyncio.run(bench_timeline(n, args.reps)) for n in sizes}
    lo, hi = min(sizes), max(sizes)
    stripped = None if args.no_strips else asyncio.run(bench_timeline(hi, args.reps, strips=True))
    width, height = SIZE
    print(
        f"TimelineView full repaint, {width}x{height} screen, {TRACKS} tracks "
        f"(render_lines over the content region; median ms; budget {FRAME_MS:.1f} ms/frame)\n"
    )
    print(
        f"{'clips':>7} {'zoom':>8} {'f/col':>6} {'cold':>7} {'warm':>7} {'cold/frame':>10} "
        f"{'warm/frame':>10} {'edit':>7} {'open':>7}"
    )
    for n, rows in results.items():
        for zoom, r in rows.items():
            print(
                f"{n:>7,} {zoom:>8} {int(r['fpc']):>6} {r['cold']:>7.2f} {r['warm']:>7.2f} "
                f"{r['cold'] / FRAME_MS:>9.0%} {r['warm'] / FRAME_MS:>10.0%} "
                f"{r['edit']:>7.2f} {r['open']:>7.2f}"
            )

    failures: list[str] = []
    print(f"\nwarm repaint growth from {lo:,} to {hi:,} clips (x{hi // lo}):")
    for zoom in ZOOMS:
        growth = results[hi][zoom]["warm"] / results[lo][zoom]["warm"]
        print(f"  {zoom:>8}: x{growth:.2f}")
        if growth > GROWTH_TARGET and hi >= 10 * lo:
            failures.append(f"warm repaint at {zoom} grows x{growth:.2f} (> x{GROWTH_TARGET})")
    for n, rows in results.items():
        for zoom, r in rows.items():
            if n >= 100_000 and r["warm"] > WARM_TARGET_MS:
                failures.append(f"warm repaint {r['warm']:.2f} ms at {n:,} clips, {zoom}")
            if r["cold"] > FRAME_MS:
                failures.append(f"cold repaint {r['cold']:.2f} ms at {n:,} clips, {zoom}")

    print(f"\none-frame playhead move vs full repaint of the same view ({hi:,} clips):")
    print(
        f"  {'zoom':>8} {'bytes full':>10} {'changed':>8} {'ratio':>6} {'written':>8} "
        f"{'ratio':>6} {'segs full':>9} {'segs move':>9} {'ratio':>6}"
    )
    for zoom, r in results[hi].items():
        byte_ratio = r["move_bytes"] / r["full_bytes"]
        written_ratio = r["move_written"] / r["full_bytes"]
        seg_ratio = r["move_segments"] / max(1, r["full_segments"])
        print(
            f"  {zoom:>8} {int(r['full_bytes']):>10,} {int(r['move_bytes']):>8,} "
            f"{byte_ratio:>6.1%} {int(r['move_written']):>8,} {written_ratio:>6.1%} "
            f"{int(r['full_segments']):>9,} {int(r['move_segments']):>9,} {seg_ratio:>6.1%}"
        )
        if (
            byte_ratio > PLAYHEAD_TARGET
            or seg_ratio > PLAYHEAD_TARGET
            or (written_ratio > PLAYHEAD_TARGET and not args.textual_writes)
        ):
            failures.append(
                f"playhead move at {zoom}: {byte_ratio:.1%} bytes, {seg_ratio:.1%} segments"
            )
    print(
        "  changed: the dirty spans (two columns and the ruler's timecode); written: what\n"
        "  Textual 8 sends for them (each dirty line from the widget's left edge to the span's\n"
        "  end, Textual issue #5625); segs: segments the view built (its strips are cached)."
    )

    if stripped is not None:
        print(
            f"\nfilmstrips on every video media clip ({hi:,} clips, random tile colours, "
            f"video tracks 3 lines tall; median ms):"
        )
        print(
            f"  {'zoom':>8} {'cold':>7} {'warm':>7} {'warm/frame':>10} {'segs full':>9} "
            f"{'bytes full':>10} {'move':>7} {'ratio':>6}"
        )
        for zoom, r in stripped.items():
            ratio = r["move_written"] / r["full_bytes"]
            print(
                f"  {zoom:>8} {r['cold']:>7.2f} {r['warm']:>7.2f} "
                f"{r['warm'] / FRAME_MS:>10.0%} {int(r['full_segments']):>9,} "
                f"{int(r['full_bytes']):>10,} {int(r['move_written']):>7,} {ratio:>6.1%}"
            )
            if hi >= 100_000 and r["warm"] > WARM_TARGET_MS:
                failures.append(f"warm repaint {r['warm']:.2f} ms with filmstrips, {zoom}")
            if r["cold"] > FRAME_MS:
                failures.append(f"cold repaint {r['cold']:.2f} ms with filmstrips, {zoom}")
            if ratio > PLAYHEAD_TARGET and not args.textual_writes:
                failures.append(f"playhead move with filmstrips at {zoom}: {ratio:.1%} bytes")

    anchor_n = lo
    naive = asyncio.run(bench_naive(anchor_n))
    ours = asyncio.run(compositor_figures(anchor_n))
    print(
        f"\nnaive widget-per-clip at {anchor_n:,} clips ({int(naive['widgets']):,} Static "
        f"widgets, 1 s/col) vs TimelineView, through the compositor (ms):"
    )
    print(f"  {'':>22} {'naive':>8} {'timeline':>9} {'ratio':>7}")
    print(f"  {'mount':>22} {naive['mount']:>8.1f} {'-':>9} {'':>7}")
    print(
        f"  {'full repaint':>22} {naive['repaint']:>8.2f} {ours['repaint_warm']:>9.2f} "
        f"{naive['repaint'] / ours['repaint_warm']:>6.1f}x"
    )
    print(
        f"  {'zoom step':>22} {naive['zoom']:>8.2f} {ours['zoom']:>9.2f} "
        f"{naive['zoom'] / ours['zoom']:>6.1f}x"
    )
    if ours["repaint_warm"] > naive["repaint"]:
        failures.append("TimelineView repaints slower than a widget per clip")

    print("\n" + ("FAIL\n  " + "\n  ".join(failures) if failures else "PASS"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
