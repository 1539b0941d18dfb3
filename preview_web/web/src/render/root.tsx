// The export's Remotion bundle: what @remotion/renderer opens in Chromium to draw a Remotion
// clip's frames (preview_web/web/render.mjs drives it; engine/export/remotion.py runs that).
//
// One composition, "clip", sized and timed by its input props (the project's width, height
// and rate; the clip's duration). It draws the clip as the page's Timeline does: the clip's
// TSX compiled by the page's own `compile` (../compiler.ts) with the page's React and
// remotion, inside a Sequence shifted by the clip's in-point, so `useCurrentFrame()` and
// `useVideoConfig()` give the component what they give it on the page. Nothing else is drawn:
// the frames are transparent around the clip, and the export lays them over the tracks below.
//
// @remotion/studio's renderEntry is the part of a Remotion bundle the renderer talks to
// (bundle modes, getStaticCompositions, the frame seeks); it is imported first, as
// @remotion/bundler does.

import "@remotion/studio/renderEntry";
import React, { useMemo } from "react";
import * as Remotion from "remotion";
import { AbsoluteFill, Composition, Sequence, registerRoot } from "remotion";
import { compile } from "../compiler";

export interface ClipProps extends Record<string, unknown> {
  clipId: string;
  source: string;
  props: Record<string, unknown>;
  sourceIn: number;
  width: number;
  height: number;
  fps: number;
  durationInFrames: number;
}

function ClipFrame({ clipId, source, props, sourceIn }: ClipProps) {
  const Component = useMemo(() => {
    try {
      return compile(source, { react: React, remotion: Remotion }) as React.ComponentType<Record<string, unknown>>;
    } catch (e) {
      // The renderer reports this error; render.mjs prints it as one line naming the clip.
      throw new Error(`reelcut-clip-error ${clipId}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }, [clipId, source]);
  return (
    <Sequence from={-sourceIn} layout="none">
      <AbsoluteFill data-clip={clipId}>
        <Component {...props} />
      </AbsoluteFill>
    </Sequence>
  );
}

const placeholder: ClipProps = {
  clipId: "",
  source: "export default () => null;",
  props: {},
  sourceIn: 0,
  width: 16,
  height: 16,
  fps: 30,
  durationInFrames: 1,
};

function Root() {
  return (
    <Composition
      id="clip"
      component={ClipFrame}
      defaultProps={placeholder}
      calculateMetadata={({ props }) => ({
        width: props.width,
        height: props.height,
        fps: props.fps,
        durationInFrames: props.durationInFrames,
      })}
    />
  );
}

registerRoot(Root);
