"""The clip inspector (Shift+I): one clip's properties, and the ones an op can change edited in
place.

It shows the clip (name, kind, track, asset, end, source out, link) and edits its place (start
on the track, duration and source in, as frames or timecode or ``+N`` / ``-N`` from the value:
`Trim` of the out point, `Slip`, `Move` refusing to cover another clip, which a linked partner
follows), its picture on a video track (x, y, scale, rotation, opacity: `SetTransform`), its
sound (gain in dB, fade-in and fade-out in frames: `SetAudio`, on the audio partner of a linked
video clip) and a text clip's text, size and colour (`EditText`). Enter in any field checks
them all, tries the ops on the project as it is (so an overlap, a range past the media's end or
a negative value is refused here, in one line under the fields, with nothing sent) and closes
with them (nothing changed: none). The editor applies them as one undo step. Escape closes
without a change.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from engine.errors import ReelcutError
from engine.model import MAX_GAIN_DB, MIN_GAIN_DB, Clip, ClipAudio, Project, Track, Transform
from engine.ops import EditText, Move, Op, OpError, Overlap, SetAudio, SetTransform, Slip, Trim
from engine.timebase import format_timecode
from tui import navigate as nav
from tui.form_keys import FORM_FOCUS_KEYS

if TYPE_CHECKING:
    from engine.workspace import Change
    from tui.editor_screen import EditorScreen


@dataclass(frozen=True)
class Inspected:
    """What the inspector looks at: the clip, its track, and the clip that carries its sound
    (itself on an audio track, its linked audio partner for a linked video clip, else None)."""

    clip: Clip
    track: Track
    sound: Clip | None

    @classmethod
    def of(cls, project: Project, clip_id: str) -> Inspected | None:
        by_id = {c.id: (t, c) for t in project.tracks for c in t.clips}
        found = by_id.get(clip_id)
        if found is None:
            return None
        track, clip = found
        sound: Clip | None = clip if track.kind == "audio" else None
        if sound is None and clip.linked_id in by_id:
            ptrack, partner = by_id[clip.linked_id]
            sound = partner if ptrack.kind == "audio" else None
        return cls(clip, track, sound)


def has_source(project: Project, clip: Clip) -> bool:
    """Whether ``clip`` plays a range of something that runs in time (video, audio, a Remotion
    clip): a title or a still has no source in worth editing."""
    if clip.kind == "remotion":
        return True
    asset = project.asset(clip.asset_id) if clip.asset_id else None
    return asset is not None and asset.kind in ("video", "audio")


def describe(project: Project, seen: Inspected) -> list[str]:
    """The read-only lines: what the clip is, where it ends and where its source ends (its
    start, duration and source in are fields)."""
    clip, rate = seen.clip, project.rate

    def tc(frame: int) -> str:
        return format_timecode(frame, rate)

    asset = project.asset(clip.asset_id) if clip.asset_id else None
    media = asset.media if asset is not None and asset.kind in ("video", "audio") else None
    out = clip.source_in + clip.duration
    lines = [
        f"{clip.kind} clip on {seen.track.name}"
        + (f"  asset {asset.name} ({asset.id}, {asset.kind})" if asset else ""),
        f"end {tc(clip.end)}"
        + (
            f"  source out {tc(out)} (frame {out}"
            + (f" of {media.duration_frames})" if media is not None else ")")
            if has_source(project, clip)
            else ""
        ),
    ]
    if clip.linked_id:
        lines.append(f"linked to {clip.linked_id}")
    return lines


class ClipInspector(ModalScreen[list[Op] | None]):
    """A clip's properties; closes with the ops for what was changed, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), *FORM_FOCUS_KEYS]

    DEFAULT_CSS = """
    ClipInspector .inspector-row { height: 1; }
    ClipInspector .inspector-row Label { width: 12; }
    ClipInspector .inspector-row Input { width: 1fr; }
    """

    def __init__(self, project: Project, seen: Inspected) -> None:
        super().__init__(classes="script-dialog")
        self.project = project
        self.seen = seen

    def compose(self) -> ComposeResult:
        clip = self.seen.clip
        with Vertical(classes="dialog-box", id="inspector"):
            yield Label(f"{clip.name or clip.id} ({clip.id})", classes="dialog-title")
            for line in describe(self.project, self.seen):
                yield Label(line, classes="dim")
            if self.seen.track.kind == "video":
                t = clip.transform or Transform()
                yield Label("picture (x, y: pixels from the centre)", classes="dialog-title")
                yield from self._field("x", "x", f"{t.x:g}")
                yield from self._field("y", "y", f"{t.y:g}")
                yield from self._field("scale", "scale", f"{t.scale:g}")
                yield from self._field("rotation", "rotation", f"{t.rotation:g}")
                yield from self._field("opacity", "opacity", f"{t.opacity:g}")
            if self.seen.sound is not None:
                sound = self.seen.sound.sound
                where = "" if self.seen.sound is clip else f" (on {self.seen.sound.id})"
                yield Label(f"sound{where}", classes="dialog-title")
                yield from self._field("gain dB", "gain_db", f"{sound.gain_db:g}")
                yield from self._field("fade in", "fade_in", str(sound.fade_in))
                yield from self._field("fade out", "fade_out", str(sound.fade_out))
            if clip.text is not None:
                yield Label("text", classes="dialog-title")
                yield from self._field("text", "text", clip.text.text)
                yield from self._field("size", "size", str(clip.text.size))
                yield from self._field("colour", "color", clip.text.color)
            # The place comes last: the picture, sound and text fields keep the places (and
            # the first one the focus) they had before it was editable.
            rate = self.project.rate
            place = "place (frames or timecode; +N / -N: from the value)"
            yield Label(place, classes="dialog-title")
            yield from self._field("start", "start", format_timecode(clip.start, rate))
            yield from self._field("duration", "duration", str(clip.duration))
            if has_source(self.project, clip):
                yield from self._field("source in", "source_in", str(clip.source_in))
            # Shown only with a refusal: at 80x24 a linked video clip's fields and the keys
            # line take every row.
            error = Label("", classes="dialog-error", id="inspector-error")
            error.display = False
            yield error
            yield Label("Enter  apply    Tab  next field    Esc  close", classes="dialog-keys")

    def _field(self, label: str, name: str, value: str) -> ComposeResult:
        with Horizontal(classes="inspector-row"):
            yield Label(label)
            yield Input(value, id=f"inspect-{name}", compact=True)

    def on_mount(self) -> None:
        inputs = self.query(Input)
        if inputs:
            inputs.first().focus()

    def _value(self, name: str) -> str:
        return self.query_one(f"#inspect-{name}", Input).value.strip()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            ops = self.change()
        except ValueError as exc:
            error = self.query_one("#inspector-error", Label)
            error.update(str(exc))
            error.display = True
            return
        self.dismiss(ops)

    def change(self) -> list[Op]:
        """The ops the fields ask for (none when they change nothing), in the order they apply;
        ValueError naming the first bad field, or the first op the project refuses (each is
        tried on the project in turn, so nothing is sent that would be refused)."""
        place, duration = self._place_change(self.seen.clip)
        ops: list[Op | None] = list(place)
        if self.seen.track.kind == "video":
            ops.append(self._picture_change(self.seen.clip))
        if self.seen.sound is not None:
            ops.append(self._sound_change(self.seen.sound, duration))
        if self.seen.clip.text is not None:
            ops.append(self._text_change(self.seen.clip))
        wanted = [op for op in ops if op is not None]
        project = self.project
        for op in wanted:
            try:
                project = op.apply(project).project
            except OpError as exc:
                raise ValueError(_refusal(op, exc)) from None
        return wanted

    def _frames(self, name: str, label: str, current: int) -> int:
        """A field of frames: a frame count or a timecode (filled from the right, as the go-to
        prompt reads it), or either as ``+N`` / ``-N`` from ``current``; never negative."""
        text = self._value(name)
        sign = text[:1] if text[:1] in "+-" else ""
        try:
            amount = nav.parse_goto(text[1:] if sign else text, self.project.rate, 0)
        except ReelcutError:
            raise ValueError(
                f"{label}: {text!r} is not frames (240), a timecode (00:00:08:00, 8:00) "
                "or an offset (+30, -1:00)"
            ) from None
        value = current + amount if sign == "+" else current - amount if sign else amount
        if value < 0:
            raise ValueError(f"{label}: {text!r} would be {value} frames; it cannot be negative")
        return value

    def _place_change(self, clip: Clip) -> tuple[list[Op], int]:
        """The ops that put ``clip`` at the start, duration and source in asked for, and the
        duration it ends with. Shortening goes first and lengthening last, so each op meets
        a clip that fits where the one before left it."""
        start = self._frames("start", "start", clip.start)
        duration = self._frames("duration", "duration", clip.duration)
        if duration < 1:
            raise ValueError("duration: a clip lasts at least one frame")
        source_in = clip.source_in
        if has_source(self.project, clip):
            source_in = self._frames("source_in", "source in", clip.source_in)
        ops: list[Op] = []
        grow = duration - clip.duration
        if grow < 0:
            ops.append(Trim(clip_id=clip.id, edge="out", by=grow))
        if source_in != clip.source_in:
            ops.append(Slip(clip_id=clip.id, by=source_in - clip.source_in))
        if start != clip.start:
            ops.append(Move(clip_ids=(clip.id,), to=start, mode="free"))
        if grow > 0:
            ops.append(Trim(clip_id=clip.id, edge="out", by=grow))
        return ops, duration

    def _number(self, name: str, label: str, low: float, high: float) -> float:
        text = self._value(name)
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{label}: {text!r} is not a number") from None
        if not low <= value <= high:
            raise ValueError(f"{label}: {value:g} is outside {low:g} to {high:g}")
        return value + 0.0

    def _picture_change(self, clip: Clip) -> Op | None:
        x = self._number("x", "x", -100_000, 100_000)
        y = self._number("y", "y", -100_000, 100_000)
        scale = self._number("scale", "scale", 0, 100)
        if scale == 0:
            raise ValueError("scale: must be more than 0")
        rotation = self._number("rotation", "rotation", -3600, 3600)
        opacity = self._number("opacity", "opacity", 0, 1)
        wanted = Transform(x=x, y=y, scale=scale, rotation=rotation, opacity=opacity)
        if wanted == (clip.transform or Transform()):
            return None
        return SetTransform(clip.id, x=x, y=y, scale=scale, rotation=rotation, opacity=opacity)

    def _sound_change(self, target: Clip, duration: int) -> Op | None:
        """`SetAudio` for the sound fields; the fades must fit in ``duration``, the length the
        place fields give the clip (a linked partner is trimmed with it)."""
        try:
            gain = float(self._value("gain_db").replace("dB", "").strip() or "0")
        except ValueError:
            raise ValueError(
                f"gain: {self._value('gain_db')!r} is not a number of dB "
                f"({MIN_GAIN_DB:g} to {MAX_GAIN_DB:+g})"
            ) from None
        if not MIN_GAIN_DB <= gain <= MAX_GAIN_DB:
            raise ValueError(f"gain: {gain:g} dB is outside {MIN_GAIN_DB:g} to {MAX_GAIN_DB:+g} dB")
        fades = []
        for name, label in (("fade_in", "fade in"), ("fade_out", "fade out")):
            text = self._value(name) or "0"
            if not text.isdigit():
                raise ValueError(f"{label}: {text!r} is not a number of frames")
            fades.append(int(text))
        if fades[0] + fades[1] > duration:
            raise ValueError(
                f"fades of {fades[0]} + {fades[1]} frames do not fit in the clip "
                f"({duration} frames)"
            )
        wanted = ClipAudio(gain_db=gain, fade_in=fades[0], fade_out=fades[1])
        if wanted == target.sound:
            return None
        return SetAudio(target.id, gain_db=gain, fade_in=fades[0], fade_out=fades[1])

    def _text_change(self, clip: Clip) -> Op | None:
        assert clip.text is not None
        text, size, color = self._value("text"), self._value("size"), self._value("color")
        if not size.isdigit() or not 1 <= int(size) <= 1000:
            raise ValueError(f"size: {size!r} is not a size from 1 to 1000 pixels")
        if not (len(color) in (7, 9) and color.startswith("#")):
            raise ValueError(f"colour: {color!r} is not #rrggbb")
        try:
            int(color[1:], 16)
        except ValueError:
            raise ValueError(f"colour: {color!r} is not #rrggbb") from None
        old = clip.text
        changed = {
            "text": text if text != old.text else None,
            "size": int(size) if int(size) != old.size else None,
            "color": color if color != old.color else None,
        }
        if all(v is None for v in changed.values()):
            return None
        return EditText(clip_id=clip.id, **changed)  # type: ignore[arg-type]

    def action_cancel(self) -> None:
        self.dismiss(None)


