"""File tools: list, read slices, search, replace and insert lines, create. Every path goes
through ``engine.sandbox``; every read sees the changeset's proposals."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from engine import sandbox
from engine.tools.registry import Outcome, ToolContext, ToolError, tool

MAX_READ_LINES = 400
MAX_SEARCH_BYTES = 1 << 20
PATH = {"type": "string", "minLength": 1, "description": "relative to the project folder"}
LINE = {"type": "integer", "minimum": 1}


async def _text(ctx: ToolContext, path: str) -> str:
    text = await ctx.read(path)
    if text is None:
        raise ToolError(f"{path} does not exist; file_list shows the project's files")
    return text


async def _listing(ctx: ToolContext, under: str) -> list[str]:
    files = set(await asyncio.to_thread(sandbox.list_files, ctx.root, under))
    if ctx.changeset_id is not None:
        for fc in await ctx.ledger.store.files(ctx.changeset_id):
            if under and not fc.path.startswith(under.rstrip("/") + "/"):
                continue
            (files.add if fc.after_text is not None else files.discard)(fc.path)
    return sorted(files)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _block(text: str, like: str) -> list[str]:
    """``text`` as whole lines, ending with the file's own newline style."""
    if not text:
        return []
    newline = "\r\n" if "\r\n" in like else "\n"
    if not text.endswith(("\n", "\r")):
        text += newline
    return _lines(text)


@tool(
    "file_list",
    "List the project's text and media files (paths relative to the project folder), "
    "optionally only those under a folder such as 'scripts'.",
    {"under": {"type": "string", "description": "a folder, e.g. 'scripts'"}},
    [],
    writes=False,
)
async def file_list(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    under = args.get("under", "")
    if under:
        sandbox.normalize(ctx.root, under)
    return Outcome({"files": await _listing(ctx, under)})


@tool(
    "file_read_slices",
    "Read a text file with line numbers. Give 'ranges' as [first, last] line pairs (1-based, "
    f"inclusive) to read parts of a long file; without ranges the first {MAX_READ_LINES} lines.",
    {
        "path": PATH,
        "ranges": {
            "type": "array",
            "items": {"type": "array", "items": LINE, "minItems": 2, "maxItems": 2},
            "maxItems": 20,
        },
    },
    ["path"],
    writes=False,
)
async def file_read_slices(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    lines = _lines(await _text(ctx, args["path"]))
    ranges = args.get("ranges") or [[1, min(len(lines), MAX_READ_LINES) or 1]]
    slices = []
    for first, last in ranges:
        if first > last:
            raise ToolError(f"range [{first}, {last}] is backwards; give [first, last]")
        shown = lines[first - 1 : last]
        body = "".join(
            f"{first + i:>6}| {line.rstrip(chr(13) + chr(10))}\n" for i, line in enumerate(shown)
        )
        slices.append({"first": first, "last": first + len(shown) - 1, "text": body})
    return Outcome({"path": args["path"], "line_count": len(lines), "slices": slices})


@tool(
    "text_search",
    "Search the project's text files with a regular expression (Python syntax); returns "
    "'path:line: text' matches.",
    {
        "pattern": {"type": "string", "minLength": 1},
        "under": {"type": "string"},
        "max_results": {"type": "integer", "minimum": 1, "maximum": 500},
    },
    ["pattern"],
    writes=False,
)
async def text_search(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    try:
        rx = re.compile(args["pattern"])
    except re.error as exc:
        raise ToolError(f"pattern is not a valid regular expression: {exc}") from None
    limit = args.get("max_results", 50)
    matches: list[str] = []
    for path in await _listing(ctx, args.get("under", "")):
        text = await ctx.read(path) if path != "project.json" else None
        if text is None or len(text) > MAX_SEARCH_BYTES:
            continue
        for n, line in enumerate(text.splitlines(), start=1):
            if rx.search(line):
                matches.append(f"{path}:{n}: {line[:200]}")
                if len(matches) >= limit:
                    return Outcome({"matches": matches, "truncated": True})
    return Outcome({"matches": matches, "truncated": False})


async def _readable(ctx: ToolContext, path: str) -> str:
    try:
        return await _text(ctx, path)
    except UnicodeDecodeError:
        raise ToolError(f"{path} is not a UTF-8 text file; text tools edit text only") from None


@tool(
    "text_replace_lines",
    "Replace lines first..last (1-based, inclusive) of a text file with new text (an empty "
    "text deletes them). Read the lines with file_read_slices first.",
    {"path": PATH, "first": LINE, "last": LINE, "text": {"type": "string"}},
    ["path", "first", "last", "text"],
    writes=True,
)
async def text_replace_lines(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    path, first, last = args["path"], args["first"], args["last"]
    old = await _readable(ctx, path)
    lines = _lines(old)
    if first > last or last > len(lines):
        raise ToolError(f"{path} has {len(lines)} lines; lines {first}..{last} do not exist there")
    new = "".join(lines[: first - 1] + _block(args["text"], old) + lines[last:])
    return Outcome(
        {"path": path, "replaced": [first, last], "line_count": len(_lines(new))},
        {path: new},
    )


@tool(
    "text_insert_lines",
    "Insert text after line N of a text file (0 inserts at the top).",
    {"path": PATH, "after": {"type": "integer", "minimum": 0}, "text": {"type": "string"}},
    ["path", "after", "text"],
    writes=True,
)
async def text_insert_lines(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    path, after = args["path"], args["after"]
    old = await _readable(ctx, path)
    lines = _lines(old)
    if after > len(lines):
        raise ToolError(f"{path} has {len(lines)} lines; insert after line 0..{len(lines)}")
    if lines and after == len(lines) and not lines[-1].endswith("\n"):
        lines[-1] += "\r\n" if "\r\n" in old else "\n"
    new = "".join(lines[:after] + _block(args["text"], old) + lines[after:])
    return Outcome({"path": path, "after": after, "line_count": len(_lines(new))}, {path: new})


@tool(
    "file_create",
    "Create a new text file (refused if it exists; edit existing files with the line tools).",
    {"path": PATH, "text": {"type": "string"}},
    ["path", "text"],
    writes=True,
)
async def file_create(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    path = sandbox.normalize(ctx.root, args["path"])
    if await ctx.read(path) is not None:
        raise ToolError(f"{path} already exists; edit it with text_replace_lines")
    return Outcome({"path": path, "bytes": len(args["text"].encode())}, {path: args["text"]})
