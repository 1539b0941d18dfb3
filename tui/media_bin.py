"""The media bin: every asset of the project with its kind, its length, the state of its
derivatives as they build (proxy, thumbnails, waveform), and a mark for a file that is missing
or no longer the file it was imported as; under the list, the source view: the highlighted
item's own playhead and in/out marks, the source of a three-point edit.

The bin shows what it is given (`show`) and asks for everything else: it posts
`SourceChosen` when the highlight moves, and its keys are the screen's actions (source marks
and steps, import, relink), so the state stays in one place (`tui/bin_actions.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from engine.model import Asset, Project
from engine.timebase import Rate, format_timecode
from tui.three_point import Source, media_length

if TYPE_CHECKING:
    from engine.workspace import AssetStatus

KIND_MARK = {"video": "V", "audio": "A", "image": "I", "remotion": "R", "text": "T", "callout": "C"}
LABELS = {"proxy": "proxy", "thumbs": "thumbs", "peaks": "wave"}


@dataclass(frozen=True)
class Building:
    """A derivative job running now: its kind and how far it is (0..1)."""

    kind: str
    progress: float


def short_duration(frames: int, rate: Rate) -> str:
    """``1:05`` (minutes:seconds), ``1:02:03`` past an hour: a bin column, not a timecode."""
    seconds = frames * rate.den // rate.num
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def state_text(
    asset: Asset, status: AssetStatus | None, building: list[Building]
) -> tuple[Text, Text]:
    """What the bin says of an asset's media: a one-character flag for the narrow column
    (``!`` missing or changed, ``~`` building, ``.`` not built yet, blank when everything is
    there) and the words after the name (MISSING / CHANGED, what is building with its percent,
    what is not built yet)."""
    if asset.generation is not None and asset.generation.stage != "ready":
        return Text("~", style="yellow"), Text(asset.generation.stage, style="italic")
    if status is None:
        return Text(" "), Text("")
    if status.file == "missing":
        return Text("!", style="bold red"), Text("MISSING", style="bold red")
    if status.file == "changed":
        return Text("!", style="bold red"), Text("CHANGED", style="bold red")
    out = Text()
    for job in building:
        out.append(f"{LABELS.get(job.kind, job.kind)} {job.progress:.0%} ", style="yellow")
    running = {b.kind for b in building}
    todo = [k for k, done in status.derivatives.items() if not done and k not in running]
    if todo:
        out.append("no " + ",".join(LABELS.get(k, k) for k in todo), style="dim")
    out.rstrip()
    flag = Text("~", style="yellow") if building else Text(".", style="dim") if todo else Text(" ")
    return flag, out


class MediaBin(Vertical):
    """The assets and the source view. The list (``#bin-list``) takes the focus; the keys
    below work there. A row: kind (V A I R), a flag (``!`` missing or changed, ``~`` building,
    ``.`` derivatives not built yet), length, name, and what the flag means."""

    BINDINGS = [
        Binding("i", "screen.source_mark('in')", "Source in", id="bin.mark_in"),
        Binding("o", "screen.source_mark('out')", "Source out", id="bin.mark_out"),
        Binding("x", "screen.source_mark('clear')", "Clear source marks", id="bin.clear"),
        Binding("right", "screen.source_step(1)", "Source +1", show=False, id="bin.next"),
        Binding("left", "screen.source_step(-1)", "Source -1", show=False, id="bin.prev"),
        Binding("shift+right", "screen.source_seconds(1)", "Source +1 s", show=False),
        Binding("shift+left", "screen.source_seconds(-1)", "Source -1 s", show=False),
        Binding("a", "screen.import_media", "Import", id="bin.import"),
        Binding("r", "screen.relink_media", "Relink", id="bin.relink"),
    ]

    class SourceChosen(Message):
        """The highlight moved to ``asset_id``: it is the source of the next edit; ``done``
        when Enter chose it (the focus goes back to the timeline)."""

        def __init__(self, asset_id: str, done: bool = False) -> None:
            super().__init__()
            self.asset_id = asset_id
            self.done = done

    class Watched(Message):
        """The list took the focus (``on``) or lost it: the page shows the source while it
        has it."""

        def __init__(self, on: bool) -> None:
            super().__init__()
            self.on = on

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.asset_ids: list[str] = []
        self._shown: tuple[object, ...] = ()
        """What the list was last drawn from (redrawn only when it changes)."""

    def compose(self) -> ComposeResult:
        yield OptionList(id="bin-list")
        yield Static("no source: pick a clip, then i / o", id="bin-source")

    @property
    def highlighted(self) -> str | None:
        """The asset under the cursor."""
        i = self.query_one(OptionList).highlighted
        return self.asset_ids[i] if i is not None and 0 <= i < len(self.asset_ids) else None

    def show(
        self,
        project: Project,
        statuses: Mapping[str, AssetStatus],
        building: Mapping[str, list[Building]],
        source: Source | None,
    ) -> None:
        """Draw the assets of ``project`` with their media state, and the source view."""
        assets = [a for a in project.assets if a.kind not in ("text", "callout")]
        key = (
            tuple(assets),
            tuple(sorted(statuses.items(), key=lambda kv: kv[0])),
            tuple(sorted((k, tuple(v)) for k, v in building.items())),
            project.rate,
        )
        if key != self._shown:
            self._shown = key
            self._draw(project, assets, statuses, building)
        self._show_source(project, source)

    def _draw(
        self,
        project: Project,
        assets: list[Asset],
        statuses: Mapping[str, AssetStatus],
        building: Mapping[str, list[Building]],
    ) -> None:
        options = self.query_one(OptionList)
        keep = self.highlighted
        self.asset_ids = [a.id for a in assets]
        rows = []
        for a in assets:
            flag, words = state_text(a, statuses.get(a.id), building.get(a.id, []))
            line = Text(no_wrap=True, overflow="ellipsis")
            line.append(KIND_MARK.get(a.kind, "?"), style="bold")
            line.append_text(flag)
            length = media_length(a)
            line.append(
                f"{short_duration(length, project.rate):>5} " if length is not None else "    - "
            )
            line.append(a.name)
            if words.plain:
                line.append("  ")
                line.append_text(words)
            rows.append(Option(line, id=a.id))
        options.clear_options()
        options.add_options(rows)
        if not rows:
            options.add_option(Option(Text("no media: a imports a file", style="dim"), id="-"))
            options.disable_option("-")
        elif keep in self.asset_ids:
            options.highlighted = self.asset_ids.index(keep)
        elif options.highlighted is None:
            options.highlighted = 0

    def highlight(self, asset_id: str) -> None:
        """Put the cursor on ``asset_id`` (a file just imported)."""
        if asset_id in self.asset_ids:
            self.query_one(OptionList).highlighted = self.asset_ids.index(asset_id)

    def _show_source(self, project: Project, source: Source | None) -> None:
        view = self.query_one("#bin-source", Static)
        asset = project.asset(source.asset_id) if source is not None else None
        if source is None or asset is None:
            view.update(Text("no source: pick a clip, then i / o", style="dim"))
            return
        rate = project.rate
        length = media_length(asset)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("src ", style="bold")
        text.append(format_timecode(source.position, rate))
        if length is not None:
            text.append(f" / {format_timecode(length, rate)}", style="dim")
        text.append("\n", style="")
        i = "--" if source.mark_in is None else format_timecode(source.mark_in, rate)
        o = "--" if source.mark_out is None else format_timecode(source.mark_out, rate)
        text.append(f"in {i} out {o}")
        view.update(text)

    def on_descendant_focus(self) -> None:
        self.post_message(self.Watched(True))

    def on_descendant_blur(self) -> None:
        self.post_message(self.Watched(False))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option.id and event.option.id != "-":
            self.post_message(self.SourceChosen(event.option.id))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id and event.option.id != "-":
            self.post_message(self.SourceChosen(event.option.id, done=True))
