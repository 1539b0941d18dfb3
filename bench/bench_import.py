"""Benchmark: importing a 2-minute 1080p h264+aac mp4, against the work it cannot avoid.

anchor   = ``sha256sum FILE`` + ``ffmpeg -i FILE -vn -c:a copy out.m4a`` + ``cp FILE dest``, each a
           subprocess: hash the bytes, copy them, demux the audio.
measured = ``import_files`` of the same file into a fresh empty project (probe, hashed copy with
           fsync, audio demux, placement on the timeline).

Runs are interleaved (anchor, import, anchor, import, ...) with a fresh project per run; the
medians are compared. PASS when import / anchor <= TARGET_RATIO; exits 1 on FAIL.

    .venv/bin/python bench/bench_import.py [--runs 5] [--profile]

The source file is generated once and cached in ``bench/.cache`` (gitignored).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.media.importer import import_files  # noqa: E402
from engine.model import new_project  # noqa: E402
from engine.projectdir import ProjectDir  # noqa: E402
from engine.timebase import Rate  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
SOURCE = CACHE / "import-2min-1080p.mp4"
SECONDS = 120
TARGET_RATIO = 1.2


def make_source() -> Path:
    """The 2-minute 1920x1080 30 fps h264 + 48 kHz stereo aac file (tens of MB), cached."""
    if SOURCE.exists():
        return SOURCE
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = SOURCE.with_suffix(".part.mp4")
    print(f"generating {SOURCE.name} (once) ...", flush=True)
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=s=1920x1080:r=30:d={SECONDS}",
            "-f",
            "lavfi",
            "-i",
            f"sine=f=440:r=48000:d={SECONDS}",
            "-ac",
            "2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-b:v",
            "3M",
            "-maxrate",
            "3M",
            "-bufsize",
            "6M",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-shortest",
            str(tmp),
        ],
        check=True,
    )
    tmp.rename(SOURCE)
    return SOURCE


def anchor(src: Path, work: Path) -> float:
    """Seconds for the irreducible work: hash, demux the audio, copy the bytes."""
    out = work / "anchor"
    out.mkdir()
    t0 = time.perf_counter()
    subprocess.run(["sha256sum", str(src)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-vn", "-c:a", "copy", str(out / "a.m4a")],
        check=True,
    )
    subprocess.run(["cp", str(src), str(out / src.name)], check=True)
    elapsed = time.perf_counter() - t0
    shutil.rmtree(out)
    return elapsed


def measured(src: Path, work: Path) -> float:
    """Seconds for import_files of ``src`` into a fresh empty project, with placement."""
    pd = ProjectDir.create(work / "project", new_project("bench", rate=Rate(30), width=1920))
    project = pd.load()
    t0 = time.perf_counter()
    project, results = import_files(pd, project, [src])
    elapsed = time.perf_counter() - t0
    if results[0].error or len(results[0].clips) != 2:
        raise SystemExit(f"import failed: {results[0]}")
    shutil.rmtree(pd.root)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile one import and stop")
    args = parser.parse_args()
    src = make_source()
    size_mb = src.stat().st_size / 1e6
    with tempfile.TemporaryDirectory(dir=CACHE, prefix="run-") as tmp:
        work = Path(tmp)
        if args.profile:
            prof = cProfile.Profile()
            prof.runcall(measured, src, work)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
            return 0
        # One untimed pass of each warms the page cache so neither side pays for the first read.
        anchor(src, work)
        measured(src, work)
        runs: dict[str, list[float]] = {"anchor": [], "import": []}
        steps: list[tuple[str, Callable[[Path, Path], float]]] = [
            ("anchor", anchor),
            ("import", measured),
        ]
        for _ in range(args.runs):
            for name, fn in steps:
                runs[name].append(fn(src, work))
    a = statistics.median(runs["anchor"]) * 1000
    m = statistics.median(runs["import"]) * 1000
    ratio = m / a
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(f"source: {src.name}, {size_mb:.1f} MB, {SECONDS} s 1920x1080 h264 + aac")
    for name, values in runs.items():
        print(f"  {name:<7} " + "  ".join(f"{v * 1000:7.0f}" for v in values) + "  ms")
    print(f"anchor (sha256sum + ffmpeg -c:a copy + cp): median {a:.0f} ms")
    print(f"import_files (probe, hash+copy+fsync, demux, place): median {m:.0f} ms")
    print(f"ratio {ratio:.2f} (target <= {TARGET_RATIO}): {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
