"""The ``reelcut`` command line: the substrate's door, one subcommand per capability.

``--json`` means exactly one JSON document on stdout, errors included: an error is
``{"error": "<the one line>", "exit_code": N}`` (a hash mismatch adds ``"mismatch"``). Without
it, an error is one line on stderr (``reelcut: what failed; what to do``). Either way the exit
status is the error's own code (see `EXIT_CODES`), and no traceback reaches the user: a bug is
one line too (exit 70), with the traceback shown only under ``REELCUT_DEBUG=1``. Textual is
imported only when the editor opens, so scripted commands start fast.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from engine.errors import MediaError, ReelcutError
from engine.projectdir import ProjectDir
from tui.cli_args import Parser, int_between

COMMANDS = (
    "new",
    "demo",
    "open",
    "import",
    "info",
    "edit",
    "undo",
    "redo",
    "history",
    "changes",
    "jobs",
    "events",
    "serve",
    "tools",
    "tool",
    "chat",
    "mcp",
    "tts",
    "export",
    "import-timeline",
    "transcribe",
    "transcript",
    "captions",
)


# Every exit status the command line uses; documented in the README.
EXIT_CODES = {
    0: "done",
    1: "failed (the line says why)",
    2: "the command line is wrong (a missing or malformed argument)",
    3: "not a project, or project.json is invalid",
    4: "the project is open for writing in another process",
    5: "media cannot be read or imported",
    6: "a system program is missing",
    7: "the timeline operation does not fit",
    8: "undo/redo refused: project.json changed outside the history",
    9: "a path outside the project, or one reelcut keeps to itself",
    10: "a changeset cannot be applied or reverted as asked",
    11: "a file changed since the changeset was made (hash mismatch)",
    12: "a tool call failed",
    13: "the AI provider refused or failed",
    70: "a bug in reelcut (REELCUT_DEBUG=1 shows the traceback)",
    130: "interrupted (Ctrl+C)",
    141: "the reader of stdout went away",
}
INTERNAL_ERROR = 70


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("reelcut")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


class _PrintVersion(argparse.Action):
    """``--version``, looked up only when asked: reading the installed metadata costs about
    25 ms, which every command would pay if argparse's own version action were used."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        print(f"reelcut {version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="reelcut",
        description="A terminal-first video editor that is also a substrate for AI agents.",
        epilog="`reelcut DIR` is short for `reelcut open DIR`.",
    )
    parser.add_argument("--version", action=_PrintVersion, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("new", help="create a project")
    p.add_argument("dir", type=Path)
    p.add_argument("--fps", default="30", help="frame rate: 30, 25, 24, 30000/1001, 29.97 ...")
    p.add_argument("--size", default="1920x1080", help="WIDTHxHEIGHT (default 1920x1080)")
    p.add_argument("--name", help="project name (default: the folder's name)")
    p.add_argument("--demo", action="store_true", help="fill it with the demo project")
    _json(p)

    p = sub.add_parser("demo", help="make the demo project if missing, then open it")
    p.add_argument("dir", type=Path, nargs="?", help="where (default: your data folder)")
    _json(p)

    p = sub.add_parser("open", help="open a project in the editor")
    p.add_argument("dir", type=Path)

    p = sub.add_parser("import", help="import media files (content-addressed)")
    p.add_argument("dir", type=Path)
    p.add_argument("files", type=Path, nargs="+")
    p.add_argument("--no-place", action="store_true", help="add to assets only")
    _json(p)

    p = sub.add_parser("info", help="tracks, clips, duration and assets (read-only)")
    p.add_argument("dir", type=Path)
    _json(p)

    from tui.edit_cli import add_edit_parsers

    add_edit_parsers(sub)
    for name, what in (("undo", "undo the last edit"), ("redo", "redo the last undone edit")):
        p = sub.add_parser(name, help=what)
        p.add_argument("dir", type=Path)
        _json(p)
    p = sub.add_parser("history", help="the undo history, oldest first")
    p.add_argument("dir", type=Path)
    p.add_argument("--limit", type=int_between(1, 1_000_000), default=50, help="newest N steps")
    _json(p)
    from tui.changes_cli import add_changes_parser, add_tool_parsers

    add_changes_parser(sub)
    add_tool_parsers(sub)
    from tui.jobs_cli import add_jobs_parsers

    add_jobs_parsers(sub)
    from tui.serve_cli import add_serve_parser

    add_serve_parser(sub)
    from tui.chat_cli import add_chat_parser

    add_chat_parser(sub)
    from tui.mcp_cli import add_mcp_parser

    add_mcp_parser(sub)
    from tui.tts_cli import add_tts_parser

    add_tts_parser(sub)
    from tui.export_cli import add_export_parser
    from tui.interchange_cli import add_import_timeline_parser

    add_export_parser(sub)
    add_import_timeline_parser(sub)
    from tui.transcribe_cli import add_transcribe_parser

    add_transcribe_parser(sub)
    from tui.transcript_cli import add_transcript_parsers

    add_transcript_parsers(sub)
    return parser


def _json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] not in COMMANDS and not args_list[0].startswith("-"):
        args_list.insert(0, "open")
    args_list = _attach_negative_values(args_list)
    # Decided before parsing, so a command line that does not parse still answers in JSON.
    # `tool` prints JSON whether or not it is asked to.
    as_json = "--json" in args_list or args_list[:1] == ["tool"]
    args: argparse.Namespace | None = None
    try:
        parser = build_parser()
        args = parser.parse_args(args_list)
        if args.command is None:
            parser.print_help()
            return 2
        return int(globals()[f"cmd_{args.command.replace('-', '_')}"](args))
    except ReelcutError as exc:
        return _fail(exc, as_json)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `reelcut info DIR | head`: the reader left; say nothing more and exit quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as exc:
        if os.environ.get("REELCUT_DEBUG"):
            raise
        # A read-only mount, a permission, a full disk or a pipe where a file belongs is the
        # machine's doing, not a bug: the line names it (and never suggests a remedy that
        # loses work, such as moving the state database aside).
        from engine.fsio.causes import environment_error

        refused = _grouped_refusal(exc) or environment_error(exc, getattr(args, "dir", None))
        if refused is not None:
            return _fail(refused, as_json)
        bug = ReelcutError(
            f"internal error ({type(exc).__name__}: {exc}); this is a bug in reelcut "
            f"{version()}: rerun with REELCUT_DEBUG=1 for the traceback and report it"
        )
        bug.exit_code = INTERNAL_ERROR
        return _fail(bug, as_json)


