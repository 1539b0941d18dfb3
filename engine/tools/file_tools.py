"""File tools: list, read slices, search, replace and insert lines, create. Every path goes
through ``engine.sandbox``; every read sees the changeset's proposals.

Every result is bounded, because a model supplies the arguments and reads the result (one run's
twenty wide reads once made a 109 MB event row):

- ``MAX_READ_LINES``: lines one ``file_read_slices`` range returns.
- ``MAX_READ_CHARS``: characters one read's slices, or one search's matches, hold in all. A read
  stops at a line boundary; a single line longer than the cap is cut and marked. A cut result
  says ``truncated`` and, for reads, ``next_line`` and ``unread_ranges`` to page on with.
- ``MAX_MATCH_CHARS``: characters of a matching line that a search shows.
- ``MAX_LIST_PATHS``: paths one ``file_list`` returns.
- ``MAX_TEXT_BYTES``: size of a file on disk that the text tools read at all; a larger file is
  refused after a stat, before any byte is read. Up to it, an edit costs about three times the
  file's size in memory for the moment it runs, and what the changeset and the answer keep is
  bounded by the lines it changes (`engine.changes.delta`): lines are found by counting line
  breaks (`engine.tools.lines`), never by splitting the whole file into a list.
- ``MAX_SEARCH_BYTES``: size of a file that ``text_search`` searches; larger ones, and files
  that are not UTF-8 text (media), are skipped and counted in the result's ``skipped``.
- ``SEARCH_SECONDS``: wall time one search may take. Patterns run on the `regex` module (the
  syntax of Python's `re`) with its ``timeout=`` and ``concurrent=True`` in a worker thread, so
  a catastrophically backtracking pattern neither blocks the event loop nor holds the GIL, and
  ends in an error the model can act on.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import regex

from engine import sandbox
from engine.changes.store import FileChange
from engine.tools.lines import Lines
from engine.tools.registry import Outcome, ToolContext, ToolError, tool

MAX_READ_LINES = 400
MAX_READ_CHARS = 64 * 1024
MAX_MATCH_CHARS = 200
MAX_LIST_PATHS = 2000
MAX_TEXT_BYTES = 128 << 20
MAX_SEARCH_BYTES = 1 << 20
SEARCH_SECONDS = 2.0
PATH = {"type": "string", "minLength": 1, "description": "relative to the project folder"}
LINE = {"type": "integer", "minimum": 1}


class _TooLarge(ToolError):
    """A file over the size the calling tool reads."""


class _NotText(ToolError):
    """A file that is not UTF-8 text (media, most often)."""


def _disk_text(root: Path, rel: str, limit: int) -> str | None:
    """The file at ``rel`` as text (None if nothing is there), never reading more than ``limit``
    bytes' worth of a file: `_TooLarge` over it, `_NotText` if it is not UTF-8."""
    try:
        size = sandbox.stat(root, rel).st_size
        if size <= limit:
            data = sandbox.read_bytes(root, rel)
            size = len(data)  # it may have grown since the stat
    except sandbox.PathNotFound:
        return None
    if size > limit:
        raise _TooLarge(
            f"{rel} is {size / (1 << 20):.1f} MiB; the text tools read files up to "
            f"{limit >> 20} MiB"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _NotText(
            f"{rel} is not a UTF-8 text file (media or other binary data); the text tools read "
            "and edit text only (asset_list describes media)"
        ) from None


async def _proposals(ctx: ToolContext) -> dict[str, FileChange]:
    """What the changeset proposes, by path (``after_hash`` None: deleted)."""
    if ctx.changeset_id is None:
        return {}
    return {fc.path: fc for fc in await ctx.ledger.store.files(ctx.changeset_id)}


async def _text(ctx: ToolContext, path: str) -> str:
    rel = sandbox.normalize(ctx.root, path)
    proposed = await _proposals(ctx)
    if rel in proposed:
        text = await ctx.read(rel)  # a large file's proposal is rebuilt from the disk
    else:
        text = await asyncio.to_thread(_disk_text, ctx.root, rel, MAX_TEXT_BYTES)
        ctx.seen[rel] = text
    if text is None:
        raise ToolError(f"{path} does not exist; file_list shows the project's files")
    return text


async def _listing(ctx: ToolContext, under: str) -> list[str]:
    files = set(await asyncio.to_thread(sandbox.list_files, ctx.root, under))
    for path, fc in (await _proposals(ctx)).items():
        if under and not path.startswith(under.rstrip("/") + "/"):
            continue
        (files.add if fc.after_hash is not None else files.discard)(path)
    return sorted(files)


def _block(text: str, like: str) -> str:
    """``text`` as whole lines, ending with the file's own newline style."""
    if not text:
        return ""
    newline = "\r\n" if "\r" in like and "\r\n" in like else "\n"  # "\r": a fast search
    if not text.endswith(("\n", "\r")):
        text += newline
    return text


@tool(
    "file_list",
    "List the project's text and media files (paths relative to the project folder), "
    "optionally only those under a folder such as 'scripts'. At most "
    f"{MAX_LIST_PATHS} paths; 'truncated' says there are more (narrow with 'under').",
    {"under": {"type": "string", "description": "a folder, e.g. 'scripts'"}},
    [],
    writes=False,
)
async def file_list(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    under = args.get("under", "")
    if under:
        sandbox.normalize(ctx.root, under)
    files = await _listing(ctx, under)
    return Outcome(
        {
            "files": files[:MAX_LIST_PATHS],
            "truncated": len(files) > MAX_LIST_PATHS,
            "total": len(files),
        }
    )


@tool(
    "file_read_slices",
    "Read a text file with line numbers. Give 'ranges' as [first, last] line pairs (1-based, "
    "inclusive) to read parts of a long file; without ranges the whole file. Reads are paged: "
    f"one call returns at most {MAX_READ_LINES} lines of a range and {MAX_READ_CHARS // 1024} "
    "KiB in all, in the order asked (a longer line is cut and marked). When the result says "
    "'truncated', 'next_line' is the first line not returned: call again with 'unread_ranges' "
    "as the ranges to read on.",
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
    ranges = args.get("ranges")
    for first, last in ranges or ():
        if first > last:
            raise ToolError(f"range [{first}, {last}] is backwards; give [first, last]")
    lines = Lines(await _text(ctx, args["path"]))
    slices, unread, cut = _page(lines, ranges or [[1, len(lines) or 1]])
    result: dict[str, Any] = {"path": args["path"], "line_count": len(lines), "slices": slices}
    result["truncated"] = bool(unread) or cut
    if result["truncated"]:
        result["next_line"] = unread[0][0] if unread else slices[-1]["last"] + 1
        result["unread_ranges"] = unread
    return Outcome(result)


def _page(
    lines: Lines, ranges: list[list[int]]
) -> tuple[list[dict[str, Any]], list[list[int]], bool]:
    """The slices of ``lines`` that ``ranges`` ask for, in order, up to ``MAX_READ_LINES`` per
    range and ``MAX_READ_CHARS`` in all; the ranges (or rests of ranges) left unread; and whether
    a line too long for the cap on its own was cut."""
    slices: list[dict[str, Any]] = []
    budget = MAX_READ_CHARS
    for i, (first, last) in enumerate(ranges):
        end = min(last, len(lines))
        body: list[str] = []
        n, cut = first, False
        while n <= min(end, first + MAX_READ_LINES - 1):
            prefix, text = f"{n:>6}| ", lines[n - 1].rstrip("\r\n")
            row = f"{prefix}{text}\n"
            if len(row) > budget:
                if budget < MAX_READ_CHARS:
                    break  # something is returned already: page on from this line
                mark = f" [line {n} cut: {len(text)} characters, the rest is not shown]\n"
                row = prefix + text[: budget - len(prefix) - len(mark)] + mark
                cut = True
            body.append(row)
            budget -= len(row)
            n += 1
            if cut:
                break
        if body or n > end:
            slices.append({"first": first, "last": n - 1, "text": "".join(body)})
        if n <= end or cut:
            rest = [[n, last]] if n <= end else []
            return slices, rest + [list(r) for r in ranges[i + 1 :]], cut
    return slices, [], False


@tool(
    "text_search",
    "Search the project's text files line by line with a regular expression (Python syntax); "
    f"returns 'path:line: text' matches, each line cut to {MAX_MATCH_CHARS} characters and "
    f"{MAX_READ_CHARS // 1024} KiB in all ('truncated' says there were more). Media and other "
    f"binary files and files over {MAX_SEARCH_BYTES >> 20} MiB are skipped and counted in "
    f"'skipped'. A search that takes over {SEARCH_SECONDS:g} s is stopped with an error.",
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
        rx = regex.compile(args["pattern"])
    except regex.error as exc:
        raise ToolError(f"pattern is not a valid regular expression: {exc}") from None
    paths = await _listing(ctx, args.get("under", ""))
    # A proposal kept as splices is of a file over 1 MiB, so over the search limit: it is
    # skipped like such a file on disk, unread (its after_text is None, the too-large mark).
    proposed = {path: fc.after_text for path, fc in (await _proposals(ctx)).items()}
    limit = args.get("max_results", 50)
    deadline = time.monotonic() + SEARCH_SECONDS
    return Outcome(await asyncio.to_thread(_search, ctx.root, paths, proposed, rx, limit, deadline))


def _search(
    root: Path,
    paths: list[str],
    proposed: dict[str, str | None],
    rx: regex.Pattern[str],
    limit: int,
    deadline: float,
) -> dict[str, Any]:
    """``text_search`` off the event loop: read, skip and match each file in turn."""
    slow = ToolError(
        f"the pattern took longer than {SEARCH_SECONDS:g} s (catastrophic backtracking?); "
        "simplify it, or search fewer files with 'under'"
    )
    matches: list[str] = []
    skipped = {"binary": 0, "too_large": 0}
    budget = MAX_READ_CHARS

    def result(truncated: bool) -> dict[str, Any]:
        return {"matches": matches, "truncated": truncated, "skipped": skipped}

    for path in paths:
        if path == "project.json":  # the timeline: timeline_read shows it
            continue
        try:
            if path in proposed and proposed[path] is None:  # listed, so not deleted: large
                raise _TooLarge(path)
            text = proposed[path] if path in proposed else _disk_text(root, path, MAX_SEARCH_BYTES)
        except _TooLarge:
            skipped["too_large"] += 1
            continue
        except _NotText:
            skipped["binary"] += 1
            continue
        if text is None:
            continue
        if len(text) > MAX_SEARCH_BYTES:
            skipped["too_large"] += 1
            continue
        for n, line in enumerate(text.splitlines(), start=1):
            left = deadline - time.monotonic()
            if left <= 0:
                raise slow
            try:
                found = rx.search(line, concurrent=True, timeout=left)
            except TimeoutError:
                raise slow from None
            if found:
                match = f"{path}:{n}: {line[:MAX_MATCH_CHARS]}"
                if len(matches) >= limit or len(match) > budget:
                    return result(truncated=True)
                matches.append(match)
                budget -= len(match)
    return result(truncated=False)


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
    old = await _text(ctx, path)
    lines = Lines(old)
    if first > last or last > len(lines):
        raise ToolError(f"{path} has {len(lines)} lines; lines {first}..{last} do not exist there")
    start, end = lines.offset(first - 1), lines.offset(last)
    block = _block(args["text"], old)
    new = "".join((old[:start], block, old[end:]))
    count = _line_count(new, start, block, len(lines) - (last - first + 1))
    del lines, old
    return Outcome(
        {"path": path, "replaced": [first, last], "line_count": count},
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
    old = await _text(ctx, path)
    lines = Lines(old)
    if after > len(lines):
        raise ToolError(f"{path} has {len(lines)} lines; insert after line 0..{len(lines)}")
    at = lines.offset(after)
    # Inserting after a last line that has no line break gives it one first.
    joint = ""
    if len(lines) and after == len(lines) and not old.endswith("\n"):
        joint = "\r\n" if "\r\n" in old else "\n"
    block = _block(args["text"], old)
    new = "".join((old[:at], joint, block, old[at:]))
    count = len(Lines(new)) if joint else _line_count(new, at, block, len(lines))
    del lines, old
    return Outcome({"path": path, "after": after, "line_count": count}, {path: new})


def _line_count(new: str, at: int, block: str, others: int) -> int:
    """Lines of ``new``, which holds ``block`` from ``at`` and ``others`` lines around it:
    counted from the parts when the block meets them at line breaks (no line joins another),
    else counted again (a lone ``\r`` before a ``\n`` makes one break of two)."""
    if (at == 0 or new[at - 1] == "\n") and (not block or block.endswith("\n")):
        return others + len(Lines(block))
    return len(Lines(new))


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
