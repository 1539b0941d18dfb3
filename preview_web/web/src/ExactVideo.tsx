// A video clip that shows exactly the frame the timeline asks for.
//
// Remotion's <Video> sets ``currentTime`` to ``frame / fps``: the boundary between two frames,
// which Chromium's decoder rounds to either side (seconds become whole microseconds, and
// 101/30 s is 3366666.67 µs), so one seek in two could show the previous frame. This clip
// plays the asset's proxy, which the server makes at the project's rate (its frame k is
// project frame k of the source, conformed by ffmpeg for any source rate, variable-rate
// footage included), and seeks to the middle of frame k, (k + 0.5) / fps, where no rounding
// reaches the neighbours. What it presented is read back from requestVideoFrameCallback's
// ``mediaTime`` (the presented frame's own timestamp) and reported to the sync readout.
//
// While the Player plays forward the element plays by itself and is only pulled back when it
// drifts more than a quarter second; paused (Space, K, a step, a seek) it is always seeked.
// Without a proxy yet (``exact`` false) it plays the original at the same times: right for
// sources at the project rate that start at zero, and the readout says it is not exact.

import React, { useEffect, useRef } from "react";
import { Internals, useCurrentFrame, useVideoConfig } from "remotion";
import { dropClip, reportClip } from "./sync";

interface VideoFrameMetadata {
  mediaTime: number;
}
type FrameCallback = (now: number, metadata: VideoFrameMetadata) => void;
type WithFrameCallbacks = HTMLVideoElement & {
  requestVideoFrameCallback?: (cb: FrameCallback) => number;
  cancelVideoFrameCallback?: (handle: number) => void;
};

export interface ExactVideoProps {
  src: string;
  clipId: string;
  /** The clip's first timeline frame and the source frame shown there (project frames). */
  start: number;
  sourceIn: number;
  exact: boolean;
  style?: React.CSSProperties;
}

const DRIFT_SECONDS = 0.25;

export function ExactVideo({ src, clipId, start, sourceIn, exact, style }: ExactVideoProps) {
  const frame = useCurrentFrame(); // within the clip's Sequence
  const { fps } = useVideoConfig();
  const playing = Internals.usePlaying();
  const { playbackRate } = Internals.Timeline.usePlaybackRate();
  const ref = useRef<WithFrameCallbacks>(null);
  const k = sourceIn + frame; // the source (proxy) frame to show
  const asked = useRef(start + frame);
  const wanted = useRef(k); // the source frame the element is sent to
  // The middle of the wanted frame, where it is seeked, and whether it is there.
  const middle = () => (wanted.current + 0.5) / fps;
  const near = (v: HTMLVideoElement) => Math.abs(v.currentTime - middle()) <= 0.5 / fps;
  const moving = useRef(false); // playing: no seek target to wait for
  const shown = useRef<number | null>(null); // the source frame presented last
  const retries = useRef(0); // seeks repeated for the current target (see `report`)

  // Read back every presented frame.
  useEffect(() => {
    const v = ref.current;
    if (!v || !v.requestVideoFrameCallback) return;
    let alive = true;
    let handle = 0;
    let settle = 0;
    const onFrame: FrameCallback = (_now, meta) => {
      if (!alive) return;
      shown.current = Math.round(meta.mediaTime * fps);
      v.dataset.presented = String(shown.current);
      // A frame presented on the way (the first one after loading, before the seek to the
      // asked time has begun) says nothing about the seek: wait for the element to be there.
      const arrived = moving.current || (!v.seeking && near(v));
      if (arrived && (moving.current || shown.current === wanted.current)) {
        reportClip(clipId, asked.current, start + shown.current - sourceIn);
      } else {
        // Not there yet, or another frame than asked: `report` decides, after a retry.
        reportClip(clipId, asked.current, null);
        if (arrived) {
          window.clearTimeout(settle);
          settle = window.setTimeout(report, 250);
        }
      }
      handle = v.requestVideoFrameCallback!(onFrame);
    };
    handle = v.requestVideoFrameCallback(onFrame);
    // A seek that lands on the frame already presented brings no frame callback; one whose
    // frame never comes (a decoder showing another frame) must not leave the readout waiting.
    const report = () => {
      if (!alive || v.seeking || shown.current === null) return;
      if (!moving.current && !near(v)) return;
      if (!moving.current && shown.current !== wanted.current && retries.current < 2) {
        // Seen in headless Chromium, about one seek in 200 of a newly loaded element: the
        // picture is right but the last frame callback carried the first frame's time and
        // no other came. Seeking again presents the frame again, with its callback.
        retries.current += 1;
        v.currentTime = middle();
        return;
      }
      reportClip(clipId, asked.current, start + shown.current - sourceIn);
    };
    const onSeeked = () => {
      if (shown.current === wanted.current) report();
      window.clearTimeout(settle);
      settle = window.setTimeout(report, 250);
    };
    v.addEventListener("seeked", onSeeked);
    return () => {
      alive = false;
      window.clearTimeout(settle);
      v.removeEventListener("seeked", onSeeked);
      v.cancelVideoFrameCallback?.(handle);
      dropClip(clipId);
    };
  }, [clipId, fps, start, sourceIn, src]);

  // Put frame k on screen.
  useEffect(() => {
    const v = ref.current;
    if (!v) return;
    asked.current = start + frame;
    v.dataset.asked = String(k);
    const presented = shown.current === null ? null : start + shown.current - sourceIn;
    reportClip(clipId, asked.current, presented);
    wanted.current = k;
    retries.current = 0;
    if (playing && playbackRate > 0) {
      moving.current = true;
      v.playbackRate = playbackRate;
      if (Math.abs(v.currentTime - middle()) > DRIFT_SECONDS) v.currentTime = middle();
      if (v.paused) v.play().catch(() => undefined);
      return;
    }
    moving.current = false;
    if (!v.paused) v.pause();
    if (shown.current !== k || !near(v)) {
      // Not known to be on screen until its frame is presented (the frame callback).
      reportClip(clipId, asked.current, null);
      if (v.readyState === 0) {
        // Before its metadata a new element only remembers the time and reads it back as its
        // currentTime while it shows its first frame: seek for real once it can.
        const seekWhenLoaded = () => {
          v.currentTime = middle();
        };
        v.addEventListener("loadedmetadata", seekWhenLoaded, { once: true });
        return () => v.removeEventListener("loadedmetadata", seekWhenLoaded);
      }
      v.currentTime = middle();
    }
  }, [k, frame, start, sourceIn, fps, playing, playbackRate, clipId]);

  return (
    <video
      ref={ref}
      src={src}
      muted
      playsInline
      preload="auto"
      data-clip={clipId}
      data-exact={exact ? "yes" : "no"}
      style={{ width: "100%", height: "100%", ...style }}
    />
  );
}
