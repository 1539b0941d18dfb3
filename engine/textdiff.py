"""Git-style unified diffs of text files: byte-faithful, fast on every input, and verifiable.

``unified_diff(before, after, path)`` writes what ``git diff`` would (``diff --git`` header,
``@@`` hunks, ``\\ No newline at end of file`` markers, ``/dev/null`` for created and deleted
files) so that ``git apply`` takes it; ``apply_unified`` is a strict applier for these diffs and
``diff_stats`` counts their lines. Writer and reader share this one format, so they live together.

Lines are split on ``\\n`` only, so a ``\\r`` stays part of its line and a CRLF -> LF flip shows
as changed lines, exactly as git shows it. Which lines changed is engine.linediff's job (bounded
time on any input); this module turns its change blocks into hunks and back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from engine.linediff import Block, line_changes

__all__ = ["PatchRejected", "apply_unified", "diff_stats", "unified_diff"]

NO_EOL = "\\ No newline at end of file"
FILE_MODE = "100644"

Kind = Literal["modify", "create", "delete"]


class PatchRejected(ValueError):
    """A diff is malformed or does not apply to the given text; the message says where."""


# --- splitting ---------------------------------------------------------------------------------


def _split(text: str) -> list[str]:
    """The lines of ``text`` without their ``\\n``; a last line that has no ``\\n`` keeps a
    ``\\n`` appended instead, which no other line can contain, so "x" at the end of a file never
    matches "x\\n" in the middle of another."""
    lines = text.split("\n")
    last = lines.pop()
    if last:
        lines.append(last + "\n")
    return lines


def _keepends(text: str) -> list[str]:
    """The lines of ``text`` split on ``\\n`` only, each with its ``\\n`` (the last maybe not)."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    if not lines[-1]:
        lines.pop()
    return lines


# --- writing -----------------------------------------------------------------------------------


