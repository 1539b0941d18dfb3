"""The tool registry: what an agent (or any caller) can do to a project, and the audited way
every call runs.

A tool has a name, a description written for a model, a JSON schema for its arguments and an
async handler. ``run_tool`` validates the arguments against the schema before the handler runs,
lets the handler read the project through the changeset's overlay and say which files should
change, records the call's audit payload ``{before, after, meta}`` in ``tool_events`` *before*
the changes enter the changeset, and applies the changeset only when asked. An invalid call or a
handler's refusal is recorded too and comes back as a structured error a model can act on; it
changes no file and no changeset.

Arguments are checked as JSON means them, not as Python would take them: an integer is an
integer, so ``1.0`` or ``1e29`` where the schema says integer is refused (JSON Schema would take
any number with a zero fraction, and a handler then sliced a list with a float); arguments nested
deeper than `engine.jsoncheck.MAX_DEPTH` are refused before anything walks them; and a changeset
named by id must exist.

What a call costs is bounded by what it changes, not by the files it touches: for a file over
`engine.changes.delta.LARGE` bytes the audit records the file's sha256 and size on each side
and the lines that changed (its splices), and the answer (what the command line prints, what
goes back through the door) shows the hashes, sizes and a diff cut to
`engine.changes.delta.PREVIEW_CHARS`, never the file itself.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import jsonschema
from jsonschema import validators

from engine import sandbox
from engine.changes import delta
from engine.changes.ledger import ChangesetError, Ledger
from engine.changes.store import CallPlace
from engine.errors import ReelcutError
from engine.jsoncheck import MAX_DEPTH, explain, json_path, value_depth


class ToolError(ReelcutError):
    """A tool call that cannot run; the message tells a model what to do instead."""

    exit_code = 12


@dataclass
class Outcome:
    """What a handler produced: the result a model sees, the files that should change (path ->
    new text, None to delete) and notes for reviewers (ops, summaries)."""

    result: dict[str, Any]
    changes: dict[str, str | None] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


class Door(Protocol):
    """The open project's door (`engine.workspace.Workspace`), for the tools that start jobs
    and wait for them: they ask for what the command line would, through `call`."""

    async def call(self, name: str, params: dict[str, Any]) -> Any: ...


@dataclass
class ToolContext:
    ledger: Ledger
    changeset_id: int | None
    door: Door | None = None
    """The project's door where the caller has one (the holder's agent runs, `reelcut tool`
    through the door); the job tools refuse without it."""
    seen: dict[str, str | None] = field(default_factory=dict)
    """Files as the handler read them (normalized path -> text), so the call's audit and
    proposal use the same text without reading a large file again."""

    @property
    def root(self) -> Path:
        return self.ledger.files.root

    async def read(self, rel: str) -> str | None:
        """A file as this changeset sees it (its proposals over the disk)."""
        text = await self.ledger.read(self.changeset_id, rel)
        self.seen[sandbox.normalize(self.root, rel)] = text
        return text

    async def before(self, path: str) -> tuple[str | None]:
        """``path`` as the handler saw it, or as the changeset sees it now."""
        rel = sandbox.normalize(self.root, path)
        if rel not in self.seen:
            self.seen[rel] = await self.ledger.read(self.changeset_id, rel)
        return (self.seen[rel],)


Handler = Callable[[ToolContext, dict[str, Any]], Awaitable[Outcome]]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    schema: dict[str, Any]
    handler: Handler
    writes: bool
    uses_door: bool = False
    """Starts or waits for jobs through `ToolContext.door` (and may wait long): run outside
    the door's write lock, which the jobs it waits for need."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "parameters": self.schema,
            "writes": self.writes,
        }


REGISTRY: dict[str, Tool] = {}


def _is_integer(checker: object, instance: object) -> bool:
    """An integer as JSON writes one (``3``), not any number with a zero fraction (``3.0``)."""
    return isinstance(instance, int) and not isinstance(instance, bool)


ArgumentValidator: Any = validators.extend(  # type: ignore[no-untyped-call]  # jsonschema's stubs
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)
"""Draft 2020-12 with integers that are integers: what the handlers and the op structs (msgspec,
strict) take."""


def tool(
    name: str,
    description: str,
    properties: dict[str, Any] | None = None,
    required: list[str] | None = None,
    *,
    writes: bool,
    schema: dict[str, Any] | None = None,
    uses_door: bool = False,
) -> Callable[[Handler], Handler]:
    """Register a handler as tool ``name`` with an object schema of ``properties``, or with
    ``schema``, one built elsewhere (the timeline tools generate theirs from the op structs);
    either way a closed object schema, no other key allowed."""
    if schema is None:
        schema = {
            "type": "object",
            "properties": properties or {},
            "required": required or [],
            "additionalProperties": False,
        }
    elif properties is not None or required is not None:
        raise TypeError(f"tool {name}: give properties and required, or a schema, not both")
    if schema.get("type") != "object" or schema.get("additionalProperties") is not False:
        raise ValueError(f"tool {name}: the arguments must be an object with no other keys")
    jsonschema.Draft202012Validator.check_schema(schema)

    def register(handler: Handler) -> Handler:
        if name in REGISTRY:
            raise RuntimeError(f"tool {name} registered twice")
        REGISTRY[name] = Tool(
            name, " ".join(description.split()), schema, handler, writes, uses_door
        )
        return handler

    return register


