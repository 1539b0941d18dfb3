"""Timeline edit latency: reelcut's ops against the same edits on OpenTimelineIO tracks.

For timelines of 1k, 10k and 100k clips (half video, half their linked audio), 1,000 random
ops of each kind run on reelcut's engine (``op.apply``: validate, edit, record the inverse) and
the same kind of edit on two in-memory OTIO tracks (video and audio, edited together the way a
pipeline script keeps a linked pair in sync, locating clips with ``child_at_time`` and
``Track.index``). Prints p50/p95 per kind and size, the ratio to OTIO, how p95 grows from 1k
to 100k, and the cost of writing project.json after an edit at 10k clips (kept out of the op's
latency). Exits non-zero when a target fails: p95 <= 1 ms at 10k clips and no worse than OTIO.

reelcut's ops chain on ``result.timeline`` (engine/timeline.py): an op's latency is the edit and
its inverse; building the plain ``Project`` tuples happens in the save, reported with it.

    .venv/bin/python bench/bench_ops.py [--ops 1000] [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import msgspec
import opentimelineio as otio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import ops as O
from engine.model import Asset, Clip, MediaInfo, Project, Track, new_project
from engine.projectdir import ProjectDir
from engine.projectfile import save_project
from engine.timebase import Rate
from engine.timeline import Timeline

KINDS = (
    "insert",
    "overwrite",
    "move",
    "nudge",
    "blade",
    "trim",
    "ripple_trim",
    "roll",
    "slip",
    "slide",
    "lift",
    "ripple_delete",
)
CLIP = 30  # frames per clip; every 7th clip is followed by a 10-frame gap
FPS = 30


# -- reelcut -----------------------------------------------------------------------------


def build_project(n: int) -> Project:
    pairs = n // 2
    media = MediaInfo(format="mp4", size_bytes=1, duration_frames=10**9)
    assets = (
        Asset(id="a_1", kind="video", name="v.mp4", hash="a" * 64, ext="mp4", media=media),
        Asset(id="a_2", kind="audio", name="v.m4a", hash="b" * 64, ext="m4a", media=media),
    )
    video, audio = [], []
    t = 0
    for i in range(pairs):
        vid, aid = f"c_{10 + 2 * i}", f"c_{11 + 2 * i}"
        common = {"kind": "media", "start": t, "duration": CLIP, "source_in": 1000}
        video.append(Clip(id=vid, name=f"v{i}", asset_id="a_1", linked_id=aid, **common))
        audio.append(Clip(id=aid, name=f"a{i}", asset_id="a_2", linked_id=vid, **common))
        t += CLIP + (10 if i % 7 == 0 else 0)
    p = new_project("bench", rate=Rate(FPS))
    return msgspec.structs.replace(
        p,
        assets=assets,
        next_id=10 + 2 * pairs,
        tracks=(
            Track(id="t_1", kind="video", name="V1", clips=tuple(video)),
            Track(id="t_2", kind="audio", name="A1", clips=tuple(audio)),
        ),
    )


def reelcut_op(tl: Timeline, kind: str, rng: random.Random) -> O.Op:
    video = tl.seqs["t_1"]
    c = video[rng.randrange(len(video))]
    end = tl.duration
    if kind == "insert":
        return O.Insert(asset_id="a_1", at=rng.randrange(end), track="V1", duration=20)
    if kind == "overwrite":
        return O.Overwrite(asset_id="a_1", at=rng.randrange(end), track="V1", duration=20)
    if kind == "move":
        return O.Move(clip_ids=(c.id,), to=rng.randrange(end), mode="overwrite")
    if kind == "nudge":
        return O.Nudge(clip_ids=(c.id,), by=rng.choice((-1, 1)))
    if kind == "blade":
        return O.Blade(at=c.start + c.duration // 2, clip_ids=(c.id,))
    if kind == "trim":
        return O.Trim(clip_id=c.id, edge="out", by=-1)
    if kind == "ripple_trim":
        return O.RippleTrim(clip_id=c.id, edge="out", by=-1)
    if kind == "roll":
        return O.Roll(clip_id=c.id, by=-1)
    if kind == "slip":
        return O.Slip(clip_id=c.id, by=rng.choice((-5, 5)))
    if kind == "slide":
        return O.Slide(clip_id=c.id, by=rng.choice((-1, 1)))
    if kind == "lift":
        return O.Lift(clip_ids=(c.id,))
    if kind == "ripple_delete":
        return O.RippleDelete(clip_ids=(c.id,))
    raise ValueError(kind)


def run_reelcut(n: int, kind: str, count: int, seed: int) -> tuple[list[float], int]:
    fresh = Timeline.of(build_project(n))
    tl = fresh
    rng = random.Random(seed)
    times, refused = [], 0
    for _ in range(count):
        if len(tl.seqs["t_1"]) < n // 4:  # lifts and deletes emptied it: start again, untimed
            tl = fresh
        op = reelcut_op(tl, kind, rng)
        t0 = time.perf_counter()
        try:
            result = op.apply(tl)
        except O.OpError:
            refused += 1
            continue
        times.append(time.perf_counter() - t0)
        tl = result.timeline
    return times, refused


# -- OpenTimelineIO ----------------------------------------------------------------------

RT, TR = otio.opentime.RationalTime, otio.opentime.TimeRange


def _rt(frames: int) -> otio.opentime.RationalTime:
    return RT(frames, FPS)


def _clip(name: str, src: int, dur: int) -> otio.schema.Clip:
    return otio.schema.Clip(name=name, source_range=TR(_rt(src), _rt(dur)))


def _gap(dur: int) -> otio.schema.Gap:
    return otio.schema.Gap(source_range=TR(_rt(0), _rt(dur)))


def _dur(item: otio.core.Item) -> int:
    return round(item.source_range.duration.value)


def _src(item: otio.core.Item) -> int:
    return round(item.source_range.start_time.value)


def _set(item: otio.core.Item, src: int, dur: int) -> None:
    item.source_range = TR(_rt(src), _rt(dur))


def build_otio(n: int) -> list[otio.schema.Track]:
    tracks = []
    for kind in ("v", "a"):
        track = otio.schema.Track(kind="Video" if kind == "v" else "Audio")
        for i in range(n // 2):
            track.append(_clip(f"{kind}{i}", 1000, CLIP))
            if i % 7 == 0:
                track.append(_gap(10))
        tracks.append(track)
    return tracks


def _split(track: otio.schema.Track, frame: int) -> int:
    """Cut the item under ``frame`` so an item starts there; return that item's index."""
    if frame >= round(track.duration().value):
        track.append(_gap(frame - round(track.duration().value)))
        return len(track)
    item = track.child_at_time(_rt(frame))
    idx = track.index(item)
    start = round(track.range_of_child_at_index(idx).start_time.value)
    if frame == start:
        return idx
    k = frame - start
    right = _gap(_dur(item) - k) if isinstance(item, otio.schema.Gap) else None
    if right is None:
        right = _clip(item.name + "'", _src(item) + k, _dur(item) - k)
    _set(item, _src(item), k)
    track.insert(idx + 1, right)
    return idx + 1


