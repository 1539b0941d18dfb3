"""Benchmark: `reelcut export` of a 2-minute 1080p timeline against one hand-written ffmpeg
command for the same result; the chunked path beside it; the lossless path against
``ffmpeg -c copy`` on the same cut list.

The timeline: two generated 2-minute 1920x1080 30 fps sources (H.264 + AAC, a keyframe every
2 s), 21 clips alternating between them on V1 with their linked sound on A1 (20 cuts, every
in-point on a keyframe), and a title on V2 over the first 5 seconds. 3,600 frames.

anchor   = one ffmpeg command a person would write: each clip's source opened with an input seek
           (``-ss``/``-t``), the 21 pieces concatenated (``concat`` filter, picture and sound), the
           title drawn with ``drawtext`` (same font, size, colour, place), encoded with the same
           settings as the h264 preset (libx264 medium CRF 18, AAC 192k).
measured = ``reelcut export DIR OUT.mp4`` (the real command: the door, the job queue, the graph);
           then ``--chunks 2`` with the runner's two chunk workers, reported beside it.
lossless = ``reelcut export DIR OUT.mp4 --lossless`` of the same cuts without the title, against
           ``ffmpeg -f concat -i LIST -c copy`` with the same cut list (``inpoint``/``outpoint``).

Runs alternate (anchor, reelcut, chunked, anchor, ...); medians of the wall times are compared,
and the CPU times (user + system of every process) and the load average at each step's start
are printed beside them: on a shared machine the wall time moves with other people's load.
Every output is checked to hold 3,600 frames, and the picture of reelcut's output against the
anchor's (PSNR). PASS when reelcut / anchor <= TARGET_RATIO; exits 1 on FAIL.

``--graph`` also times the two filter graphs alone, decoding and compositing into ffmpeg's null
muxer (no encode): the hand-written command's against the one `engine.export.graph.plan` builds
for the same timeline, the part of the time that is reelcut's own.

    .venv/bin/python bench/bench_export.py [--runs 1] [--lossless-only] [--graph]

The sources are generated once and cached in ``bench/.cache`` (gitignored).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.export.fontmetrics import line_box  # noqa: E402
from engine.export.graph import font_file, plan  # noqa: E402
from engine.export.presets import PRESETS  # noqa: E402
from engine.media.importer import import_files  # noqa: E402
from engine.model import new_project  # noqa: E402
from engine.ops import AddText, AddTrack, Overwrite  # noqa: E402
from engine.projectdir import ProjectDir  # noqa: E402
from engine.session import Session  # noqa: E402
from engine.timebase import Rate  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
REELCUT = str(Path(sys.executable).with_name("reelcut"))
SECONDS = 120
FRAMES = SECONDS * 30
CLIPS = 21
TITLE = "reelcut export benchmark"
TITLE_FRAMES = 150
TARGET_RATIO = 1.15
PATTERNS = {"export-a-2min-1080p.mp4": "testsrc2", "export-b-2min-1080p.mp4": "testsrc"}


def make_sources() -> list[Path]:
    """Two 2-minute 1080p30 H.264 + AAC files, keyframes every 60 frames, cached."""
    CACHE.mkdir(parents=True, exist_ok=True)
    paths = []
    for (name, pattern), tone in zip(PATTERNS.items(), (440, 660), strict=True):
        path = CACHE / name
        if not path.exists():
            print(f"generating {name} (once) ...", flush=True)
            tmp = path.with_suffix(".part.mp4")
            subprocess.run(
                ["ffmpeg", "-v", "error", "-y",
                 "-f", "lavfi", "-i", f"{pattern}=s=1920x1080:r=30:d={SECONDS}",
                 "-f", "lavfi", "-i", f"sine=f={tone}:r=48000:d={SECONDS}", "-ac", "2",
                 "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "6M", "-g", "60",
                 "-keyint_min", "60", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
                 "-c:a", "aac", "-b:a", "128k", "-shortest", str(tmp)],
                check=True,
            )  # fmt: skip
            tmp.rename(path)
        paths.append(path)
    return paths


def cut_list() -> list[tuple[int, int, int]]:
    """(source, in-point, frames) for each clip: in-points on keyframes, 3,600 frames in all."""
    cuts = []
    for i in range(CLIPS):
        frames = FRAMES * (i + 1) // CLIPS - FRAMES * i // CLIPS
        cuts.append((i % 2, ((i * 23) % 55) * 60, frames))
    return cuts


def make_project(root: Path, sources: list[Path], *, title: bool) -> None:
    ProjectDir.create(root, new_project("bench", rate=Rate(30), width=1920, height=1080))
    pd = ProjectDir(root)
    with pd.writer("bench"):
        project, results = import_files(pd, pd.load(), sources, place=False)
        pd.save(project)
    ids = [r.assets[0] for r in results]
    with Session(root) as session:
        at = 0
        for source, source_in, frames in cut_list():
            session.apply(
                Overwrite(asset_id=ids[source], at=at, track="V1", source_in=source_in,
                          duration=frames)
            )  # fmt: skip
            at += frames
        if title:
            session.apply(AddTrack(kind="video", name="V2", index=0))
            session.apply(AddText(text=TITLE, at=0, duration=TITLE_FRAMES, track="V2", size=96))


def hand_written(sources: list[Path], work: Path, out: Path) -> list[str]:
    """The one ffmpeg command a person would write for the same file."""
    args = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
    for source, source_in, frames in cut_list():
        args += ["-ss", f"{source_in / 30:.6f}", "-t", f"{frames / 30:.6f}"]
        args += ["-i", str(sources[source])]
    pieces = "".join(f"[{i}:v:0][{i}:a:0]" for i in range(CLIPS))
    text = work / "title.txt"
    text.write_text(TITLE, encoding="utf-8")
    # The title where the page puts it: its baseline in a CSS line box (padding 0.2em) centred
    # in the frame; ``(h-th)/2`` would centre the glyphs' own box, a few pixels off that.
    font = font_file("sans-serif")
    box, pad = line_box(font, 96), 96 * 0.2
    y = f"(h-{box.height + 2 * pad:g})/2+{pad + box.baseline:g}-ascent"
    draw = (
        f"drawtext=fontfile='{font}':textfile='{text}':expansion=none:"
        f"fontsize=96:fontcolor=#ffffff:x=(w-tw)/2:y={y}:"
        f"enable='lt(n,{TITLE_FRAMES})'"
    )
    graph = f"{pieces}concat=n={CLIPS}:v=1:a=1[v][a];[v]{draw},format=yuv420p[vout]"
    args += ["-filter_complex", graph, "-map", "[vout]", "-map", "[a]"]
    args += ["-c:v", "libx264", "-preset", "medium", "-crf", "18", "-profile:v", "high"]
    args += ["-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart", str(out)]
    return args


def copy_list(sources: list[Path], work: Path) -> Path:
    """The same cut list for the concat demuxer (``-c copy``)."""
    lines = []
    for source, source_in, frames in cut_list():
        lines += [
            f"file '{sources[source]}'",
            f"inpoint {source_in / 30:.6f}",
            f"outpoint {(source_in + frames) / 30:.6f}",
        ]
    path = work / "cuts.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


CPU: dict[str, list[float]] = {}
"""CPU seconds (user + system, the command and every process it waited for) per step: on a
shared machine the wall time moves with other people's load, the CPU time much less."""


