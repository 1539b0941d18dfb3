"""Argument parsing for the ``reelcut`` command line: malformed input is one line, never a
traceback.

`Parser` turns every argparse complaint into a `UsageError` (exit 2) that `tui.cli.main`
prints like any other error, as one line or, with ``--json``, as the one JSON document on
stdout. Numbers come through `int_between`, so a value out of range is refused where it is
typed rather than overflowing SQLite or the agent's loop later.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NoReturn

from engine.errors import UsageError

# The largest id SQLite can hold (a signed 64-bit integer).
MAX_ID = 2**63 - 1


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are raised, not printed with the usage and exited."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}; see `{self.prog} -h`")


def int_between(low: int, high: int, what: str = "a whole number") -> Callable[[str], int]:
    """An argparse ``type`` accepting integers in ``[low, high]`` only."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip(), 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is out of range ({low} to {high})")
        return value

    parse.__name__ = what  # argparse names the type in some messages
    parse.low, parse.high = low, high  # type: ignore[attr-defined]  # read by the CLI tests
    return parse


def id_arg(what: str) -> Callable[[str], int]:
    """A changeset, job, thread or run id: a positive integer that fits SQLite."""
    return int_between(1, MAX_ID, f"a {what} id (a positive whole number)")
