"""The timeline as the engine edits it: persistent clip sequences with lazy ripple offsets.

``Project`` stores each track's clips as a tuple with absolute starts, which is what project.json
holds and what readers want. Editing that form directly costs a new ``Clip`` for every clip a
ripple moves, so an insert near the start of a 10,000-clip timeline would rebuild thousands of
clips. The engine edits a ``Timeline`` instead: each track is a ``ClipSeq``, a tuple of chunks of
at most a few hundred clips, each chunk carrying an ``offset`` added to its clips' stored starts.

- A ripple (``shift_from``) splits one chunk and gives every later chunk a new offset: it
  touches chunks, never the clips inside them.
- An insert, delete or replace rebuilds one chunk.
- Finding a clip by id asks each chunk's id table; finding a frame is two bisections.

Every ``ClipSeq`` and ``Timeline`` is immutable and shares its unchanged chunks with the one it was
made from, so undo history and readers can keep old versions for free. ``Timeline.project``
materialises the plain ``Project`` (absolute starts) once, when someone asks for it: the save
after an edit, or a reader that wants whole tuples.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from itertools import accumulate
from typing import overload

import msgspec

from engine.model import Clip, Project

CHUNK = 256
"""Target clips per chunk; a chunk splits above ``2 * CHUNK``."""
_SMALL = CHUNK // 4
"""A piece below this many clips is merged into a neighbour instead of standing alone."""

_replace = msgspec.structs.replace


def _start(clip: Clip) -> int:
    return clip.start


class _Chunk:
    """Up to ``2 * CHUNK`` clips in timeline order; clip ``i`` starts at ``clips[i].start +
    offset``. ``ids`` maps each clip id to its index and is shared by chunks that only differ in
    offset or in clips replaced under the same id."""

    __slots__ = ("clips", "ids", "offset")

    def __init__(
        self, clips: tuple[Clip, ...], offset: int = 0, ids: dict[str, int] | None = None
    ) -> None:
        self.clips = clips
        self.offset = offset
        self.ids = ids if ids is not None else {c.id: i for i, c in enumerate(clips)}

    def real(self, i: int) -> Clip:
        c = self.clips[i]
        return _replace(c, start=c.start + self.offset) if self.offset else c

    def stored(self, clip: Clip) -> Clip:
        """``clip`` (absolute start) as this chunk stores it."""
        return _replace(clip, start=clip.start - self.offset) if self.offset else clip

    def materialised(self) -> tuple[Clip, ...]:
        if not self.offset:
            return self.clips
        o = self.offset
        return tuple(_replace(c, start=c.start + o) for c in self.clips)

    def rebased(self, offset: int) -> tuple[Clip, ...]:
        """The clips stored relative to ``offset`` instead of this chunk's own."""
        d = self.offset - offset
        if not d:
            return self.clips
        return tuple(_replace(c, start=c.start + d) for c in self.clips)

    def shifted(self, by: int) -> _Chunk:
        return _Chunk(self.clips, self.offset + by, self.ids)


