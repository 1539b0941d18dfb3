// A clip's volume frame by frame: its gain (dB) times its fades, the curve the export plays
// (engine/export/graph.py `_clip_sound`) and the timeline draws (tui/timeline/fades.py).
//
// ``f`` counts the clip's frames from 0 (Remotion calls the volume function with the frame
// since the <Audio> began, which is the clip's Sequence start). The fade-in rises linearly from
// 0 at the clip's first frame to 1 at frame ``fade_in``; the fade-out falls linearly from 1 at
// frame ``duration - fade_out`` to 0 at ``duration``. The export ramps the same lines sample by
// sample, so at each frame's first sample the two agree.
//
// The <Audio> plays with ``useWebAudioApi`` (Timeline.tsx): Remotion then routes the element
// through a GainNode whose gain is this volume, so a gain above 0 dB is heard as a boost (the
// element's own ``volume`` stops at 1, and would play +6 dB at unity).

import type { Clip } from "./project";

/** 10 ** (dB / 20): the amplitude a gain in decibels multiplies by. */
export function gainFactor(db: number): number {
  return Math.pow(10, db / 20);
}

/** The volume of ``clip`` at its frame ``f`` (0 = its first frame). */
export function clipVolume(clip: Pick<Clip, "duration" | "audio">, f: number): number {
  const audio = clip.audio;
  if (!audio) return 1;
  let envelope = 1;
  if (audio.fade_in > 0 && f < audio.fade_in) envelope = Math.max(0, f) / audio.fade_in;
  const fallStart = clip.duration - audio.fade_out;
  if (audio.fade_out > 0 && f > fallStart) {
    envelope = Math.min(envelope, Math.max(0, clip.duration - f) / audio.fade_out);
  }
  return gainFactor(audio.gain_db) * envelope;
}

/** The volume prop for a clip's <Audio>: a constant when nothing changes over time (so
 * Remotion need not call back every frame), else the curve. */
export function volumeProp(clip: Pick<Clip, "duration" | "audio">): number | ((f: number) => number) {
  const audio = clip.audio;
  if (!audio) return 1;
  if (!audio.fade_in && !audio.fade_out) return gainFactor(audio.gain_db);
  return (f: number) => clipVolume(clip, f);
}