LOAD: dict[str, list[float]] = {}
"""The 1-minute load average when each step started."""


def timed(args: list[str], name: str = "") -> float:
    LOAD.setdefault(name, []).append(os.getloadavg()[0])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(args, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    CPU.setdefault(name, []).append(used)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])} ... failed: {res.stderr.strip()[-400:]}")
    return elapsed


def frames_of(path: Path) -> int:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
         "-show_entries", "stream=nb_read_packets", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(json.loads(out.stdout)["streams"][0]["nb_read_packets"])


def psnr(a: Path, b: Path) -> str:
    out = subprocess.run(
        ["ffmpeg", "-nostdin", "-i", str(a), "-i", str(b), "-lavfi", "[0:v][1:v]psnr",
         "-f", "null", "-"],
        capture_output=True, text=True,
    )  # fmt: skip
    found = re.search(r"average:(\S+)", out.stderr)
    return found.group(1) if found else "?"


def graphs(sources: list[Path], root: Path, work: Path, runs: int) -> None:
    """The hand-written graph and reelcut's, each decoded and composited into the null
    muxer, alternating; CPU seconds compared (the wall times move with the machine's load)."""
    project = ProjectDir(root).load()
    job = plan(root, project, PRESETS["h264"], 0, project.duration, work)
    for name, text in job.text_files.items():
        (work / name).write_text(text, encoding="utf-8")
    anchor = hand_written(sources, work, work / "unused.mp4")
    null = ["-f", "null", "-"]
    steps = {
        "anchor graph": anchor[: anchor.index("-c:v")] + null,
        "reelcut graph": ["ffmpeg", *job.args, *null],
    }
    for _ in range(runs):
        for name, command in steps.items():
            wall = timed(command, name)
            print(f"  {name}: {wall:.1f} s, CPU {CPU[name][-1]:.1f} s", flush=True)
    a, r = (statistics.median(CPU[k]) for k in steps)
    print(f"graphs alone (null muxer): CPU {r:.1f} s against {a:.1f} s, {r / a:.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--lossless-only", action="store_true", help="only the lossless path against -c copy"
    )
    parser.add_argument(
        "--graph", action="store_true", help="also time the filter graphs alone (no encode)"
    )
    args = parser.parse_args()
    sources = make_sources()
    with tempfile.TemporaryDirectory(dir=CACHE, prefix="run-") as tmp:
        work = Path(tmp)
        titled, plain = work / "titled", work / "plain"
        make_project(titled, sources, title=True)
        make_project(plain, sources, title=False)
        runs: dict[str, list[float]] = {k: [] for k in ("anchor", "reelcut", "chunked")}
        outs = {k: work / f"{k}.mp4" for k in runs}
        steps = {
            "anchor": hand_written(sources, work, outs["anchor"]),
            "reelcut": [REELCUT, "export", str(titled), str(outs["reelcut"]), "--force"],
            "chunked": [
                REELCUT, "export", str(titled), str(outs["chunked"]), "--chunks", "2", "--force"
            ],
        }  # fmt: skip
        if args.lossless_only:
            steps = {}
        if args.graph:
            graphs(sources, titled, work, max(3, args.runs))
        for _ in range(args.runs):
            for name, command in steps.items():
                runs[name].append(timed(command, name))
                print(
                    f"  {name}: {runs[name][-1]:.1f} s, CPU {CPU[name][-1]:.1f} s, "
                    f"load {LOAD[name][-1]:.1f}",
                    flush=True,
                )
        copies: dict[str, list[float]] = {"ffmpeg -c copy": [], "reelcut --lossless": []}
        listing = copy_list(sources, work)
        copy_out, lossless_out = work / "copy.mp4", work / "lossless.mp4"
        copy_steps = {
            "ffmpeg -c copy": ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "concat",
                               "-safe", "0", "-i", str(listing), "-c", "copy", str(copy_out)],
            "reelcut --lossless": [REELCUT, "export", str(plain), str(lossless_out),
                                   "--lossless", "--force"],
        }  # fmt: skip
        for _ in range(max(3, args.runs)):
            for name, command in copy_steps.items():
                copies[name].append(timed(command, name))
        made = {k: p for k, p in outs.items() if k in steps}
        counts = {k: frames_of(p) for k, p in {**made, "lossless": lossless_out}.items()}
        counts["ffmpeg -c copy"] = frames_of(copy_out)
        if steps:
            quality = psnr(outs["reelcut"], outs["anchor"])
            quality_chunked = psnr(outs["chunked"], outs["reelcut"])
        shutil.rmtree(titled)
        shutil.rmtree(plain)
    ca, cl = (statistics.median(copies[k]) for k in copies)
    copied = f"lossless: ffmpeg -c copy median {ca:.2f} s, reelcut --lossless {cl:.2f} s"
    if not steps:
        for name, values in copies.items():
            print(f"  {name:<19} " + "  ".join(f"{v:7.2f}" for v in values) + "  s")
        print(f"frames: {counts} (want {FRAMES} each)")
        print(copied)
        return 0 if all(n == FRAMES for n in counts.values()) else 1
    a, r, c = (statistics.median(runs[k]) for k in ("anchor", "reelcut", "chunked"))
    ratio = r / a
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(f"timeline: {CLIPS} clips (20 cuts) from two 2-minute 1080p30 sources + a title")
    for name, values in {**runs, **copies}.items():
        print(f"  {name:<19} " + "  ".join(f"{v:7.2f}" for v in values) + "  s")
    print(f"frames: {counts} (want {FRAMES} each)")
    print(f"PSNR reelcut vs hand-written: {quality} dB; chunked vs single pass: {quality_chunked}")
    print(f"hand-written ffmpeg: median {a:.1f} s")
    print(f"reelcut export: median {r:.1f} s, ratio {ratio:.2f} (target <= {TARGET_RATIO})")
    print(f"reelcut export --chunks 2 (2 workers): median {c:.1f} s, {c / a:.2f}x the anchor")
    cpu = {k: statistics.median(v) for k, v in CPU.items()}
    print(
        "CPU seconds (medians): "
        + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
        + f"; reelcut / anchor {cpu['reelcut'] / cpu['anchor']:.2f}"
    )
    print(
        "load average at each step's start: "
        + "; ".join(f"{k} " + " ".join(f"{v:.1f}" for v in vs) for k, vs in LOAD.items())
        + f" ({os.cpu_count()} cores)"
    )
    print(copied)
    print(verdict)
    bad = [k for k, n in counts.items() if n != FRAMES]
    if bad:
        print(f"wrong frame count: {bad}")
        return 1
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