class ClipSeq:
    """One track's clips, sorted by start, as a persistent sequence (see the module doc).

    Reads give clips with their absolute starts; edits return a new sequence.
    """

    __slots__ = ("_bases", "_chunks", "_counts", "_firsts", "_len", "_tuple")

    def __init__(self, chunks: tuple[_Chunk, ...], materialised: tuple[Clip, ...] | None = None):
        self._chunks = chunks
        counts = list(accumulate(len(c.clips) for c in chunks))
        self._counts = counts
        self._bases = [0, *counts[:-1]] if counts else []
        self._firsts = [c.clips[0].start + c.offset for c in chunks]
        self._len = counts[-1] if counts else 0
        self._tuple = materialised

    @classmethod
    def of(cls, clips: tuple[Clip, ...]) -> ClipSeq:
        chunks = tuple(_Chunk(clips[i : i + CHUNK]) for i in range(0, len(clips), CHUNK))
        return cls(chunks, clips)

    # -- reading -------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0

    @overload
    def __getitem__(self, i: int) -> Clip: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[Clip, ...]: ...
    def __getitem__(self, i: int | slice) -> Clip | tuple[Clip, ...]:
        if isinstance(i, slice):
            return self.to_tuple()[i]
        k, j = self._locate(i)
        return self._chunks[k].real(j)

    def __iter__(self) -> Iterator[Clip]:
        if self._tuple is not None:
            yield from self._tuple
            return
        for ch in self._chunks:
            if ch.offset:
                o = ch.offset
                for c in ch.clips:
                    yield _replace(c, start=c.start + o)
            else:
                yield from ch.clips

    def to_tuple(self) -> tuple[Clip, ...]:
        """All clips with absolute starts (built once per sequence)."""
        if self._tuple is None:
            out: list[Clip] = []
            for ch in self._chunks:
                out.extend(ch.materialised())
            self._tuple = tuple(out)
        return self._tuple

    def ids_from(self, i: int) -> Iterator[str]:
        """Ids of the clips at index ``i`` and after, without building clips."""
        if i >= self._len:
            return
        k, j = self._locate(i)
        for c in self._chunks[k].clips[j:]:
            yield c.id
        for ch in self._chunks[k + 1 :]:
            for c in ch.clips:
                yield c.id

    def index_of(self, clip_id: str) -> int:
        """The index of the clip with ``clip_id``, or -1."""
        for ch, base in zip(self._chunks, self._bases, strict=True):
            j = ch.ids.get(clip_id)
            if j is not None:
                return base + j
        return -1

    def bisect_left(self, frame: int) -> int:
        """The index of the first clip that starts at or after ``frame``."""
        k = bisect.bisect_left(self._firsts, frame)
        if k == 0:
            return 0
        ch = self._chunks[k - 1]
        return self._bases[k - 1] + bisect.bisect_left(ch.clips, frame - ch.offset, key=_start)

    def bisect_right(self, frame: int) -> int:
        """The index of the first clip that starts after ``frame``."""
        k = bisect.bisect_right(self._firsts, frame)
        if k == 0:
            return 0
        ch = self._chunks[k - 1]
        return self._bases[k - 1] + bisect.bisect_right(ch.clips, frame - ch.offset, key=_start)

    @property
    def end(self) -> int:
        """The frame after the last clip (0 for an empty track)."""
        return self[-1].end if self._len else 0

    # -- editing (each returns a new sequence) ---------------------------------------------

    def insert(self, i: int, clip: Clip) -> ClipSeq:
        if not self._chunks:
            return ClipSeq((_Chunk((clip,)),))
        if i >= self._len:
            k = len(self._chunks) - 1
            j = len(self._chunks[k].clips)
        else:
            k, j = self._locate(i)
        ch = self._chunks[k]
        clips = (*ch.clips[:j], ch.stored(clip), *ch.clips[j:])
        if len(clips) > 2 * CHUNK:
            mid = len(clips) // 2
            new: tuple[_Chunk, ...] = (
                _Chunk(clips[:mid], ch.offset),
                _Chunk(clips[mid:], ch.offset),
            )
        else:
            new = (_Chunk(clips, ch.offset),)
        return ClipSeq((*self._chunks[:k], *new, *self._chunks[k + 1 :]))

    def delete(self, i: int) -> ClipSeq:
        k, j = self._locate(i)
        ch = self._chunks[k]
        clips = ch.clips[:j] + ch.clips[j + 1 :]
        chunks = list(self._chunks)
        if clips:
            chunks[k] = _Chunk(clips, ch.offset)
            _merge_small(chunks, k)
        else:
            del chunks[k]
        return ClipSeq(tuple(chunks))

    def replace(self, i: int, clip: Clip) -> ClipSeq:
        k, j = self._locate(i)
        ch = self._chunks[k]
        clips = (*ch.clips[:j], ch.stored(clip), *ch.clips[j + 1 :])
        ids = ch.ids if ch.clips[j].id == clip.id else None
        return ClipSeq((*self._chunks[:k], _Chunk(clips, ch.offset, ids), *self._chunks[k + 1 :]))

    def shift_from(self, i: int, by: int) -> ClipSeq:
        """Every clip at index ``i`` and after, ``by`` frames later (earlier when negative)."""
        if i >= self._len or not by:
            return self
        k, j = self._locate(i)
        ch = self._chunks[k]
        chunks = list(self._chunks[:k])
        if j == 0:
            chunks.append(ch.shifted(by))
            at = k
        else:
            chunks.append(_Chunk(ch.clips[:j], ch.offset))
            chunks.append(_Chunk(ch.clips[j:], ch.offset + by))
            at = k + 1
        chunks.extend(c.shifted(by) for c in self._chunks[k + 1 :])
        # Splitting leaves two pieces; fold a small one into its neighbour so chunks stay large.
        _merge_small(chunks, at)
        if at - 1 < len(chunks):
            _merge_small(chunks, at - 1)
        return ClipSeq(tuple(chunks))

    # -- internals -------------------------------------------------------------------------

    def _locate(self, i: int) -> tuple[int, int]:
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError(i)
        k = bisect.bisect_right(self._counts, i)
        return k, i - self._bases[k]


