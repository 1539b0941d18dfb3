"""The project model: immutable msgspec structs, integer frames, stable short ids.

Every struct is frozen; an edit builds a new project with ``msgspec.structs.replace``. Sequences
are tuples so a model can be shared between the session, undo history and readers without copies.
The field order here is the key order in project.json, so diffs stay stable.

A clip lives inside its track; ``Track.clips`` is sorted by ``start`` and never overlaps
(checked by ``engine.validate``).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from engine.timebase import Rate

SCHEMA_VERSION = 2
"""The project.json schema this code writes; older files are upgraded by ``engine.schema``.
Version 2 added ``Clip.audio`` (gain and fades)."""

NonNegative = Annotated[int, msgspec.Meta(ge=0)]
Positive = Annotated[int, msgspec.Meta(ge=1)]
Id = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Sha256 = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
Ext = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9]{1,8}$")]
Color = Annotated[str, msgspec.Meta(pattern=r"^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$")]
MIN_GAIN_DB = -60.0
MAX_GAIN_DB = 24.0
GainDb = Annotated[float, msgspec.Meta(ge=MIN_GAIN_DB, le=MAX_GAIN_DB)]
"""A clip's audio gain in decibels: -60 dB is near silence, +24 dB as far as NLEs go on a clip."""

AssetKind = Literal["video", "audio", "image", "remotion", "text", "callout"]
TrackKind = Literal["video", "audio"]
ClipKind = Literal["media", "text", "remotion"]


