"""`reelcut transcript DIR` and `reelcut captions DIR OUT`: the timeline's words as text.

``transcript`` prints the words under the timeline, clip by clip (the view a person edits);
with ``--cut FILE`` it reads that view back with words deleted and proposes one changeset that
cuts them from the timeline (``--apply`` applies it; ``reelcut changes DIR show N`` reviews
it, ``revert N`` undoes it). ``--fillers`` and ``--pauses-over MS`` cut filler words and
shorten long pauses. ``captions --place`` puts the timeline's words on the captions track as
text clips (one undoable edit; made again, it replaces them); ``captions DIR OUT`` writes
.srt or .vtt: the caption clips when there are any, else the words grouped the same way.
(`reelcut import DIR FILE.srt` makes caption clips from a file.) Both go through the
project's door (the editor's, when it is open).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engine.errors import ReelcutError, UsageError
from engine.projectdir import ProjectDir


class CutRefused(ReelcutError):
    exit_code = 12


def add_transcript_parsers(sub: Any) -> None:
    p = sub.add_parser("transcript", help="the timeline's words; cut words to cut the video")
    p.add_argument("dir", type=Path)
    p.add_argument("--cut", type=Path, metavar="FILE", help="the view with words deleted")
    p.add_argument("--fillers", action="store_true", help="cut filler words (um, uh, er...)")
    p.add_argument("--pauses-over", type=int, metavar="MS", help="shorten longer pauses to MS")
    p.add_argument("--apply", action="store_true", help="apply the changeset at once")
    p.add_argument("--json", action="store_true", help="print JSON")
    c = sub.add_parser("captions", help="caption clips of the timeline's words; .srt or .vtt")
    c.add_argument("dir", type=Path)
    c.add_argument("out", type=Path, nargs="?", help="OUT.srt or OUT.vtt")
    c.add_argument("--place", action="store_true", help="put them on the captions track")
    c.add_argument("--force", action="store_true", help="replace OUT if it exists")
    c.add_argument("--json", action="store_true", help="print JSON")


def cmd_transcript(args: argparse.Namespace) -> int:
    from engine.door import door

    ProjectDir(args.dir).load()
    arguments: dict[str, Any] = {}
    if args.cut is not None:
        try:
            arguments["view"] = Path(args.cut).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--cut {args.cut}: cannot be read as UTF-8 text ({exc})") from None
    if args.fillers:
        arguments["fillers"] = True
    if args.pauses_over is not None:
        if not 100 <= args.pauses_over <= 600_000:
            raise UsageError(
                f"--pauses-over {args.pauses_over} is out of range; give 100 to 600000"
            )
        arguments["pauses_over_ms"] = args.pauses_over
    with door(Path(args.dir), "reelcut transcript") as d:
        if not arguments:
            doc = d.call("transcript.view", {})
            if args.json:
                _dump(doc)
            else:
                sys.stdout.write(doc["view"])
                if not doc["clips"]:
                    print("# no clip on the timeline has a transcript: `reelcut transcribe DIR`")
            return 0
        out = d.call(
            "tool",
            {
                "name": "transcript_cut",
                "arguments": arguments,
                "apply": bool(args.apply),
                "author": "cli",
            },
        )
    if args.json:
        _dump(out)
    if not out.get("ok"):
        raise CutRefused(str(out.get("error") or "the cut was refused"))
    if not args.json:
        result = out["result"]
        cs = out.get("changeset")
        said = " ".join(result.get("words") or [])
        print(result["summary"] + (f": {said}" if said else ""))
        if cs is not None:
            verb = "applied" if out.get("applied") else "proposed"
            print(
                f"changeset {cs} {verb}; review with `reelcut changes {args.dir} show {cs}`"
                + ("" if out.get("applied") else f", apply with `... apply {cs}`")
            )
    return 0


def cmd_captions(args: argparse.Namespace) -> int:
    from engine.door import door

    ProjectDir(args.dir).load()
    if args.out is None and not args.place:
        raise UsageError("give OUT.srt or OUT.vtt to write captions, or --place to place them")
    doc: dict[str, Any] = {}
    with door(Path(args.dir), "reelcut captions") as d:
        if args.place:
            doc["placed"] = d.call("captions.place", {"author": "cli"})
        if args.out is not None:
            out = str(Path(args.out).absolute())
            doc |= d.call("captions.write", {"out": out, "force": args.force})
    if args.json:
        _dump(doc)
        return 0
    if "placed" in doc:
        n = doc["placed"]["cues"]
        print(f"{n} caption clip(s) on the Captions track (undo takes them back)")
    if "out" in doc:
        what = "caption clip(s)" if doc["from"] == "captions" else "clip(s) with words"
        print(f"{doc['cues']} caption(s) from {doc['clips']} {what} written to {doc['out']}")
    return 0


def _dump(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")
