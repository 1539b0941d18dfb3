"""Loading and saving a 10,000-clip project, against the standard library's json as the anchor.

Run: ``.venv/bin/python bench/bench_store.py [--runs N] [--clips N]``

Targets (exit status 1 if one fails):

- loading an untrusted project.json (parse, type-check, duplicate-key scan, invariants) takes at
  most 1.5x ``json.loads`` of the same bytes, which only parses;
- an atomic save (encode, write, fsync, rename, fsync the folder, record the hash) takes at most
  150 ms, median.

Everything is measured in this run on this machine; the ratios are what to compare across runs.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import projectfile as store
from engine.model import (
    SCHEMA_VERSION,
    Asset,
    Clip,
    EditorState,
    Folder,
    Marker,
    MediaInfo,
    Project,
    TextProps,
    Track,
    Transform,
)
from engine.projectfile import decode_project, encode_project, save_project
from engine.timebase import Rate
from engine.validate import problems

LOAD_TARGET = 1.5
SAVE_TARGET_MS = 150.0
RATE = Rate(30000, 1001)
MEDIA_FRAMES = 20_000


def build_project(clips: int) -> Project:
    """A realistic large edit: V1/A1 linked interview cuts (60%), V2 titles and stills with
    transforms (20%), A2 music beds (20%); 150 assets in folders; markers and a selection."""
    n = 1

    def next_id(prefix: str) -> str:
        nonlocal n
        n += 1
        return f"{prefix}_{n}"

    def sha(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    folders = tuple(Folder(id=next_id("f"), name=f"Day {i + 1}") for i in range(5))
    videos, audios, music, stills = [], [], [], []
    for i in range(60):
        v = Asset(
            id=next_id("a"),
            kind="video",
            name=f"Interview {i:02d}",
            hash=sha(f"video {i}"),
            ext="mp4",
            folder_id=folders[i % 5].id,
            source_name=f"C{i:04d}.MP4",
            media=MediaInfo(
                format="mov,mp4,m4a,3gp,3g2,mj2",
                size_bytes=1_500_000_000 + i,
                duration_us=667_333_333,
                duration_frames=MEDIA_FRAMES,
                rate=RATE,
                width=3840,
                height=2160,
                video_codec="h264",
                audio_codec="aac",
                audio_channels=2,
                audio_rate=48000,
            ),
        )
        a = Asset(
            id=next_id("a"),
            kind="audio",
            name=f"Interview {i:02d} (audio)",
            hash=sha(f"audio {i}"),
            ext="m4a",
            folder_id=v.folder_id,
            derived_from=v.id,
            media=MediaInfo(
                format="ipod",
                size_bytes=10_000_000,
                duration_us=667_333_333,
                duration_frames=MEDIA_FRAMES,
                audio_codec="aac",
                audio_channels=2,
                audio_rate=48000,
            ),
        )
        videos.append(v)
        audios.append(a)
    for i in range(20):
        music.append(
            Asset(
                id=next_id("a"),
                kind="audio",
                name=f"Music bed {i}",
                hash=sha(f"music {i}"),
                ext="mp3",
                media=MediaInfo(
                    format="mp3",
                    size_bytes=8_000_000,
                    duration_us=667_333_333,
                    duration_frames=MEDIA_FRAMES,
                    audio_codec="mp3",
                    audio_channels=2,
                    audio_rate=44100,
                ),
            )
        )
    for i in range(10):
        stills.append(
            Asset(
                id=next_id("a"),
                kind="image",
                name=f"Still {i}",
                hash=sha(f"still {i}"),
                ext="png",
                media=MediaInfo(format="png_pipe", size_bytes=400_000, width=1920, height=1080),
            )
        )

    pairs = clips * 3 // 10
    overlays = clips // 5
    beds = clips - 2 * pairs - overlays
    v1, a1, v2, a2 = [], [], [], []
    start = 0
    for i in range(pairs):
        duration = 30 + (i * 37) % 90
        vid, aid = next_id("c"), next_id("c")
        source_in = (i * 101) % (MEDIA_FRAMES - 200)
        v1.append(
            Clip(
                id=vid,
                kind="media",
                name=f"Take {i}",
                start=start,
                duration=duration,
                source_in=source_in,
                asset_id=videos[i % 60].id,
                linked_id=aid,
            )
        )
        a1.append(
            Clip(
                id=aid,
                kind="media",
                name=f"Take {i} (audio)",
                start=start,
                duration=duration,
                source_in=source_in,
                asset_id=audios[i % 60].id,
                linked_id=vid,
            )
        )
        start += duration + (i % 3)
    for i in range(overlays):
        transform = Transform(x=40.0 * (i % 5), y=-20.5, scale=0.5, opacity=0.9)
        if i % 2:
            clip = Clip(
                id=next_id("c"),
                kind="text",
                name=f"Lower third {i}",
                start=i * 60,
                duration=45,
                transform=transform,
                text=TextProps(text=f"Speaker {i}\nTitle", size=48, background="#00000080"),
            )
        else:
            clip = Clip(
                id=next_id("c"),
                kind="media",
                name=f"Still {i}",
                start=i * 60,
                duration=45,
                asset_id=stills[i % 10].id,
                transform=transform,
            )
        v2.append(clip)
    for i in range(beds):
        a2.append(
            Clip(
                id=next_id("c"),
                kind="media",
                name=f"Music {i}",
                start=i * 120,
                duration=110,
                source_in=i % 1000,
                asset_id=music[i % 20].id,
            )
        )
    tracks = (
        Track(id=next_id("t"), kind="video", name="V2", clips=tuple(v2)),
        Track(id=next_id("t"), kind="video", name="V1", clips=tuple(v1)),
        Track(id=next_id("t"), kind="audio", name="A1", clips=tuple(a1)),
        Track(id=next_id("t"), kind="audio", name="A2", clips=tuple(a2)),
    )
    markers = tuple(Marker(id=next_id("m"), frame=i * 900, name=f"Scene {i}") for i in range(100))
    return Project(
        schema_version=SCHEMA_VERSION,
        id="p_1",
        name="Benchmark",
        rate=RATE,
        next_id=n + 1,
        assets=(*videos, *audios, *music, *stills),
        folders=folders,
        tracks=tracks,
        markers=markers,
        editor=EditorState(playhead=12_345, selection=(v1[10].id, a1[10].id)),
    )


def median_ms(fns: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Median milliseconds of each function. Runs are interleaved (one call of each per round),
    so a burst of load on the machine slows the anchor as much as what it anchors."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            gc.collect()
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) * 1000 for name, ts in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--clips", type=int, default=10_000)
    args = parser.parse_args()

    project = build_project(args.clips)
    assert problems(project) == [], problems(project)[:3]
    data = encode_project(project)
    assert decode_project(data) == project
    clip_count = sum(len(t.clips) for t in project.tracks)
    print(
        f"{clip_count} clips, {len(project.assets)} assets, {len(data) / 1e6:.1f} MB, "
        f"median of {args.runs} runs\n"
    )

    compact = store._compact(data)
    assert compact is not None
    typed = store._decoder.decode(compact)
    # The fixtures above are long-lived: keep the collector from rescanning them in every timed
    # call, so each figure is the operation's own cost (the anchor's too).
    gc.collect()
    gc.freeze()
    loads = median_ms(
        {
            "anchor": lambda: json.loads(data),
            "untrusted": lambda: decode_project(data, trusted=False),
            "trusted": lambda: decode_project(data, trusted=True),
            # The steps of the untrusted load, one by one.
            "compact (drop whitespace)": lambda: store._compact(data),
            "typed decode (msgspec)": lambda: store._decoder.decode(compact),
            "duplicate-key check": lambda: store._check_duplicate_keys(
                data, compact, typed, "project.json"
            ),
            "invariants (validate)": lambda: problems(typed),
        },
        args.runs,
    )
    anchor_load, load, trusted = loads.pop("anchor"), loads.pop("untrusted"), loads.pop("trusted")
    parts = loads
    # Only now: a parsed copy kept alive would slow every collection during the loads above.
    doc = json.loads(data)
    dumps = median_ms(
        {
            "anchor": lambda: json.dumps(doc, indent=2, ensure_ascii=False),
            "encode": lambda: encode_project(project),
        },
        args.runs,
    )
    anchor_dump, encode = dumps["anchor"], dumps["encode"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        save_project(root, project)
        save = median_ms({"save": lambda: save_project(root, project)}, args.runs)["save"]

    rows = [
        ("json.loads (anchor)", anchor_load, 1.0, ""),
        ("load, untrusted file", load, load / anchor_load, f"<= {LOAD_TARGET}x"),
        ("load, reelcut's own file", trusted, trusted / anchor_load, ""),
        *((f"  {name}", ms, ms / anchor_load, "") for name, ms in parts.items()),
        ("json.dumps indent=2 (anchor)", anchor_dump, 1.0, ""),
        ("encode_project", encode, encode / anchor_dump, ""),
        ("atomic save", save, None, f"<= {SAVE_TARGET_MS:.0f} ms"),
    ]
    load_ok = load / anchor_load <= LOAD_TARGET
    save_ok = save <= SAVE_TARGET_MS
    verdict = {"load, untrusted file": load_ok, "atomic save": save_ok}
    print(f"{'measure':<30} {'ms':>8} {'ratio':>7}  target")
    for name, ms, ratio, target in rows:
        shown = f"{ratio:.2f}x" if ratio is not None else ""
        result = ("PASS" if verdict[name] else "FAIL") if name in verdict else ""
        print(f"{name:<30} {ms:>8.1f} {shown:>7}  {target} {result}".rstrip())
    return 0 if load_ok and save_ok else 1


if __name__ == "__main__":
    sys.exit(main())
