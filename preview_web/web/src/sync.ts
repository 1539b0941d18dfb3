// What the video clips on screen actually present, for the page's sync readout.
//
// Each mounted video clip reports, in timeline frames, the frame the Player asked it for and
// the frame its <video> element presented last (from requestVideoFrameCallback's mediaTime:
// the picture, not an attribute). The page is in sync at frame n when every clip asked for n
// presents n; a clip with nothing presented yet is pending.

export interface ClipSync {
  asked: number;
  presented: number | null;
}

const clips = new Map<string, ClipSync>();
const listeners = new Set<() => void>();
let version = 0;

function changed(): void {
  version += 1;
  for (const fn of listeners) fn();
}

export function reportClip(id: string, asked: number, presented: number | null): void {
  const old = clips.get(id);
  if (old && old.asked === asked && old.presented === presented) return;
  clips.set(id, { asked, presented });
  changed();
}

export function dropClip(id: string): void {
  if (clips.delete(id)) changed();
}

export function subscribe(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function getVersion(): number {
  return version;
}

/** The frame the page presents when the Player is at ``frame``: ``frame`` when every clip
 * shows it (or no video clip is mounted), a clip's differing frame, or null while a clip has
 * not caught up yet. */
export function presentedAt(frame: number): { presented: number | null; clip: string | null } {
  for (const [id, c] of clips) {
    if (c.asked !== frame) return { presented: null, clip: id };
    if (c.presented !== frame) return { presented: c.presented, clip: id };
  }
  return { presented: frame, clip: null };
}
