"""The MCP server of one project: its tools, resources, prompts and change notifications.

Tools are the registry's (`engine.tools`, their JSON schemas and descriptions as the agent sees
them), plus changeset tools (list, show, apply, revert, replay) and job tools (list, queue,
wait with progress, cancel). A call runs through the project's door (`engine.door`): by the
process that holds the project (the editor: the change is on its timeline and in its review
panel at once) or, when nobody holds it, by this process for that one call under the writer
lock. A registry tool that writes follows the review policy: it proposes a changeset that waits
for the person (author ``mcp:<client>``; a client's writes gather in one changeset until it is
applied or reverted), unless the server was started with ``auto_apply``.

Resources are project.json, the timeline summary, the changeset list and every text file a
person edits (``reelcut://project/files/<path>``: scripts, workflows, scenarios); a
listener (``subscriptions/listen``, or ``resources/subscribe`` on handshake-era connections)
hears when one changes, from the project's event stream. Prompts are the workflow files.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler
from mcp.shared.subscriptions import ResourcesListChanged, ResourceUpdated

from engine.errors import ProjectLocked, ReelcutError
from mcp_server import reads
from mcp_server.tools import EXTRA_TOOLS, registry_tools

SCHEME = "reelcut://project/"
PROJECT_URI = SCHEME + "project.json"
TIMELINE_URI = SCHEME + "timeline"
CHANGESETS_URI = SCHEME + "changesets"
FILES = SCHEME + "files/"
LOCKED_WAIT = 5.0  # seconds a call waits for another command's brief hold on the project
INSTRUCTIONS = (
    "reelcut: a video editing project as files. Read the timeline (timeline_read) and the "
    "scripts, then edit with the tools; a write becomes a changeset that the person reviews "
    "and applies in reelcut (changes_show shows its diff), unless the server auto-applies. "
    "Clips are addressed by id; positions are frames or timecodes."
)


class ReelcutMCP:
    """One project's MCP server (``.server``) and the state its handlers share."""

    def __init__(
        self, root: Path | str, *, auto_apply: bool = False, workspace: Any = None
    ) -> None:
        """``workspace``: the holder's own door (`engine.workspace.Workspace`), when this server
        runs inside the process that holds the project (the preview server's ``/mcp``)."""
        self.root = Path(root).absolute()
        self.auto_apply = auto_apply
        self.workspace = workspace
        self.bus = InMemorySubscriptionBus()
        self.legacy: dict[str, set[Any]] = {}  # uri -> handshake-era sessions subscribed to it
        self.open_changesets: dict[str, int] = {}  # author -> the changeset its writes gather in
        self._door_lock: anyio.Lock | None = None
        self.server: Server[Any] = Server(
            "reelcut",
            version=_version(),
            instructions=INSTRUCTIONS,
            lifespan=self._lifespan,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_list_resources=self._list_resources,
            on_read_resource=self._read_resource,
            on_subscribe_resource=self._subscribe,
            on_unsubscribe_resource=self._unsubscribe,
            on_subscriptions_listen=ListenHandler(self.bus),
            on_list_prompts=self._list_prompts,
            on_get_prompt=self._get_prompt,
        )

    # -- the door ------------------------------------------------------------------------------

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """One request through the project's door, one at a time from this server (a second
        would find this process's own brief hold on the project)."""
        if self.workspace is not None:
            return await self.workspace.call(method, params)
        if self._door_lock is None:
            self._door_lock = anyio.Lock()
        async with self._door_lock:
            return await anyio.to_thread.run_sync(self._call_sync, method, params)

    def _call_sync(self, method: str, params: dict[str, Any]) -> Any:
        from engine.door import door

        deadline = time.monotonic() + LOCKED_WAIT
        while True:
            try:
                with door(self.root, "reelcut mcp") as d:
                    return d.call(method, params)
            except ProjectLocked:  # another command's moment with the project: wait it out
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    # -- tools ---------------------------------------------------------------------------------

    async def _list_tools(
        self, ctx: ServerRequestContext, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        tools = registry_tools(self.auto_apply) + [t.spec for t in EXTRA_TOOLS.values()]
        return types.ListToolsResult(tools=tools)

    async def _call_tool(
        self, ctx: ServerRequestContext, params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        args = params.arguments or {}
        try:
            extra = EXTRA_TOOLS.get(params.name)
            if extra is not None:
                doc = await extra.run(self, ctx, args)
            else:
                doc = await self._registry_call(ctx, params.name, args)
        except ReelcutError as exc:
            return _error(str(exc), getattr(exc, "to_json", lambda: None)())
        if doc.get("ok") is False:
            return _error(str(doc.get("error")), doc)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(doc, ensure_ascii=False))],
            structured_content=doc,
        )

    async def _registry_call(
        self, ctx: ServerRequestContext, name: str, args: dict[str, Any]
    ) -> dict[str, Any]:
        author = client_name(ctx)
        gathering = self.open_changesets.get(author)
        if gathering is not None and not await reads.open_for_more(self.root, gathering):
            gathering = None
        out = await self.call(
            "tool",
            {
                "name": name,
                "arguments": args,
                "changeset": gathering,
                "apply": self.auto_apply,
                "author": author,
            },
        )
        cs = out.get("changeset")
        if isinstance(cs, int) and not out.get("applied"):
            self.open_changesets[author] = cs
        elif out.get("applied"):
            self.open_changesets.pop(author, None)
        return reads.for_client(out)

    # -- resources -----------------------------------------------------------------------------

    async def _list_resources(
        self, ctx: ServerRequestContext, params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        fixed = [
            types.Resource(
                uri=PROJECT_URI,
                name="project.json",
                description="The timeline as stored: tracks, clips, assets, markers.",
                mime_type="application/json",
            ),
            types.Resource(
                uri=TIMELINE_URI,
                name="timeline",
                description="The timeline summarised: every track and clip with ids and "
                "timecodes (what the timeline_read tool returns).",
                mime_type="application/json",
            ),
            types.Resource(
                uri=CHANGESETS_URI,
                name="changesets",
                description="Every changeset with its status, author and files.",
                mime_type="application/json",
            ),
        ]
        scripts = [
            types.Resource(uri=FILES + rel, name=rel, mime_type=_mime(rel))
            for rel in await anyio.to_thread.run_sync(reads.scripts, self.root)
        ]
        return types.ListResourcesResult(resources=fixed + scripts)

    async def _read_resource(
        self, ctx: ServerRequestContext, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri = str(params.uri)
        try:
            if uri == PROJECT_URI:
                text, mime = await anyio.to_thread.run_sync(reads.project_text, self.root), None
            elif uri == TIMELINE_URI:
                text = json.dumps(await anyio.to_thread.run_sync(reads.timeline, self.root))
                mime = "application/json"
            elif uri == CHANGESETS_URI:
                text = json.dumps(await reads.changesets(self.root))
                mime = "application/json"
            elif uri.startswith(FILES):
                rel = uri[len(FILES) :]
                text, mime = await anyio.to_thread.run_sync(reads.script, self.root, rel), None
            else:
                raise ReelcutError(f"no resource {uri}; resources/list names them")
        except ReelcutError as exc:
            from mcp.shared.exceptions import MCPError

            raise MCPError(code=types.INVALID_PARAMS, message=str(exc)) from None
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, mime_type=mime or _mime(uri), text=text)]
        )

    async def _subscribe(
        self, ctx: ServerRequestContext, params: types.SubscribeRequestParams
    ) -> types.EmptyResult:
        self.legacy.setdefault(str(params.uri), set()).add(ctx.session)
        return types.EmptyResult()

    async def _unsubscribe(
        self, ctx: ServerRequestContext, params: types.UnsubscribeRequestParams
    ) -> types.EmptyResult:
        self.legacy.get(str(params.uri), set()).discard(ctx.session)
        return types.EmptyResult()

    # -- prompts -------------------------------------------------------------------------------

    async def _list_prompts(
        self, ctx: ServerRequestContext, params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        found = await anyio.to_thread.run_sync(reads.workflows, self.root)
        return types.ListPromptsResult(
            prompts=[
                types.Prompt(
                    name=w.name,
                    description=w.description or f"the workflow in {w.path}",
                    arguments=[
                        types.PromptArgument(
                            name="request", description="What to do", required=False
                        )
                    ],
                )
                for w in found
            ]
        )

    async def _get_prompt(
        self, ctx: ServerRequestContext, params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        found = await anyio.to_thread.run_sync(reads.workflows, self.root)
        w = next((w for w in found if w.name == params.name), None)
        if w is None:
            from mcp.shared.exceptions import MCPError

            names = ", ".join(x.name for x in found) or "none"
            raise MCPError(code=types.INVALID_PARAMS, message=f"no prompt {params.name!r}: {names}")
        request = (params.arguments or {}).get("request")
        text = w.system_instruction + (f"\n\n{request}" if request else "")
        return types.GetPromptResult(
            description=w.description,
            messages=[
                types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))
            ],
        )

    # -- change notifications ----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _lifespan(self, server: Server[Any]) -> AsyncIterator[dict[str, Any]]:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._watch)
            try:
                yield {}
            finally:
                tasks.cancel_scope.cancel()

    async def _watch(self) -> None:
        """Tell listeners what changed, from the project's event stream (whoever changed it)."""
        async for uris, listed in reads.changes(self.root):
            if listed:
                await self.bus.publish(ResourcesListChanged())
            for uri in uris:
                await self.bus.publish(ResourceUpdated(uri=uri))
                for session in list(self.legacy.get(uri, ())):
                    try:
                        await session.send_resource_updated(uri)
                    except Exception:  # that client went away: forget it
                        self.legacy[uri].discard(session)


def build(root: Path | str, *, auto_apply: bool = False) -> Server[Any]:
    """The MCP server of the project at ``root``."""
    return ReelcutMCP(root, auto_apply=auto_apply).server


def client_name(ctx: ServerRequestContext) -> str:
    """``mcp:<the client's name>``: the author of its changesets, as the review panel shows."""
    info = ctx.session.client_params.client_info if ctx.session.client_params else None
    name = "".join(c for c in (info.name if info else "client") if c.isprintable())[:40]
    return f"mcp:{name or 'client'}"


def _error(message: str, doc: dict[str, Any] | None) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=message)],
        structured_content=doc if isinstance(doc, dict) else None,
        is_error=True,
    )


def _mime(name: str) -> str:
    if name.endswith(".json"):
        return "application/json"
    if name.endswith(".md"):
        return "text/markdown"
    return "text/plain"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    with contextlib.suppress(PackageNotFoundError):
        return version("reelcut")
    return "0"