def check_arguments(t: Tool, args: object) -> dict[str, Any]:
    """``args`` if it fits the tool's schema, else ToolError naming the first problem."""
    if value_depth(args, stop=MAX_DEPTH) > MAX_DEPTH:
        raise ToolError(
            f"invalid arguments for {t.name}: nested more than {MAX_DEPTH} levels deep; the "
            "schema is in `reelcut tools --json`"
        )
    validator = ArgumentValidator(t.schema)
    errors = sorted(validator.iter_errors(args), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path)
        raise ToolError(
            f"invalid arguments for {t.name}: {('$' + where) if where else 'arguments'}: "
            f"{_explain(e)}; the schema is in `reelcut tools --json`"
        )
    assert isinstance(args, dict)
    odd = _not_unicode(args)
    if odd is not None:
        raise ToolError(
            f"invalid arguments for {t.name}: {odd}: holds an unpaired surrogate (a \\ud800-"
            "style escape on its own), which is not text; write the character itself"
        )
    return args


def _not_unicode(args: dict[str, Any]) -> str | None:
    """The JSON path of the first string in ``args`` that cannot be written as UTF-8 (JSON lets
    ``"\\ud800"`` through, and saving it raised UnicodeEncodeError), else None."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(args, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            stack.extend((v, (*path, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(node))
        elif isinstance(node, str) and not node.isascii():
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return json_path(path)
    return None


def _explain(error: jsonschema.ValidationError) -> str:
    """What is wrong with one value (`engine.jsoncheck.explain`); for a value that fits none of a
    field's forms (a position is frames or timecode), what is wrong with it in the form of its
    own type, else which forms the field takes."""
    if error.validator != "oneOf" or not error.context:
        return explain(error)
    about = error.schema.get("description") if isinstance(error.schema, dict) else None
    wrong_type = {e.relative_schema_path[0] for e in error.context if e.validator == "type"}
    same_type = [e for e in error.context if e.relative_schema_path[0] not in wrong_type]
    if same_type and len({e.relative_schema_path[0] for e in same_type}) == 1:
        return explain(same_type[0]) + (f" ({about})" if about else "")
    shown = json.dumps(error.instance)[:60]
    return f"expected {about}, got {shown}" if about else error.message


Digest = tuple[str, int] | None


def _audits(
    seen: dict[str, tuple[str | None]], outcome: Outcome, names: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, tuple[Digest, Digest]]]:
    """The call's audit as recorded, and as its answer shows it.

    A file whose texts are at most `delta.LARGE` bytes appears whole in both. A larger one that
    exists before and after is recorded as ``{"sha256", "bytes"}`` on each side, the after side
    with the ``splices`` that made it, and shown with a diff preview instead of the splices; a
    large file created or deleted is recorded whole (all of it is the change) and shown as its
    hash and size. Third, `delta.digest` of each file's two texts, for the proposals."""
    recorded: dict[str, Any] = {"before": {}, "after": {}, "meta": outcome.meta}
    shown: dict[str, Any] = {"before": {}, "after": {}, "meta": outcome.meta}
    digests: dict[str, tuple[Digest, Digest]] = {}
    for path, after in outcome.changes.items():
        (before,) = seen[path]
        sides = [None if text is None else delta.digest(text) for text in (before, after)]
        digests[path] = (sides[0], sides[1])
        if all(side is None or side[1] <= delta.LARGE for side in sides):
            for audit in (recorded, shown):
                audit["before"][path], audit["after"][path] = before, after
            continue
        summary = [None if s is None else {"sha256": s[0], "bytes": s[1]} for s in sides]
        shown["before"][path], shown["after"][path] = summary
        if before is None or after is None:
            recorded["before"][path], recorded["after"][path] = before, after
            continue
        found = delta.splices(before, after)
        recorded["before"][path] = summary[0]
        recorded["after"][path] = {**(summary[1] or {}), "splices": [list(s) for s in found]}
        shown["after"][path] = {
            **(summary[1] or {}),
            "diff": delta.preview(delta.unified(before, found, names[path])),
        }
    return recorded, shown, digests


def for_model(outcome: dict[str, Any]) -> dict[str, Any]:
    """What a model gets back from a tool call (not the audit's full before/after texts)."""
    if not outcome.get("ok"):
        out = {"ok": False, "error": outcome.get("error")}
        if outcome.get("changeset") is not None:
            out["changeset"] = outcome["changeset"]
        return out
    return {
        "ok": True,
        "result": outcome.get("result"),
        "changeset": outcome.get("changeset"),
        "applied": outcome.get("applied", False),
    }