def _refusal(op: Op, exc: OpError) -> str:
    """One line for an op the project refuses, named by the field that asked for it."""
    label = {Move: "start", Trim: "duration", Slip: "source in"}.get(type(op), "")
    if isinstance(exc, Overlap):
        fix = "pick a free place" if isinstance(op, Move) else "make it shorter"
        return f"{label}: {exc.where}; {fix}"
    return f"{label}: {exc}" if label else str(exc)


def open_inspector(screen: EditorScreen) -> None:
    """Shift+I: the inspector for the first selected clip, else the clip under the playhead on
    the current track; its ops go to the door as one undoable edit."""
    app = screen.host
    project = app.project
    clip_id = app.selection[0] if app.selection else None
    if clip_id is None and 0 <= app.track_index < len(project.tracks):
        under = nav.clip_at(project.tracks[app.track_index], app.playhead)
        clip_id = under.id if under is not None else None
    seen = Inspected.of(project, clip_id) if clip_id else None
    if seen is None:
        app.flash("inspector: select a clip first (Tab selects the clip under the playhead)")
        return

    session = app.session

    def apply_all(ops: list[Op]) -> Change | None:
        """The ops as one undo step. They were tried on the project the inspector showed; if
        the project changed since and one is refused now, the ones before it are undone."""
        revision = session.revision
        summaries = []
        change = None
        try:
            with session.group():
                for op in ops:
                    change = session.apply(op)
                    summaries.append(change.summary)
        except ReelcutError:
            if session.revision != revision:
                session.undo()
            raise
        if change is None or len(ops) == 1:
            return change
        return dataclasses.replace(change, summary="inspector: " + "; ".join(summaries))

    async def apply(ops: list[Op]) -> None:
        await app._session_call(lambda: apply_all(ops), "inspector")

    def done(ops: list[Op] | None) -> None:
        if ops:
            screen.run_worker(apply(ops), group="inspector")

    app.push_screen(ClipInspector(project, seen), done)
