"""Markers and the in/out marks."""

from __future__ import annotations

import msgspec

from engine.model import Marker
from engine.ops.base import Frame, Op
from engine.ops.draft import Draft, OpError, SetEditor, SetMarker


class AddMarker(Op, frozen=True, tag="add_marker"):
    """Drop a named marker at a frame."""

    at: Frame
    name: str = ""
    color: str = "#ffcc00"

    def compile(self, d: Draft) -> str:
        if self.at < 0:
            raise OpError(f"position {self.at} is before the start of the timeline")
        marker = Marker(id=d.new_id("m"), frame=self.at, name=self.name, color=self.color)
        d.apply([SetMarker(None, marker)])
        return f"added marker {marker.name or marker.id} ({marker.id}) at {d.tc(self.at)}"


def _marker(d: Draft, marker_id: str) -> Marker:
    for m in d.markers:
        if m.id == marker_id or (m.name and m.name == marker_id):
            return m
    known = ", ".join(f"{m.id} ({m.name})" if m.name else m.id for m in d.markers) or "none"
    raise OpError(f"marker {marker_id!r} does not exist; markers are {known}")


class RemoveMarker(Op, frozen=True, tag="remove_marker"):
    marker_id: str

    def compile(self, d: Draft) -> str:
        m = _marker(d, self.marker_id)
        d.apply([SetMarker(m, None)])
        return f"removed marker {m.name or m.id}"


class EditMarker(Op, frozen=True, tag="edit_marker"):
    """Move, rename, recolour or annotate a marker (``note=""`` clears the note)."""

    marker_id: str
    at: Frame | None = None
    name: str | None = None
    color: str | None = None
    note: str | None = None

    def compile(self, d: Draft) -> str:
        m = _marker(d, self.marker_id)
        if self.at is not None and self.at < 0:
            raise OpError(f"position {self.at} is before the start of the timeline")
        after = msgspec.structs.replace(
            m,
            frame=m.frame if self.at is None else self.at,
            name=m.name if self.name is None else self.name,
            color=m.color if self.color is None else self.color,
            note=m.note if self.note is None else self.note,
        )
        d.apply([SetMarker(m, after)])
        return f"edited marker {after.name or after.id}"


class SetMarks(Op, frozen=True, tag="set_marks"):
    """Set or clear the in and out marks (``clear`` removes both)."""

    mark_in: Frame | None = None
    mark_out: Frame | None = None
    clear: bool = False

    def compile(self, d: Draft) -> str:
        ed = d.editor
        if self.clear:
            new_in, new_out = None, None
        else:
            new_in = ed.mark_in if self.mark_in is None else self.mark_in
            new_out = ed.mark_out if self.mark_out is None else self.mark_out
        for v in (new_in, new_out):
            if v is not None and v < 0:
                raise OpError(f"mark {v} is before the start of the timeline")
        if new_in is not None and new_out is not None and new_out <= new_in:
            raise OpError(
                f"the out mark ({d.tc(new_out)}) must come after the in mark ({d.tc(new_in)})"
            )
        d.apply([SetEditor(ed, msgspec.structs.replace(ed, mark_in=new_in, mark_out=new_out))])
        if new_in is None and new_out is None:
            return "cleared the in/out marks"
        shown = [
            f"in {d.tc(new_in)}" if new_in is not None else "",
            f"out {d.tc(new_out)}" if new_out is not None else "",
        ]
        return "marks: " + ", ".join(s for s in shown if s)
