"""The clip inspector (Shift+I): one clip's properties, and the ones an op can change edited in
place.

It shows the clip (name, kind, track, asset, source range, start and duration, link) and edits
its picture on a video track (x, y, scale, rotation, opacity: `SetTransform`), its sound
(gain in dB, fade-in and fade-out in frames: `SetAudio`, on the audio partner of a linked
video clip) and a text clip's text, size and colour (`EditText`). Enter in any field checks
them all and closes with the ops that make the changes, at most one per group (nothing
changed: none); a bad value is one line under the fields and nothing is sent. The editor
screen hands each op to the door, so each group changed is one undo step. Escape closes
without a change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from engine.model import MAX_GAIN_DB, MIN_GAIN_DB, Clip, ClipAudio, Project, Track, Transform
from engine.ops import EditText, Op, SetAudio, SetTransform
from engine.timebase import format_timecode
from tui import navigate as nav

if TYPE_CHECKING:
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


def describe(project: Project, seen: Inspected) -> list[str]:
    """The read-only lines: what the clip is and where it plays from."""
    clip, rate = seen.clip, project.rate

    def tc(frame: int) -> str:
        return format_timecode(frame, rate)

    asset = project.asset(clip.asset_id) if clip.asset_id else None
    lines = [
        f"{clip.kind} clip on {seen.track.name}"
        + (f"  asset {asset.name} ({asset.id}, {asset.kind})" if asset else ""),
        f"start {tc(clip.start)}  duration {clip.duration} frames  end {tc(clip.end)}",
    ]
    if clip.kind != "text":
        lines.append(
            f"source {tc(clip.source_in)} - {tc(clip.source_in + clip.duration)} "
            f"(frames {clip.source_in}-{clip.source_in + clip.duration})"
        )
    if clip.linked_id:
        lines.append(f"linked to {clip.linked_id}")
    return lines


class ClipInspector(ModalScreen[list[Op] | None]):
    """A clip's properties; closes with the ops for what was changed, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

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
            yield Label("", classes="dialog-error", id="inspector-error")
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
            self.query_one("#inspector-error", Label).update(str(exc))
            return
        self.dismiss(ops)

    def change(self) -> list[Op]:
        """The ops the fields ask for (none when they change nothing); ValueError naming the
        first bad field, checked before any op is made."""
        ops: list[Op | None] = []
        if self.seen.track.kind == "video":
            ops.append(self._picture_change(self.seen.clip))
        if self.seen.sound is not None:
            ops.append(self._sound_change(self.seen.sound))
        if self.seen.clip.text is not None:
            ops.append(self._text_change(self.seen.clip))
        return [op for op in ops if op is not None]

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

    def _sound_change(self, target: Clip) -> Op | None:
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
        if fades[0] + fades[1] > target.duration:
            raise ValueError(
                f"fades of {fades[0]} + {fades[1]} frames do not fit in the clip "
                f"({target.duration} frames)"
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


def open_inspector(screen: EditorScreen) -> None:
    """Shift+I: the inspector for the first selected clip, else the clip under the playhead on
    the current track; its op goes to the door as one undoable edit."""
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

    async def apply(ops: list[Op]) -> None:
        for op in ops:  # one undo step each; a refusal (said on the status line) stops it
            if await screen._apply(op, "inspector") is None:
                return

    def done(ops: list[Op] | None) -> None:
        if ops:
            screen.run_worker(apply(ops), group="inspector")

    app.push_screen(ClipInspector(project, seen), done)
