"""`reelcut mcp DIR`: the project's MCP server on stdio, for an MCP client to start.

Nothing but the protocol is written to stdout; anything else (a refusal at start, logs) goes to
stderr. The server holds nothing: each call goes through the project's door (the editor's when
it is open), so the editor and this server can be started and stopped in any order.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from engine.projectdir import ProjectDir


def add_mcp_parser(sub: Any) -> None:
    p = sub.add_parser(
        "mcp", help="MCP server on stdio: the tools, changesets and jobs for any MCP client"
    )
    p.add_argument("dir", type=Path)
    p.add_argument(
        "--auto-apply",
        action="store_true",
        help="apply each write at once instead of leaving a changeset for review",
    )


def cmd_mcp(args: argparse.Namespace) -> int:
    import anyio
    from mcp.server.stdio import stdio_server

    from mcp_server.server import ReelcutMCP

    ProjectDir(args.dir).require()  # a clear line, before any protocol, when DIR is wrong
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    mcp = ReelcutMCP(Path(args.dir), auto_apply=args.auto_apply)

    async def serve() -> None:
        async with stdio_server() as (read, write):
            await mcp.server.run(read, write, mcp.server.create_initialization_options())

    try:
        anyio.run(serve)
    except KeyboardInterrupt:
        return 130
    return 0
