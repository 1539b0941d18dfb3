// The composition: the project's tracks and clips mapped onto Remotion Sequences.
//
// Video tracks stack the way the editor lists them: project.tracks runs top-down (V2 above
// V1), so the first video track is drawn last and ends up in front; audio tracks play their
// clips with <Audio>, at their gain and with their fades (`volumeProp`, ./volume.ts, applied by
// a Web Audio GainNode so a gain above 0 dB is heard). A clip plays its asset from
// ``source_in`` for ``duration`` frames starting at ``start``; video through `ExactVideo`, which
// seeks inside the frame it wants.

import React from "react";
import { AbsoluteFill, Audio, Img, Sequence } from "remotion";
import { ExactVideo } from "./ExactVideo";
import type { Asset, Clip, MediaMap, Project, Track } from "./project";
import { assetUrl } from "./project";
import { RemotionClip } from "./RemotionClip";
import { volumeProp } from "./volume";

export interface TimelineProps {
  project: Project;
  media?: MediaMap;
}

function transformStyle(clip: Clip): React.CSSProperties {
  const t = clip.transform;
  if (!t) return {};
  return {
    transform: `translate(${t.x}px, ${t.y}px) scale(${t.scale}) rotate(${t.rotation}deg)`,
    opacity: t.opacity,
  };
}

function TextClip({ clip }: { clip: Clip }) {
  const p = clip.text;
  if (!p) return null;
  const justify = p.align === "left" ? "flex-start" : p.align === "right" ? "flex-end" : "center";
  return (
    <AbsoluteFill
      style={{ justifyContent: "center", alignItems: justify, ...transformStyle(clip) }}
      data-clip={clip.id}
    >
      <div
        style={{
          fontFamily: p.font ?? "sans-serif",
          fontSize: p.size ?? 64,
          color: p.color ?? "#ffffff",
          background: p.background ?? "transparent",
          textAlign: p.align ?? "center",
          padding: "0.2em 0.5em",
          whiteSpace: "pre-wrap",
        }}
      >
        {p.text}
      </div>
    </AbsoluteFill>
  );
}

function MediaClip({
  clip,
  asset,
  muted,
  media,
}: {
  clip: Clip;
  asset: Asset;
  muted: boolean;
  media: MediaMap;
}) {
  const src = assetUrl(asset, media);
  if (!src) return null;
  const from = clip.source_in ?? 0;
  if (asset.kind === "video") {
    return (
      <AbsoluteFill style={transformStyle(clip)}>
        <ExactVideo
          src={src}
          clipId={clip.id}
          start={clip.start}
          sourceIn={from}
          exact={Boolean(media[asset.id])}
        />
      </AbsoluteFill>
    );
  }
  if (asset.kind === "image") {
    return (
      <AbsoluteFill style={transformStyle(clip)} data-clip={clip.id}>
        <Img src={src} style={{ width: "100%", height: "100%", objectFit: "contain" }} />
      </AbsoluteFill>
    );
  }
  if (asset.kind === "audio") {
    return (
      <Audio
        src={src}
        startFrom={from}
        muted={muted}
        volume={volumeProp(clip)}
        // Through a GainNode, not the element's volume (which stops at 1): +6 dB plays at
        // twice the amplitude, as the export writes it. The assets are same-origin, so the
        // element source is not silenced and needs no crossOrigin.
        useWebAudioApi
        data-clip={clip.id}
      />
    );
  }
  return null;
}

function TrackLayer({
  track,
  assets,
  media,
}: {
  track: Track;
  assets: Map<string, Asset>;
  media: MediaMap;
}) {
  return (
    <AbsoluteFill data-track={track.name}>
      {track.clips.map((clip) => {
        const asset = clip.asset_id ? assets.get(clip.asset_id) : undefined;
        return (
          <Sequence
            key={clip.id}
            from={clip.start}
            durationInFrames={clip.duration}
            name={clip.name}
            layout={track.kind === "audio" ? "none" : "absolute-fill"}
          >
            {clip.kind === "text" ? (
              <TextClip clip={clip} />
            ) : clip.kind === "remotion" && clip.asset_id ? (
              // Its useCurrentFrame() counts from the clip's in-point: a clip bladed or
              // slipped to start at source frame 12 renders its frame 12 there.
              <Sequence from={-(clip.source_in ?? 0)} layout="none">
                <RemotionClip clipId={clip.id} assetId={clip.asset_id} />
              </Sequence>
            ) : asset ? (
              <MediaClip clip={clip} asset={asset} muted={Boolean(track.muted)} media={media} />
            ) : null}
          </Sequence>
        );
      })}
    </AbsoluteFill>
  );
}

export const Timeline: React.FC<TimelineProps> = ({ project, media = {} }) => {
  const assets = new Map(project.assets.map((a) => [a.id, a] as const));
  const video = project.tracks.filter((t) => t.kind === "video").reverse();
  const audio = project.tracks.filter((t) => t.kind === "audio");
  return (
    <AbsoluteFill style={{ backgroundColor: "black" }}>
      {video.map((track) => (
        <TrackLayer key={track.id} track={track} assets={assets} media={media} />
      ))}
      {audio.map((track) => (
        <TrackLayer key={track.id} track={track} assets={assets} media={media} />
      ))}
    </AbsoluteFill>
  );
};
