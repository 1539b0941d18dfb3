// The source monitor: a bin item alone, at its own playhead, with its in/out marks.
//
// While the editor's media bin has the focus, the editor sends a ``playback`` ``source`` event
// (``{asset_id, position, mark_in, mark_out}``; ``asset_id`` null when the focus goes back to
// the timeline). The page then shows this instead of the timeline: the asset in a Player of
// its own, seeked to the source position (video through `ExactVideo`, so the frame shown is
// the frame asked for), and a bar under it with the marked range and the playhead. Marks are
// half-open like every range in reelcut: the out mark is the first frame not used.
// ``#root`` carries ``data-source`` (the asset id, empty when the timeline shows).

import React, { useEffect, useRef } from "react";
import { AbsoluteFill, Audio, Img } from "remotion";
import { Player, type PlayerRef } from "@remotion/player";
import { ExactVideo } from "./ExactVideo";
import type { Asset, MediaMap, Project } from "./project";
import { assetUrl } from "./project";
import { timecode } from "./Readout";

/** What the editor says of its source (a ``playback`` ``source`` event's data). */
export interface SourceState {
  asset_id: string;
  position: number;
  mark_in: number | null;
  mark_out: number | null;
}

/** The source of a ``source`` event, or null when the timeline shows again. */
export function sourceFromEvent(data: Record<string, unknown>): SourceState | null {
  if (typeof data.asset_id !== "string") return null;
  const n = (v: unknown) => (typeof v === "number" && v >= 0 ? v : null);
  return {
    asset_id: data.asset_id,
    position: n(data.position) ?? 0,
    mark_in: n(data.mark_in),
    mark_out: n(data.mark_out),
  };
}

/** Frames of an asset's media at the project's rate; null for a still or a Remotion clip. */
function mediaFrames(asset: Asset): number | null {
  const media = (asset as Asset & { media?: { duration_frames?: number } | null }).media;
  if ((asset.kind === "video" || asset.kind === "audio") && media?.duration_frames) {
    return media.duration_frames;
  }
  return null;
}

const STILL_FRAMES = 150; // a still has no end: the monitor shows five seconds' worth

interface SourceViewProps {
  asset: Asset;
  media: MediaMap;
}

/** The composition: the asset alone, source frame k at frame k. */
const SourceView: React.FC<SourceViewProps> = ({ asset, media }) => {
  const src = assetUrl(asset, media);
  return (
    <AbsoluteFill style={{ backgroundColor: "black" }}>
      {!src ? null : asset.kind === "video" ? (
        <ExactVideo
          src={src}
          clipId={`source-${asset.id}`}
          start={0}
          sourceIn={0}
          exact={Boolean(media[asset.id])}
        />
      ) : asset.kind === "image" ? (
        <Img src={src} style={{ width: "100%", height: "100%", objectFit: "contain" }} />
      ) : asset.kind === "audio" ? (
        <>
          <Audio src={src} />
          <AbsoluteFill
            style={{ justifyContent: "center", alignItems: "center", color: "#9a9aa6" }}
          >
            <div style={{ fontSize: 64 }}>♪ {asset.name}</div>
          </AbsoluteFill>
        </>
      ) : (
        <AbsoluteFill style={{ justifyContent: "center", alignItems: "center", color: "#9a9aa6" }}>
          <div style={{ fontSize: 48 }}>{asset.name}: no picture to show here</div>
        </AbsoluteFill>
      )}
    </AbsoluteFill>
  );
};

export function SourceMonitor({
  source,
  project,
  media,
}: {
  source: SourceState;
  project: Project;
  media: MediaMap;
}) {
  const player = useRef<PlayerRef>(null);
  const asset = project.assets.find((a) => a.id === source.asset_id);
  const length = asset ? mediaFrames(asset) : null;
  const frames = Math.max(1, length ?? STILL_FRAMES);
  const position = Math.min(source.position, frames - 1);

  useEffect(() => {
    player.current?.seekTo(position);
  }, [position, source.asset_id]);

  if (!asset) {
    return <p className="status error">source {source.asset_id} is not in the project</p>;
  }
  const fps = project.rate.num / project.rate.den;
  const pct = (f: number) => `${(100 * Math.min(f, frames)) / frames}%`;
  const tc = (f: number | null) => (f === null ? "--" : timecode(f, project.rate));
  const from = source.mark_in ?? 0;
  const to = source.mark_out ?? frames;
  const marked = source.mark_in !== null || source.mark_out !== null;
  return (
    <section className="source-monitor" data-asset={asset.id}>
      <Player
        ref={player}
        component={SourceView}
        inputProps={{ asset, media }}
        durationInFrames={frames}
        initialFrame={position}
        fps={fps}
        compositionWidth={project.width}
        compositionHeight={project.height}
        style={{ width: "100%", aspectRatio: `${project.width} / ${project.height}` }}
      />
      <div className="source-bar" style={{ position: "relative", height: 14, background: "#2b2b35" }}>
        {marked ? (
          <div
            className="source-range"
            style={{
              position: "absolute",
              left: pct(from),
              width: `calc(${pct(to)} - ${pct(from)})`,
              top: 0,
              bottom: 0,
              background: "#3c8d5a",
            }}
          />
        ) : null}
        <div
          className="source-playhead"
          style={{ position: "absolute", left: pct(position), top: -2, bottom: -2, width: 2, background: "#ff5050" }}
        />
      </div>
      <div className="readout source-readout">
        <span className="tc">SOURCE {asset.name}</span>
        <span data-source-position={position}>
          {tc(position)} · frame {position}
          {length !== null ? ` / ${length}` : ""}
        </span>
        <span data-source-in={source.mark_in ?? ""} data-source-out={source.mark_out ?? ""}>
          in {tc(source.mark_in)} out {tc(source.mark_out)}
          {marked && length !== null ? ` · ${to - from} frames` : ""}
        </span>
      </div>
    </section>
  );
}