def _quote(name: str) -> str:
    """``name`` as git prints it: C-quoted (octal UTF-8 bytes) if it has odd characters."""
    if all(" " <= c <= "~" and c not in '"\\' for c in name):
        return name
    escapes = {'"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n"}
    escapes |= {"\v": "\\v", "\f": "\\f", "\r": "\\r"}
    parts = ['"']
    for c in name:
        if c in escapes:
            parts.append(escapes[c])
        elif " " <= c <= "~":
            parts.append(c)
        else:
            parts.extend(f"\\{byte:03o}" for byte in c.encode("utf-8", "surrogateescape"))
    parts.append('"')
    return "".join(parts)


def _range(start: int, count: int) -> str:
    if count == 1:
        return str(start + 1)
    return f"{start + 1 if count else start},{count}"


def _emit(out: list[str], prefix: str, lines: list[str], i: int, j: int) -> None:
    """Append lines[i:j] as diff lines; a last line without newline gets the git marker."""
    if i >= j:
        return
    out.extend([prefix + line + "\n" for line in lines[i:j]])
    if j == len(lines) and lines[-1].endswith("\n"):
        out[-1] = prefix + lines[-1] + NO_EOL + "\n"


def _hunks(a: list[str], b: list[str], blocks: list[Block], context: int) -> list[str]:
    out: list[str] = []
    g = 0
    while g < len(blocks):
        h = g
        while h + 1 < len(blocks) and blocks[h + 1][0] - blocks[h][1] <= 2 * context:
            h += 1
        first = blocks[g]
        last = blocks[h]
        a_start = max(0, first[0] - context)
        b_start = first[2] - (first[0] - a_start)
        a_end = min(len(a), last[1] + context)
        b_end = last[3] + (a_end - last[1])
        out.append(
            f"@@ -{_range(a_start, a_end - a_start)} +{_range(b_start, b_end - b_start)} @@\n"
        )
        cursor = a_start
        for a0, a1, b0, b1 in blocks[g : h + 1]:
            _emit(out, " ", a, cursor, a0)
            _emit(out, "-", a, a0, a1)
            _emit(out, "+", b, b0, b1)
            cursor = a1
        _emit(out, " ", a, cursor, a_end)
        g = h + 1
    return out


def unified_diff(before: str | None, after: str | None, path: str, *, context: int = 3) -> str:
    """The git-style diff turning ``before`` into ``after`` at ``path``; "" when they are equal.

    ``None`` on one side means the file does not exist there: the diff creates or deletes it
    (``new file mode 100644`` / ``deleted file mode 100644``, ``/dev/null`` on that side).
    ``git apply`` accepts the result against ``before``; so does :func:`apply_unified`.
    """
    if before is None and after is None:
        raise ValueError("unified_diff: before and after cannot both be None")
    if not path or path.startswith("/"):
        raise ValueError(f"unified_diff: path must be relative and non-empty, got {path!r}")
    if context < 0:
        raise ValueError(f"unified_diff: context must be >= 0, got {context}")
    if before == after:
        return ""
    a = _split(before or "")
    b = _split(after or "")
    name_a = _quote("a/" + path)
    name_b = _quote("b/" + path)
    tab = "\t" if " " in path else ""  # as git does, so a name's end is not in doubt
    out = [f"diff --git {name_a} {name_b}\n"]
    if before is None:
        out.append(f"new file mode {FILE_MODE}\n")
    elif after is None:
        out.append(f"deleted file mode {FILE_MODE}\n")
    if a or b:
        out.append("--- /dev/null\n" if before is None else f"--- {name_a}{tab}\n")
        out.append("+++ /dev/null\n" if after is None else f"+++ {name_b}{tab}\n")
        out.extend(_hunks(a, b, line_changes(a, b), context))
    return "".join(out)


# --- reading -----------------------------------------------------------------------------------


@dataclass
class _Hunk:
    old_start: int  # 0-based index of the first old line the hunk covers
    old_count: int
    new_count: int
    lines: list[tuple[str, str]]  # (" " | "-" | "+", the line with its "\n" unless at EOF)


@dataclass
class _FilePatch:
    kind: Kind = "modify"
    hunks: list[_Hunk] = field(default_factory=list)


def _parse_range(text: str, where: str) -> tuple[int, int]:
    start, _, count = text.partition(",")
    if not start.isdigit() or (count and not count.isdigit()):
        raise PatchRejected(f"{where}: bad hunk range {text!r}")
    n = int(count) if count else 1
    return (int(start) - 1 if n else int(start)), n


def _parse(diff: str) -> list[_FilePatch]:
    """The file patches of a diff in the form :func:`unified_diff` writes."""
    if not diff:
        return []
    if not diff.endswith("\n"):
        raise PatchRejected("diff does not end with a newline")
    lines = diff.split("\n")
    lines.pop()
    patches: list[_FilePatch] = []
    k = 0
    while k < len(lines):
        if not lines[k].startswith("diff --git "):
            raise PatchRejected(f"line {k + 1}: expected 'diff --git', got {lines[k][:60]!r}")
        patch = _FilePatch()
        patches.append(patch)
        k += 1
        if k < len(lines) and lines[k] == f"new file mode {FILE_MODE}":
            patch.kind = "create"
            k += 1
        elif k < len(lines) and lines[k] == f"deleted file mode {FILE_MODE}":
            patch.kind = "delete"
            k += 1
        if k < len(lines) and lines[k].startswith("index "):
            k += 1
        if k == len(lines) or lines[k].startswith("diff --git "):
            if patch.kind == "modify":
                raise PatchRejected(f"line {k}: a file diff with no hunks changes nothing")
            continue
        if not (lines[k].startswith("--- ") and k + 1 < len(lines)):
            raise PatchRejected(f"line {k + 1}: expected '--- a/PATH'")
        if not lines[k + 1].startswith("+++ "):
            raise PatchRejected(f"line {k + 2}: expected '+++ b/PATH'")
        if (lines[k] == "--- /dev/null") != (patch.kind == "create") or (
            lines[k + 1] == "+++ /dev/null"
        ) != (patch.kind == "delete"):
            raise PatchRejected(f"line {k + 1}: /dev/null does not match the file mode line")
        k += 2
        while k < len(lines) and lines[k].startswith("@@ "):
            k = _parse_hunk(lines, k, patch)
        if not patch.hunks:
            raise PatchRejected(f"line {k + 1}: expected a hunk ('@@ -l,s +l,s @@')")
    return patches


def _parse_hunk(lines: list[str], k: int, patch: _FilePatch) -> int:
    where = f"line {k + 1}"
    parts = lines[k].split(" ", 4)
    if len(parts) < 4 or parts[3] != "@@" or parts[1][:1] != "-" or parts[2][:1] != "+":
        raise PatchRejected(f"{where}: bad hunk header {lines[k][:60]!r}")
    old_start, old_count = _parse_range(parts[1][1:], where)
    _, new_count = _parse_range(parts[2][1:], where)
    hunk = _Hunk(old_start, old_count, new_count, [])
    old = new = 0
    k += 1
    while old < old_count or new < new_count:
        if k == len(lines):
            raise PatchRejected(f"{where}: hunk ends early (diff truncated?)")
        op, text = lines[k][:1], lines[k][1:]
        if op == " ":
            old += 1
            new += 1
        elif op == "-":
            old += 1
        elif op == "+":
            new += 1
        else:
            raise PatchRejected(f"line {k + 1}: expected ' ', '-' or '+', got {lines[k][:60]!r}")
        if old > old_count or new > new_count:
            raise PatchRejected(f"{where}: hunk has more lines than its header says")
        k += 1
        if k < len(lines) and lines[k] == NO_EOL:
            k += 1
        else:
            text += "\n"
        hunk.lines.append((op, text))
    if patch.hunks and old_start < patch.hunks[-1].old_start + patch.hunks[-1].old_count:
        raise PatchRejected(f"{where}: hunks overlap or are out of order")
    patch.hunks.append(hunk)
    return k


def apply_unified(before: str | None, diff: str) -> str | None:
    """Apply a one-file diff from :func:`unified_diff` to ``before``, strictly: every context and
    removed line must match exactly where the hunk says (no fuzz, no offsets).

    ``None`` stands for a missing file, as in :func:`unified_diff`: a creation diff needs
    ``before is None`` and a deletion diff returns None. An empty diff returns ``before``.
    Raises :class:`PatchRejected` naming the first line that does not fit.
    """
    patches = _parse(diff)
    if not patches:
        return before
    if len(patches) != 1:
        raise PatchRejected(f"expected a diff of one file, got {len(patches)}")
    patch = patches[0]
    if (before is None) != (patch.kind == "create"):
        state = "a missing file" if before is None else "an existing file"
        raise PatchRejected(f"a {patch.kind} diff cannot apply to {state}")
    old = _keepends(before or "")
    new: list[str] = []
    cursor = 0
    for hunk in patch.hunks:
        if hunk.old_start > len(old):
            raise PatchRejected(f"hunk at old line {hunk.old_start + 1} is past the end")
        new.extend(old[cursor : hunk.old_start])
        cursor = hunk.old_start
        for op, text in hunk.lines:
            if op != "+":
                if cursor >= len(old) or old[cursor] != text:
                    have = old[cursor] if cursor < len(old) else "end of file"
                    raise PatchRejected(
                        f"old line {cursor + 1}: expected {text[:60]!r}, found {have[:60]!r}"
                    )
                cursor += 1
            if op != "-":
                new.append(text)
    new.extend(old[cursor:])
    if any(not line.endswith("\n") for line in new[:-1]):
        raise PatchRejected("a line without newline is not the last line of the result")
    if patch.kind == "delete":
        if new:
            raise PatchRejected("deletion diff leaves lines behind")
        return None
    return "".join(new)


def diff_stats(diff: str) -> tuple[int, int]:
    """(lines added, lines removed) over every file of a diff written by :func:`unified_diff`."""
    added = removed = 0
    for patch in _parse(diff):
        for hunk in patch.hunks:
            for op, _ in hunk.lines:
                if op == "+":
                    added += 1
                elif op == "-":
                    removed += 1
    return added, removed
