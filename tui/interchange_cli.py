"""Timelines to and from other editors: `reelcut export DIR cut.otio|.edl|.xml|.fcpxml` (through
`tui.export_cli`) and `reelcut import-timeline DIR FILE`, both through the project's door.

What a format could not carry, and each clip that could not be relinked, is one line on stderr
(and in ``warnings`` / ``not_relinked`` with ``--json``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engine.errors import UsageError
from engine.interchange import ADAPTERS
from engine.projectdir import ProjectDir


def is_interchange(out: Path) -> bool:
    return out.suffix.lower() in ADAPTERS


def export_timeline(args: argparse.Namespace) -> int:
    """`reelcut export DIR OUT` for a timeline file: written at once, no job."""
    from engine.door import door

    if args.preset:
        raise UsageError(
            f"--preset is for rendered media; {Path(args.out).suffix} is a timeline file "
            "(leave --preset out)"
        )
    ProjectDir(args.dir).require()
    params = {"out": str(Path(args.out).absolute()), "range": args.range, "force": args.force}
    with door(Path(args.dir), "reelcut export") as d:
        doc = d.call("export.interchange", params)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(
            f"wrote {doc['out']} ({doc['adapter']}): {doc['tracks']} track(s), {doc['clips']} "
            f"clip(s), {doc['markers']} marker(s)"
        )
    _lines("not written", doc["warnings"])
    return 0


def add_import_timeline_parser(sub: Any) -> None:
    p = sub.add_parser(
        "import-timeline",
        help="build tracks from a .otio, .edl, .xml or .fcpxml file, relinked to the media",
    )
    p.add_argument("dir", type=Path)
    p.add_argument("file", type=Path, help="the timeline file: .otio, .edl, .xml or .fcpxml")
    p.add_argument(
        "--replace",
        action="store_true",
        help="replace the timeline's tracks and markers (default: add the file's tracks beside "
        "them; an empty timeline is replaced); undo brings them back",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")


def cmd_import_timeline(args: argparse.Namespace) -> int:
    from engine.door import door

    ProjectDir(args.dir).require()
    params = {"file": str(Path(args.file).absolute()), "replace": args.replace, "author": "cli"}
    with door(Path(args.dir), "reelcut import-timeline") as d:
        doc = d.call("timeline.import", params)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        how = "in place of the timeline" if doc["replaced"] else "beside the timeline's tracks"
        relinked = doc["relinked"]
        print(
            f"imported {Path(doc['file']).name} {how}: {doc['tracks']} track(s), {doc['clips']} "
            f"clip(s) ({relinked['hash']} relinked by hash, {relinked['name']} by name), "
            f"{doc['markers']} marker(s); `reelcut undo {args.dir}` takes it back"
        )
    _lines("not relinked", doc["not_relinked"])
    _lines("not imported", doc["warnings"])
    return 0


def _lines(what: str, lines: list[str]) -> None:
    for line in lines:
        print(f"reelcut: {what}: {line}", file=sys.stderr)
