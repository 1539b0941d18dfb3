"""Timeline interchange through OpenTimelineIO: a project's timeline written as .otio, .edl
(CMX 3600), .xml (Final Cut 7 / Premiere) or .fcpxml (Final Cut Pro X) by the official adapter
packages (`to_otio`), and such a file read back into tracks and clips relinked to the project's
assets (`from_otio`, placed by the `engine.ops.interchange.ImportTimeline` op).

What a format cannot hold is listed, one line each, never dropped silently.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import UsageError

ADAPTERS = {".otio": "otio_json", ".edl": "cmx_3600", ".xml": "fcp_xml", ".fcpxml": "fcpx_xml"}
"""The file suffixes interchange writes and reads, and the OTIO adapter of each."""


def adapter_for(path: Path) -> str:
    """The adapter name for ``path``'s suffix; one line when it has none."""
    adapter = ADAPTERS.get(path.suffix.lower())
    if adapter is None:
        raise UsageError(
            f"{path.name}: a timeline file ends in {', '.join(ADAPTERS)} (got "
            f"{path.suffix or 'no suffix'!r})"
        )
    return adapter


MARKER_COLORS = {
    "RED": "#ff0000",
    "PINK": "#ff80c0",
    "ORANGE": "#ff8000",
    "YELLOW": "#ffcc00",
    "GREEN": "#00cc00",
    "CYAN": "#00cccc",
    "BLUE": "#0000ff",
    "PURPLE": "#8000c0",
    "MAGENTA": "#ff00ff",
    "BLACK": "#000000",
    "WHITE": "#ffffff",
}
"""OTIO's named marker colours and the hex a reelcut marker gets for each (YELLOW is the default
marker's). A hex colour is written as the nearest name; its exact value rides in the metadata."""


def nearest_color(hex_color: str) -> str:
    """The OTIO marker colour name nearest to ``#rrggbb`` (an alpha byte is ignored)."""

    def rgb(h: str) -> tuple[int, int, int]:
        return int(h[1:3], 16), int(h[3:5], 16), int(h[5:7], 16)

    r, g, b = rgb(hex_color)
    return min(
        MARKER_COLORS,
        key=lambda n: sum(
            (x - y) ** 2 for x, y in zip(rgb(MARKER_COLORS[n]), (r, g, b), strict=True)
        ),
    )
