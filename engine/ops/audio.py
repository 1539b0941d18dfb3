"""How a clip sounds: its gain in dB and its fades, set on the clip's audio (schema 2).

Gain and fades belong to the clip on the audio track. Named by its linked video clip, the op
sets them on that clip's audio partner, as NLEs put a linked pair's clip volume on its audio
item; a video clip with no audio partner has no sound of its own here and is refused.
Blade keeps the fade-in on the left part and the fade-out on the right part; trims, rolls and
slides shorten fades that no longer fit (`engine.ops.draft.fit_fades`).
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from engine.model import MAX_GAIN_DB, MIN_GAIN_DB, UNITY_AUDIO, Clip, ClipAudio, Track
from engine.ops.base import Frame, Op
from engine.ops.draft import Draft, OpError

Gain = Annotated[float, msgspec.Meta(ge=MIN_GAIN_DB, le=MAX_GAIN_DB)]
"""A gain in dB, within the model's bounds."""


def audio_clip(d: Draft, clip_id: str) -> tuple[Track, Clip]:
    """The clip whose sound ``clip_id`` names: itself on an audio track, or the audio partner
    of a linked video clip; OpError when it has no sound."""
    track, clip = d.find(clip_id)
    if track.kind == "audio":
        return track, clip
    partner = d.partner(clip)
    if partner is not None and partner[0].kind == "audio":
        return partner
    raise OpError(
        f"clip {clip.id} on video track {track.name} has no linked audio clip; gain and fades "
        f"apply to clips on audio tracks (link it to one, or name an audio clip)"
    )


class SetAudio(Op, frozen=True, tag="set_audio"):
    """Set a clip's gain (dB) and fade-in/fade-out lengths (frames); what is left out stays.
    A linked video clip's sound is its audio partner's. Fades must fit in the clip.

    before  A1 [aaaaaaaa]   set-audio --gain-db -6 --fade-in 2 --fade-out 3
    after   A1 [/aaaaa\\]   (2 frames rising from silence, 3 falling to it, at half amplitude)
    """

    clip_id: str
    gain_db: Gain | None = None
    fade_in: Frame | None = None
    fade_out: Frame | None = None

    def compile(self, d: Draft) -> str:
        track, clip = audio_clip(d, self.clip_id)
        old = clip.sound
        new = ClipAudio(
            gain_db=old.gain_db if self.gain_db is None else float(self.gain_db) + 0.0,  # no -0.0
            fade_in=old.fade_in if self.fade_in is None else self.fade_in,
            fade_out=old.fade_out if self.fade_out is None else self.fade_out,
        )
        if new.fade_in + new.fade_out > clip.duration:
            raise OpError(
                f"fades of {new.fade_in} + {new.fade_out} frames do not fit in clip {clip.id} "
                f"({clip.duration} frames); use shorter fades"
            )
        after = msgspec.structs.replace(clip, audio=None if new == UNITY_AUDIO else new)
        d.replace(track.id, clip, after)
        return (
            f"set the sound of {clip.id}: {new.gain_db:+.1f} dB, fade in {new.fade_in}, "
            f"fade out {new.fade_out} frames"
        )
