"""reelcut's MCP server: the tool registry, changesets and jobs of one project, for any agent.

`build(root)` makes the server (the official `mcp` SDK's low-level `Server`); `reelcut mcp DIR`
runs it on stdio, and the preview server mounts it at ``/mcp`` (streamable HTTP). Every call
goes through the project's door (`engine.door`): the editor's, when it has the project open,
so the change appears there at once; else the project is opened for that one call.
"""

from mcp_server.server import ReelcutMCP, build

__all__ = ["ReelcutMCP", "build"]
