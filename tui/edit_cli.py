"""``reelcut edit DIR OP ...``: every timeline operation from the command line.

The options of each op are generated from its struct fields, so the command line, the JSON
form (``reelcut edit DIR --op-json '{"op": "move", ...}'``) and the agent's tools always agree.
Positions (``--at``, ``--to``, ``--start``, ``--end``, marks) and lengths (``--fade-in``,
``--fade-out``) accept frames or timecode; ``--by`` takes signed frames or signed timecode;
``--gain-db`` takes decibels (``-6``, ``3.5``).
"""

from __future__ import annotations

import argparse
import json
import types
import typing
from typing import Any, Literal, get_args, get_origin

import msgspec

from engine.errors import ReelcutError
from engine.ops import ALL, Op, decode_op
from engine.timebase import Rate, parse_position

POSITION_FIELDS = {"at", "to", "start", "end", "mark_in", "mark_out", "fade_in", "fade_out"}
DELTA_FIELDS = {"by"}


def op_command(cls: type[Op]) -> str:
    return str(cls.__struct_config__.tag).replace("_", "-")


def add_edit_parsers(sub: Any) -> None:
    p = sub.add_parser("edit", help="apply a timeline operation (see `reelcut edit DIR -h`)")
    p.add_argument("dir")
    p.add_argument("--op-json", help="the operation as JSON instead of an OP subcommand")
    p.add_argument("--json", action="store_true", help="print the change as JSON")
    ops = p.add_subparsers(dest="op", metavar="OP")
    for cls in ALL:
        if cls.__name__ == "Batch":
            continue
        doc = (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        op_parser = ops.add_parser(
            op_command(cls),
            help=doc,
            description=cls.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        op_parser.set_defaults(op_class=cls)
        op_parser.add_argument(
            "--json",
            action="store_true",
            default=argparse.SUPPRESS,
            help="print the change as JSON",
        )
        for field in msgspec.structs.fields(cls):
            _add_field(op_parser, field)


def _add_field(parser: argparse.ArgumentParser, field: msgspec.structs.FieldInfo) -> None:
    flag = "--" + field.name.replace("_", "-")
    required = field.required
    tp = _strip_optional(field.type)
    kwargs: dict[str, Any] = {"dest": field.name, "required": required}
    if tp is bool:
        kwargs.pop("required")
        parser.add_argument(
            flag, action=argparse.BooleanOptionalAction, default=None, dest=field.name
        )
        return
    if get_origin(tp) is tuple:
        kwargs["nargs"] = "+"
        kwargs["metavar"] = "ID"
    elif get_origin(tp) is Literal:
        kwargs["choices"] = list(get_args(tp))
    elif field.name in POSITION_FIELDS or field.name in DELTA_FIELDS:
        kwargs["metavar"] = "FRAMES|TC"
    elif tp is int:
        kwargs["type"] = int
    elif tp is float:
        kwargs["type"] = float
        kwargs["metavar"] = "DB" if field.name.endswith("_db") else "NUMBER"
    parser.add_argument(flag, **kwargs)


def _strip_optional(tp: Any) -> Any:
    """The type a field's values have: ``Frame | None`` is ``int`` (its bounds, in the
    ``Annotated`` metadata, are checked when the op is decoded)."""
    if get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            tp = args[0]
    if get_origin(tp) is typing.Annotated:
        tp = get_args(tp)[0]
    return tp


def build_op(args: argparse.Namespace, rate: Rate) -> Op:
    """The op an ``edit`` command line asks for (positions converted to frames)."""
    if args.op_json:
        try:
            return decode_op(args.op_json.encode())
        except ReelcutError:
            raise
        except ValueError as exc:
            raise ReelcutError(f"--op-json is not valid JSON: {exc}") from None
    cls = getattr(args, "op_class", None)
    if cls is None:
        raise ReelcutError(
            "name an operation, e.g. `reelcut edit DIR blade --at 00:00:05:00` "
            "(`reelcut edit DIR -h` lists them)"
        )
    values: dict[str, Any] = {}
    for field in msgspec.structs.fields(cls):
        value = getattr(args, field.name, None)
        if value is None:
            continue
        if field.name in POSITION_FIELDS:
            value = parse_position(value, rate)
        elif field.name in DELTA_FIELDS:
            value = _parse_delta(value, rate)
        elif isinstance(value, list):
            value = tuple(value)
        values[field.name] = value
    return decode_op({"op": cls.__struct_config__.tag, **values})


def _parse_delta(text: str, rate: Rate) -> int:
    text = text.strip()
    sign = -1 if text.startswith("-") else 1
    return sign * parse_position(text.lstrip("+-"), rate)


def print_change(change: Any, as_json: bool) -> None:
    """A session's `Change`, or its JSON as the door returns it."""
    doc = change if isinstance(change, dict) else change.to_json()
    if as_json:
        print(json.dumps(doc, indent=2))
    else:
        print(f"r{doc['revision']}: {doc['summary']}")