def _grouped_refusal(exc: BaseException) -> ReelcutError | None:
    """The first ReelcutError inside an exception group (a task group that failed, as the MCP
    server's does), so it is reported as itself rather than as a bug."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            if isinstance(inner, ReelcutError):
                return inner
            found = _grouped_refusal(inner)
            if found is not None:
                return found
    return None


def _fail(exc: ReelcutError, as_json: bool) -> int:
    """Report ``exc``: one line on stderr, and with ``--json`` the one JSON document on stdout."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    if as_json:
        doc: dict[str, Any] = {"error": message, "exit_code": exc.exit_code}
        from engine.changes.ledger import HashMismatch

        if isinstance(exc, HashMismatch):
            doc["mismatch"] = exc.to_json()
        _print_json(doc)
    print(f"reelcut: {message}", file=sys.stderr)
    return exc.exit_code


_NEGATIVE_POSITION = re.compile(r"^-\d+(:\d+)*([:;]\d+)?$")


def _attach_negative_values(args: list[str]) -> list[str]:
    """``--by -00:00:01:00`` as ``--by=-00:00:01:00``: argparse takes a leading ``-`` that is
    not a plain number for an option, so a negative timecode would be refused."""
    out: list[str] = []
    for arg in args:
        if (
            out
            and out[-1].startswith("--")
            and "=" not in out[-1]
            and _NEGATIVE_POSITION.match(arg)
        ):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def cmd_new(args: argparse.Namespace) -> int:
    from engine.model import new_project
    from engine.timebase import parse_rate
    from engine.workflows import write_editor_workflow

    if args.demo:
        from engine.demo import make_demo

        pd = make_demo(args.dir)
    else:
        width, height = _parse_size(args.size)
        project = new_project(
            args.name or args.dir.absolute().name,
            rate=parse_rate(args.fps),
            width=width,
            height=height,
        )
        pd = ProjectDir.create(args.dir, project)
        write_editor_workflow(pd.root)  # the agent runs from the first open (issue 19)
    if args.json:
        _print_json({"created": str(pd.root)})
    else:
        print(f"created {pd.root}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from engine.demo import default_demo_dir, make_demo

    root = (args.dir or default_demo_dir()).absolute()
    made = False
    if not (root / "project.json").exists():
        make_demo(root)
        made = True
    if args.json:
        _print_json({"demo": str(root), "created": made})
        return 0
    return _open_editor(ProjectDir(root))


def cmd_open(args: argparse.Namespace) -> int:
    return _open_editor(ProjectDir(args.dir))


def _open_editor(pd: ProjectDir) -> int:
    from engine.session import Session

    # A broken project.json or a project open elsewhere is reported here, before the screen
    # switches; the session holds the writer lock while the editor runs.
    with Session(pd.root, purpose="reelcut open") as session:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            # Without a terminal the screen has nowhere to go and the key reader spins on EOF.
            raise ReelcutError(
                f"the editor needs a terminal (stdin and stdout are not a TTY); run "
                f"`reelcut open {pd.root}` in one, or use `reelcut info`/`serve`/`jobs` in scripts"
            )
        from tui.app import ReelcutApp, run_editor

        return run_editor(ReelcutApp(session))


def cmd_import(args: argparse.Namespace) -> int:
    from engine.door import door

    pd = ProjectDir(args.dir)
    pd.require()  # nothing is created in a folder that is not a project
    files = [str(Path(f).absolute()) for f in args.files]
    with door(pd.root, "reelcut import") as d:
        doc = d.call("import", {"files": files, "place": not args.no_place})
    results = [SimpleNamespace(**r) for r in doc["results"]]
    queued = doc["jobs_queued"]
    failed = [r for r in results if r.error]
    # The files that could be imported are in; the exit status still says that some were not,
    # in one line that names each of them.
    error = "; ".join(str(r.error) for r in failed)
    if len(failed) > 1:
        error = f"{len(failed)} of {len(results)} files were not imported: {error}"
    if args.json:
        out: dict[str, Any] = {"results": doc["results"], "jobs_queued": queued}
        if failed:
            out |= {"error": error, "exit_code": MediaError.exit_code}
        _print_json(out)
    else:
        for r in results:
            if r.error:
                continue
            if getattr(r, "captions", None) is not None:  # a subtitle file: caption clips
                clips = ", ".join(r.clips)
                print(f"{r.source}: {r.captions} caption(s) on the Captions track as {clips}")
                continue
            what = "already imported as" if r.already_imported else "imported as"
            clips = f"; clips {', '.join(r.clips)}" if r.clips else ""
            print(f"{r.source}: {what} {', '.join(r.assets)}{clips}")
        if queued:
            print(
                f"queued {len(queued)} derivative job(s) (proxies, thumbnails, waveforms); the "
                f"editor runs them while open, or `reelcut jobs {args.dir} run`"
            )
    if failed:
        print(f"reelcut: {' '.join(error.split())}", file=sys.stderr)
    return MediaError.exit_code if failed else 0


def cmd_info(args: argparse.Namespace) -> int:
    from tui.info import describe, render_text

    pd = ProjectDir(args.dir)
    project = pd.load()
    if args.json:
        _print_json(describe(project, pd.root))
    else:
        print(render_text(project, pd.root))
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    import msgspec

    from engine.door import door
    from tui.edit_cli import build_op, print_change

    pd = ProjectDir(args.dir)
    op = build_op(args, pd.load().rate)  # the rate, read as `info` reads (no lock)
    with door(pd.root, "reelcut edit") as d:
        change = d.call("edit", {"op": msgspec.to_builtins(op), "author": "cli"})
    print_change(change, args.json)
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    return _undo_redo(args, "undo")


def cmd_redo(args: argparse.Namespace) -> int:
    return _undo_redo(args, "redo")


def _undo_redo(args: argparse.Namespace, action: str) -> int:
    from engine.door import door
    from engine.errors import ProjectInvalid
    from engine.session import way_back
    from tui.edit_cli import print_change

    ProjectDir(args.dir).require()
    try:
        with door(args.dir, f"reelcut {action}") as d:
            change = d.call(action)
    except ProjectInvalid as exc:
        # A changeset that left project.json invalid: say which one to revert to get back.
        hint = way_back(args.dir, action)
        if hint is None:
            raise
        raise ProjectInvalid(f"{exc}; {hint}") from None
    if change is None:
        if args.json:
            _print_json({"revision": None, "kind": action, "summary": f"nothing to {action}"})
        else:
            print(f"nothing to {action}")
        return 0
    print_change(change, args.json)
    return 0


def cmd_changes(args: argparse.Namespace) -> int:
    from tui.changes_cli import cmd_changes as run

    return run(args)


def cmd_jobs(args: argparse.Namespace) -> int:
    from tui.jobs_cli import cmd_jobs as run

    return run(args)


def cmd_events(args: argparse.Namespace) -> int:
    from tui.jobs_cli import cmd_events as run

    return run(args)


def cmd_serve(args: argparse.Namespace) -> int:
    from tui.serve_cli import cmd_serve as run

    return run(args)


def cmd_chat(args: argparse.Namespace) -> int:
    from tui.chat_cli import cmd_chat as run

    return run(args)


def cmd_mcp(args: argparse.Namespace) -> int:
    from tui.mcp_cli import cmd_mcp as run

    return run(args)


def cmd_export(args: argparse.Namespace) -> int:
    from tui.export_cli import cmd_export as run

    return run(args)


def cmd_import_timeline(args: argparse.Namespace) -> int:
    from tui.interchange_cli import cmd_import_timeline as run

    return run(args)


def cmd_tts(args: argparse.Namespace) -> int:
    from tui.tts_cli import cmd_tts as run

    return run(args)


def cmd_transcribe(args: argparse.Namespace) -> int:
    from tui.transcribe_cli import cmd_transcribe as run

    return run(args)


def cmd_transcript(args: argparse.Namespace) -> int:
    from tui.transcript_cli import cmd_transcript as run

    return run(args)


def cmd_captions(args: argparse.Namespace) -> int:
    from tui.transcript_cli import cmd_captions as run

    return run(args)


def cmd_tools(args: argparse.Namespace) -> int:
    from tui.changes_cli import cmd_tools as run

    return run(args)


def cmd_tool(args: argparse.Namespace) -> int:
    from tui.changes_cli import cmd_tool as run

    return run(args)


def cmd_history(args: argparse.Namespace) -> int:
    from engine.state import db
    from engine.state.history import History

    # Read-only: no writer lock, so it works while the editor has the project open.
    pd = ProjectDir(args.dir)
    pd.require()
    conn = db.connect(pd.state / db.STATE_FILE, read_only_ok=True)  # works on a read-only mount
    try:
        steps = History(conn).steps(args.limit)
    finally:
        conn.close()
    if args.json:
        _print_json(
            [
                {
                    "seq": s.seq,
                    "group": s.group_id,
                    "label": s.label,
                    "author": s.author,
                    "undone": s.undone,
                    "at": s.created_at,
                    "op": json.loads(s.op_json),
                }
                for s in steps
            ]
        )
        return 0
    for s in steps:
        mark = "  (undone)" if s.undone else ""
        print(f"{s.seq:>5}  g{s.group_id:<4} {s.created_at}  {s.author:<6} {s.label}{mark}")
    if not steps:
        print("no edits yet")
    return 0


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ReelcutError(f"size {text!r} is not WIDTHxHEIGHT, e.g. 1920x1080") from None
    if not (16 <= w <= 16384 and 16 <= h <= 16384):
        raise ReelcutError(f"size {text!r} is out of range (16 to 16384 pixels a side)")
    return w, h


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    sys.exit(main())