async def record_refused(
    ledger: Ledger,
    name: str,
    args: object,
    error: str,
    *,
    changeset_id: int | None = None,
    call: CallPlace | None = None,
) -> dict[str, Any]:
    """Put a call that was not run on record (an unknown tool, arguments that do not fit, a
    call the run refused) and return what its caller is told."""
    outcome = {"ok": False, "error": error, "changeset": changeset_id}
    if value_depth(args, stop=MAX_DEPTH) > MAX_DEPTH:  # writing them out would recurse as deep
        args = {"_": f"(arguments nested more than {MAX_DEPTH} levels deep, not kept)"}
    await ledger.store.record_tool(
        changeset_id,
        name,
        args if isinstance(args, dict) else {"_": args},
        {"before": {}, "after": {}, "meta": {}},
        ok=False,
        error=error,
        call=call,
        result=for_model(outcome),
    )
    return outcome


async def run_tool(
    ledger: Ledger,
    name: str,
    args: object,
    *,
    changeset_id: int | None = None,
    apply: bool = False,
    author: str = "agent",
    reason: str = "",
    call: CallPlace | None = None,
    door: Door | None = None,
) -> dict[str, Any]:
    """Run one tool call end to end; return what the caller (a model) gets back.

    The call is on record (``tool_events``, with ``call``'s run, step and place when an agent
    made it) whatever becomes of it: an unknown tool, arguments that do not fit the schema and
    a handler's refusal are recorded as failed calls. A call that proposes changes is recorded
    in the same transaction as its proposals. With ``apply``, a changeset the ledger refuses to
    apply (a file changed since, or a change that would leave a file reelcut reads invalid)
    stays ready for review and the call says so."""
    store = ledger.store
    if changeset_id is not None and (
        not isinstance(changeset_id, int)
        or isinstance(changeset_id, bool)
        or await store.get(changeset_id) is None
    ):
        # Checked first: the refusal itself is recorded, and a record cannot name a changeset
        # that does not exist (it once ended in the database's IntegrityError).
        return await record_refused(
            ledger,
            name,
            args,
            f"no changeset {changeset_id}; `reelcut changes DIR list` shows them, or leave "
            "out --changeset to start a new one",
            call=call,
        )
    t = REGISTRY.get(name)
    if t is None:
        known = ", ".join(sorted(REGISTRY))
        return await record_refused(
            ledger,
            name,
            args,
            f"no tool {name!r}; tools are {known}",
            call=call,
            changeset_id=changeset_id,
        )
    try:
        checked = check_arguments(t, args)
        if changeset_id is not None:
            cs = await ledger._get(changeset_id)
            if cs.status not in ("pending", "ready"):
                raise ToolError(
                    f"changeset {changeset_id} is {cs.status}; leave out --changeset to start "
                    "a new one"
                )
        ctx = ToolContext(ledger, changeset_id, door)
        outcome = await t.handler(ctx, checked)
    except ReelcutError as exc:
        return await record_refused(
            ledger, name, args, str(exc), changeset_id=changeset_id, call=call
        )
    given = changeset_id
    try:
        async with store.transaction():
            if outcome.changes and changeset_id is None:
                changeset_id = await store.create(author, reason or f"{name} {json.dumps(checked)}")
            seen = {path: await ctx.before(path) for path in outcome.changes}
            names = {path: sandbox.normalize(ledger.files.root, path) for path in seen}
            recorded, audit, digests = await asyncio.to_thread(_audits, seen, outcome, names)
            done: dict[str, Any] = {
                "ok": True,
                "changeset": changeset_id,
                "applied": False,
                "result": outcome.result,
                "audit": audit,
            }
            # Audit first: the call is on record before any proposal exists, applied or not.
            event = await store.record_tool(
                changeset_id, name, checked, recorded, ok=True, call=call, result=for_model(done)
            )
            del recorded
            if outcome.changes:
                assert changeset_id is not None
                for path in outcome.changes:  # no loop variable left holding a text
                    before_digest, after_digest = digests[path]
                    await ledger.propose(
                        changeset_id,
                        path,
                        outcome.changes[path],
                        seen=(seen[path][0], before_digest and before_digest[0]),
                        after_digest=after_digest,
                    )
                await ledger.mark_ready(changeset_id)
    except ReelcutError as exc:  # a proposal the ledger refused: nothing of it stays
        return await record_refused(ledger, name, args, str(exc), changeset_id=given, call=call)
    changed = bool(outcome.changes)
    del outcome, seen, ctx  # a large file's texts: the apply reads what it needs itself
    if changed and apply:
        assert changeset_id is not None
        try:
            await ledger.apply(changeset_id)
        except ChangesetError as exc:
            done = {
                "ok": False,
                "error": f"proposed in changeset {changeset_id}, not applied: {exc}",
                "changeset": changeset_id,
                "audit": audit,
            }
        else:
            done["applied"] = True
        await store.set_tool_result(event, for_model(done))
    return done