def _widen_gap_after(track: otio.schema.Track, idx: int, frames: int) -> None:
    if idx + 1 < len(track) and isinstance(track[idx + 1], otio.schema.Gap):
        g = track[idx + 1]
        _set(g, 0, _dur(g) + frames)
    elif frames > 0:
        track.insert(idx + 1, _gap(frames))


def otio_edit(tracks: list[otio.schema.Track], kind: str, rng: random.Random) -> None:
    v = tracks[0]
    end = round(v.duration().value)
    # A clip picked the way reelcut's side picks one; located by reference (Track.index).
    while True:
        picked = v[rng.randrange(len(v))]
        if isinstance(picked, otio.schema.Clip):
            break
    if kind in ("insert", "overwrite", "move"):
        at, dur = rng.randrange(end), 20
        if kind == "move":
            dur = _dur(picked)
            i = v.index(picked)
            for t in tracks:
                t[i] = _gap(dur)
        for t in tracks:
            i = _split(t, at)
            if kind != "insert":
                j = _split(t, at + dur)
                del t[i:j]
            t.insert(i, _clip("new", 0, dur))
        return
    i = v.index(picked)
    for t in tracks:
        item = t[i]
        if kind == "blade":
            k = _dur(item) // 2
            right = _clip(item.name + "'", _src(item) + k, _dur(item) - k)
            _set(item, _src(item), k)
            t.insert(i + 1, right)
        elif kind == "trim":
            _set(item, _src(item), _dur(item) - 1)
            _widen_gap_after(t, i, 1)
        elif kind == "ripple_trim":
            _set(item, _src(item), _dur(item) - 1)
        elif kind == "roll" and i + 1 < len(t):
            nxt = t[i + 1]
            _set(item, _src(item), _dur(item) - 1)
            _set(nxt, max(_src(nxt) - 1, 0), _dur(nxt) + 1)
        elif kind == "slip":
            _set(item, _src(item) + rng.choice((-5, 5)), _dur(item))
        elif kind in ("slide", "nudge") and 0 < i < len(t) - 1:
            by = rng.choice((-1, 1))
            prev, nxt = t[i - 1], t[i + 1]
            if _dur(prev) + by > 0 and _dur(nxt) - by > 0:
                _set(prev, _src(prev), _dur(prev) + by)
                _set(nxt, _src(nxt) + by, _dur(nxt) - by)
        elif kind == "lift":
            t[i] = _gap(_dur(item))
        elif kind == "ripple_delete":
            del t[i]


