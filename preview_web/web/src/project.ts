// The subset of project.json (engine/model.py) that the preview page reads.

export interface Rate {
  num: number;
  den: number;
}

/** A generated asset's state (TTS): not ``ready`` means a placeholder without bytes. */
export interface Generation {
  stage: "queued" | "running" | "ready" | "failed";
  progress?: number;
  error?: string | null;
  job_id?: string | null;
  line?: string | null;
  take?: string | null;
}

export interface Asset {
  id: string;
  kind: "video" | "audio" | "image" | "remotion" | "text" | "callout";
  name: string;
  hash?: string | null;
  ext?: string | null;
  generation?: Generation | null;
}

export interface Transform {
  x: number;
  y: number;
  scale: number;
  rotation: number;
  opacity: number;
}

export interface TextProps {
  text: string;
  font?: string;
  size?: number;
  color?: string;
  background?: string | null;
  align?: "left" | "center" | "right";
}

/** Gain and fades of a clip on an audio track (schema 2; absent or null: unity, no fades). */
export interface ClipAudio {
  gain_db: number;
  fade_in: number;
  fade_out: number;
}

export interface Clip {
  id: string;
  kind: "media" | "text" | "remotion";
  name: string;
  start: number;
  duration: number;
  source_in?: number;
  asset_id?: string | null;
  linked_id?: string | null;
  transform?: Transform | null;
  text?: TextProps | null;
  audio?: ClipAudio | null;
}

export interface Track {
  id: string;
  kind: "video" | "audio";
  name: string;
  locked?: boolean;
  muted?: boolean;
  solo?: boolean;
  clips: Clip[];
}

export interface Project {
  schema_version: number;
  id: string;
  name: string;
  rate: Rate;
  width: number;
  height: number;
  assets: Asset[];
  tracks: Track[];
}

/** Frames to the end of the last clip on any track (at least one frame for the Player). */
export function projectDuration(project: Project): number {
  let end = 0;
  for (const track of project.tracks) {
    for (const clip of track.clips) end = Math.max(end, clip.start + clip.duration);
  }
  return Math.max(end, 1);
}

/** Where the server has a lighter file to play an asset from (``media.json``: asset id ->
 * ``proxies/<sha256>.p<recipe>.mp4``); absent when there is none yet. */
export type MediaMap = Record<string, string>;

/** The URL of an asset's bytes, relative to the page: its proxy when the server has one,
 * else ``assets/<sha256>.<ext>``. */
export function assetUrl(asset: Asset, media: MediaMap = {}): string | null {
  if (media[asset.id]) return media[asset.id];
  if (!asset.hash || !asset.ext) return null;
  return `assets/${asset.hash}.${asset.ext}`;
}