def _merge_small(chunks: list[_Chunk], k: int) -> None:
    """Merge ``chunks[k]`` into a neighbour when it is small and the result is not too big."""
    if not 0 <= k < len(chunks) or len(chunks[k].clips) >= _SMALL or len(chunks) == 1:
        return
    ch = chunks[k]
    left = chunks[k - 1] if k > 0 else None
    right = chunks[k + 1] if k + 1 < len(chunks) else None
    prefer_left = left is not None and (right is None or len(left.clips) <= len(right.clips))
    if left is not None and prefer_left and len(left.clips) + len(ch.clips) <= 2 * CHUNK:
        chunks[k - 1 : k + 1] = [_Chunk(left.clips + ch.rebased(left.offset), left.offset)]
        return
    if right is not None and len(right.clips) + len(ch.clips) <= 2 * CHUNK:
        chunks[k : k + 2] = [_Chunk(ch.rebased(right.offset) + right.clips, right.offset)]


class Timeline:
    """A project whose tracks' clips are ``ClipSeq``s: what edit operations read and produce.

    ``header`` is the project with everything but the clips current (its tracks' ``clips`` are
    stale once an edit ran); ``project`` is the plain model, built on first use.
    """

    __slots__ = ("_project", "header", "seqs")

    def __init__(
        self, header: Project, seqs: dict[str, ClipSeq], project: Project | None = None
    ) -> None:
        self.header = header
        self.seqs = seqs
        self._project = project

    @classmethod
    def of(cls, project: Project) -> Timeline:
        """The timeline of a plain project (reusing the one it came from, when known)."""
        cached = _CACHE.get(id(project))
        if cached is not None and cached[0] is project:
            return cached[1]
        timeline = cls(project, {t.id: ClipSeq.of(t.clips) for t in project.tracks}, project)
        _remember(project, timeline)
        return timeline

    @property
    def project(self) -> Project:
        if self._project is None:
            tracks = []
            for t in self.header.tracks:
                clips = self.seqs[t.id].to_tuple()
                tracks.append(t if t.clips is clips else _replace(t, clips=clips))
            self._project = _replace(self.header, tracks=tuple(tracks))
            _remember(self._project, self)
        return self._project

    @property
    def duration(self) -> int:
        return max((s.end for s in self.seqs.values()), default=0)


_CACHE: dict[int, tuple[Project, Timeline]] = {}
_CACHE_SIZE = 8


def _remember(project: Project, timeline: Timeline) -> None:
    """Keep the last few project -> timeline pairs, so applying ops one after another to
    ``result.project`` does not rebuild the sequences each time."""
    if len(_CACHE) >= _CACHE_SIZE:
        del _CACHE[next(iter(_CACHE))]
    _CACHE[id(project)] = (project, timeline)