def run_otio(n: int, kind: str, count: int, seed: int) -> list[float]:
    tracks = build_otio(n)
    rng = random.Random(seed)
    times = []
    for _ in range(count):
        if sum(isinstance(x, otio.schema.Clip) for x in tracks[0]) < n // 4:
            tracks = build_otio(n)  # emptied by lifts and deletes: start again, untimed
        t0 = time.perf_counter()
        otio_edit(tracks, kind, rng)
        times.append(time.perf_counter() - t0)
    return times


# -- report ------------------------------------------------------------------------------


def pct(times: list[float], q: float) -> float:
    s = sorted(times)
    return s[min(int(len(s) * q), len(s) - 1)] * 1e3


def save_cost(n: int, runs: int = 7) -> tuple[float, float]:
    """Median ms to encode + atomically write project.json after one edit, and to encode only."""
    p = build_project(n)
    op = O.Slip(clip_id=p.tracks[0].clips[len(p.tracks[0].clips) // 2].id, by=3)
    with tempfile.TemporaryDirectory() as tmp:
        ProjectDir.create(Path(tmp) / "p", p)
        writes, encodes = [], []
        for _ in range(runs):
            p = op.apply(p).project
            t0 = time.perf_counter()
            save_project(Path(tmp) / "p", p)
            writes.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            msgspec.json.encode(p)
            encodes.append(time.perf_counter() - t0)
    return statistics.median(writes) * 1e3, statistics.median(encodes) * 1e3


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, default=1000)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument(
        "--anchor-ops-100k",
        type=int,
        default=100,
        help="OTIO edits at 100k clips and more (each takes ~50-300 ms; p95 is stable by 100)",
    )
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = args.kinds.split(",")
    failures: list[str] = []
    p95: dict[tuple[str, int], float] = {}
    print(
        f"{'op':14} {'clips':>7} {'p50 ms':>8} {'p95 ms':>8} {'otio p95':>9} {'ratio':>6} refused"
    )
    for kind in kinds:
        for n in sizes:
            ours, refused = run_reelcut(n, kind, args.ops, seed=n)
            anchor_ops = args.ops if n < 100_000 else min(args.ops, args.anchor_ops_100k)
            theirs = run_otio(n, kind, anchor_ops, seed=n)
            p95[kind, n] = pct(ours, 0.95)
            ratio = p95[kind, n] / pct(theirs, 0.95)
            print(
                f"{kind:14} {n:>7} {pct(ours, 0.5):8.3f} {p95[kind, n]:8.3f} "
                f"{pct(theirs, 0.95):9.3f} {ratio:6.2f} {refused}"
            )
            if n == 10_000 and p95[kind, n] > 1.0:
                failures.append(f"{kind}: p95 {p95[kind, n]:.3f} ms at 10k clips (target 1 ms)")
            if ratio > 1.0:
                failures.append(f"{kind}: p95 {ratio:.2f}x OTIO at {n} clips")
    if len(sizes) > 1:
        print("\ngrowth of p95 from the smallest to the largest timeline:")
        lo, hi = sizes[0], sizes[-1]
        for kind in kinds:
            g = p95[kind, hi] / p95[kind, lo]
            print(f"  {kind:14} x{g:6.1f} for x{hi // lo} clips")
    if 10_000 in sizes:
        write, encode = save_cost(10_000)
        print(
            f"\nproject.json after an edit at 10k clips: write {write:.1f} ms "
            f"(encode alone {encode:.1f} ms), outside the op's latency"
        )
    print("\n" + ("FAIL\n  " + "\n  ".join(failures) if failures else "PASS"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
