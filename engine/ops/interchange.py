"""Placing a timeline read from another editor's file (`engine.interchange.from_otio`)."""

from __future__ import annotations

import msgspec

from engine.model import Marker, Track
from engine.ops.base import Op, check_source
from engine.ops.draft import Draft, DropTrack, OpError, PutTrack, SetMarker


class ImportTimeline(Op, frozen=True, tag="import_timeline"):
    """Add a file's tracks (with their clips) and markers as one edit; with ``replace``, they
    take the place of every track and marker there was. Clips, tracks and markers get new ids
    (the links between the clips kept); a marker already there (same frame and name) is not
    added twice; a track named like one already there takes the next free name of its kind
    (V3, V4... counted from the bottom; A2, A3...).

    Import V1 [AA BB] and A1 [aa] beside the timeline (default)::

        before  V1 [XXXX]             after  V2 [AA BB]   (new, on top)
                A1 [xxxx]                    V1 [XXXX]
                                             A1 [xxxx]
                                             A2 [aa]      (new, below)

    With ``replace``::

        before  V1 [XXXX]             after  V1 [AA BB]
                A1 [xxxx]                    A1 [aa]
    """

    tracks: tuple[Track, ...]
    markers: tuple[Marker, ...] = ()
    replace: bool = False
    source: str = ""
    """The file's name, for the history's line."""

    def compile(self, d: Draft) -> str:
        if self.replace:
            for t in d.tracks:
                if t.locked:
                    raise OpError(f"track {t.name} is locked; unlock it or import beside it")
            for t in list(d.tracks)[::-1]:
                index = d.track_index(t.id)
                d.apply([DropTrack(index, msgspec.structs.replace(t, clips=tuple(d.clips(t.id))))])
            d.apply([SetMarker(m, None) for m in list(d.markers)])
        ids = {c.id: d.new_id("c") for t in self.tracks for c in t.clips}
        names = _names(self.tracks, {t.name for t in d.tracks})
        top = 0
        for track, name in zip(self.tracks, names, strict=True):
            clips = tuple(
                msgspec.structs.replace(
                    c, id=ids[c.id], linked_id=ids.get(c.linked_id) if c.linked_id else None
                )
                for c in track.clips
            )
            for before, clip in zip((None, *clips), clips, strict=False):
                check_source(d, clip)
                if before is not None and before.end > clip.start:
                    raise OpError(f"clips {before.name!r} and {clip.name!r} overlap on {name}")
            new = msgspec.structs.replace(track, id=d.new_id("t"), name=name, clips=clips)
            # New video tracks go on top of the ones there (the list runs top-down), in the
            # file's order; new audio tracks after the last track.
            index = top if track.kind == "video" else len(d.tracks)
            top += track.kind == "video"
            d.apply([PutTrack(index, new)])
        there = {(m.frame, m.name) for m in d.markers}  # beside a cut: its own markers again
        added = 0
        for marker in self.markers:
            if (marker.frame, marker.name) not in there:
                d.apply([SetMarker(None, msgspec.structs.replace(marker, id=d.new_id("m")))])
                added += 1
        placed = sum(len(t.clips) for t in self.tracks)
        how = "in place of the timeline" if self.replace else "beside the timeline"
        return (
            f"imported {self.source or 'a timeline'}: {len(self.tracks)} track(s), {placed} "
            f"clip(s), {added} marker(s) {how}"
        )


def _names(tracks: tuple[Track, ...], taken: set[str]) -> list[str]:
    """Each track's name, or the next free ``V<n>``/``A<n>`` when a track has it already."""
    names = [t.name for t in tracks]
    # Video tracks are listed top-down: name them from the bottom, as NLEs number them.
    order = [i for i, t in enumerate(tracks) if t.kind == "video"][::-1]
    order += [i for i, t in enumerate(tracks) if t.kind == "audio"]
    for i in order:
        if names[i] in taken:
            letter, n = tracks[i].kind[0].upper(), 1
            while f"{letter}{n}" in taken:
                n += 1
            names[i] = f"{letter}{n}"
        taken.add(names[i])
    return names