class _Struct(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """The model's base: frozen, and untracked by the cycle collector (``gc=False``, inherited).

    Its fields hold only scalars, strings, tuples and other model structs, so no instance can
    be part of a reference cycle. A 10,000-clip project is some 50,000 objects; tracked, every
    full collection walked them all (a 20-30 ms pause at start-up and again at exit).
    """


class MediaInfo(_Struct, frozen=True, forbid_unknown_fields=True):
    """What ffprobe said about an asset's bytes, with durations made exact."""

    format: str
    size_bytes: NonNegative
    duration_us: NonNegative = 0
    """Container duration in microseconds (0 for a still image)."""
    duration_frames: NonNegative = 0
    """Whole project frames the media covers; a clip's source range never runs past it."""
    rate: Rate | None = None
    """The video stream's own frame rate, if any."""
    width: NonNegative = 0
    height: NonNegative = 0
    rotation: int = 0
    video_codec: str | None = None
    audio_codec: str | None = None
    audio_channels: NonNegative = 0
    audio_rate: NonNegative = 0


class Generation(_Struct, frozen=True, forbid_unknown_fields=True):
    """State of a generated asset (TTS audio): stage, progress 0..1 and the last error.

    An asset whose stage is not ``ready`` is a placeholder: it has no bytes yet (no hash), and
    its clips are drawn with the state of the job ``job_id`` (queued, running with its
    percent, failed with its reason), read live from the job events
    (`engine.tts.jobs.effective_stage`), so progress never rewrites project.json. ``line`` is
    the scenario line it speaks and ``take`` the key of what made it
    (`engine.tts.takes.take_key`)."""

    stage: Literal["queued", "running", "ready", "failed"]
    progress: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.0
    error: str | None = None
    job_id: str | None = None
    line: str | None = None
    take: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{8,64}$")] | None = None


class Asset(_Struct, frozen=True, forbid_unknown_fields=True):
    """A media item in the project's pool; its bytes live at ``assets/<hash>.<ext>``."""

    id: Id
    kind: AssetKind
    name: str
    hash: Sha256 | None = None
    ext: Ext | None = None
    folder_id: Id | None = None
    source_name: str | None = None
    """Basename of the imported file (never its full path)."""
    derived_from: Id | None = None
    """For audio demuxed from a video, that video asset's id."""
    media: MediaInfo | None = None
    generation: Generation | None = None

    @property
    def filename(self) -> str | None:
        """``<hash>.<ext>`` inside ``assets/``, or None for assets without bytes."""
        if self.hash is None or self.ext is None:
            return None
        return f"{self.hash}.{self.ext}"


class Folder(_Struct, frozen=True, forbid_unknown_fields=True):
    id: Id
    name: str
    parent_id: Id | None = None


class Transform(_Struct, frozen=True, forbid_unknown_fields=True):
    """Placement of a visual clip on the canvas, in project pixels."""

    x: float = 0.0
    y: float = 0.0
    scale: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    rotation: float = 0.0
    opacity: Annotated[float, msgspec.Meta(ge=0, le=1)] = 1.0


class TextProps(_Struct, frozen=True, forbid_unknown_fields=True):
    text: str
    font: str = "sans-serif"
    size: Positive = 64
    color: Color = "#ffffff"
    background: Color | None = None
    align: Literal["left", "center", "right"] = "center"


class ClipAudio(_Struct, frozen=True, forbid_unknown_fields=True):
    """How a clip on an audio track sounds: gain in dB and linear fades in frames.

    ``fade_in`` frames rise from silence at the clip's start, ``fade_out`` frames fall to
    silence at its end; together they fit in the clip (``engine.validate``). Only clips on audio
    tracks carry it: a linked video clip's sound is its audio partner's."""

    gain_db: GainDb = 0.0
    fade_in: NonNegative = 0
    fade_out: NonNegative = 0


UNITY_AUDIO = ClipAudio()
"""Unity gain, no fades: a clip with these settings stores ``audio: null``."""


class Clip(_Struct, frozen=True, forbid_unknown_fields=True):
    """A placed piece of the timeline: ``[start, start + duration)`` on its track.

    ``source_in`` is the first frame of the asset that plays at ``start``. Media and remotion
    clips reference an asset; text clips carry their text in ``text``.
    """

    id: Id
    kind: ClipKind
    name: str
    start: NonNegative
    duration: Positive
    source_in: NonNegative = 0
    asset_id: Id | None = None
    linked_id: Id | None = None
    transform: Transform | None = None
    text: TextProps | None = None
    audio: ClipAudio | None = None
    """Gain and fades (schema 2); None is unity gain without fades."""

    @property
    def end(self) -> int:
        return self.start + self.duration

    @property
    def sound(self) -> ClipAudio:
        """``audio``, or the unity settings when it is None."""
        return self.audio if self.audio is not None else UNITY_AUDIO


class Track(_Struct, frozen=True, forbid_unknown_fields=True):
    id: Id
    kind: TrackKind
    name: str
    locked: bool = False
    muted: bool = False
    solo: bool = False
    clips: tuple[Clip, ...] = ()


class Marker(_Struct, frozen=True, forbid_unknown_fields=True):
    id: Id
    frame: NonNegative
    name: str = ""
    color: Color = "#ffcc00"
    note: str = ""
    """Free text about the spot (schema 2; an older file's markers have none)."""


class EditorState(_Struct, frozen=True, forbid_unknown_fields=True):
    """What the editor was looking at, so it reopens where it was: the view. Saved in the
    state database (`engine.session`), not in project.json, so it is not part of the
    timeline's hash; a file written before that may still carry it and is read as before."""

    playhead: NonNegative = 0
    frames_per_cell: Positive = 4
    """Zoom: how many frames one terminal column of the timeline covers."""
    selection: tuple[Id, ...] = ()
    mark_in: NonNegative | None = None
    mark_out: NonNegative | None = None
    snapping: bool = True
    tool: Literal["select", "blade", "trim", "slip", "slide"] = "select"


class SourceMarks(_Struct, frozen=True, forbid_unknown_fields=True):
    """A bin item's own playhead and in/out marks (the source of a three-point edit), in
    project frames of its media, ``mark_out`` excluded. Part of the view: saved in the state
    database (`engine.source_marks`), never in project.json."""

    asset_id: Id
    position: NonNegative = 0
    mark_in: NonNegative | None = None
    mark_out: NonNegative | None = None


class Project(_Struct, frozen=True, forbid_unknown_fields=True):
    """The whole timeline, as stored in project.json."""

    schema_version: int
    id: Id
    name: str
    rate: Rate
    width: Positive = 1920
    height: Positive = 1080
    sample_rate: Positive = 48000
    next_id: Positive = 1
    """Counter behind new ids (``c_12``): every numeric id suffix is below it."""
    assets: tuple[Asset, ...] = ()
    folders: tuple[Folder, ...] = ()
    tracks: tuple[Track, ...] = ()
    markers: tuple[Marker, ...] = ()
    editor: EditorState = EditorState()
    """The view; must stay the last field (`engine.projectfile.encode_project` leaves it out)."""

    @property
    def duration(self) -> int:
        """Frames to the end of the last clip on any track."""
        return max((t.clips[-1].end for t in self.tracks if t.clips), default=0)

    def asset(self, asset_id: str) -> Asset | None:
        for a in self.assets:
            if a.id == asset_id:
                return a
        return None

    def track(self, track_id: str) -> Track | None:
        for t in self.tracks:
            if t.id == track_id:
                return t
        return None


def new_id(project: Project, prefix: str) -> tuple[str, Project]:
    """A fresh id ``<prefix>_<n>`` and the project with its counter advanced."""
    n = project.next_id
    return f"{prefix}_{n}", msgspec.structs.replace(project, next_id=n + 1)


def new_project(
    name: str, *, rate: Rate, width: int = 1920, height: int = 1080, project_id: str = "p_1"
) -> Project:
    """An empty project with one video and one audio track (V1, A1)."""
    return Project(
        schema_version=SCHEMA_VERSION,
        id=project_id,
        name=name,
        rate=rate,
        width=width,
        height=height,
        next_id=3,
        tracks=(
            Track(id="t_1", kind="video", name="V1"),
            Track(id="t_2", kind="audio", name="A1"),
        ),
    )
