// A Remotion clip on the timeline: its manifest (remotion/<asset-id>/manifest.json: TSX
// ``source`` and ``props``) fetched and compiled in the page on first use, cached by the
// hash of its code. A compile or render error shows an overlay on that clip alone; the rest
// of the composition keeps playing.
//
// When the manifest changes on disk (saved in the terminal's script pane, or written by an
// applied or reverted changeset) the page hears a ``project``/``file`` event naming it and
// calls `fileChanged`: every mounted clip of that asset fetches it again and re-renders in
// place, in the Player's current frame (compiling only code it has not seen: going back to
// earlier code is instant).

import React, { useCallback, useEffect, useRef, useState } from "react";
import * as Remotion from "remotion";
import { AbsoluteFill } from "remotion";

interface Manifest {
  source: string;
  props?: Record<string, unknown>;
}

type Compiled =
  | { ok: true; key: string; component: React.ComponentType<Record<string, unknown>> }
  | { ok: false; key: string; error: string };

const compiled = new Map<string, Compiled>();
let compiler: Promise<(source: string, modules: Record<string, unknown>) => unknown> | null = null;

function loadCompiler() {
  if (!compiler) {
    compiler = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "compiler.js";
      script.onload = () => resolve((window as unknown as { reelcutCompile: (s: string, m: Record<string, unknown>) => unknown }).reelcutCompile);
      script.onerror = () => reject(new Error("could not load the clip compiler (compiler.js)"));
      document.head.appendChild(script);
    });
  }
  return compiler;
}

async function codeHash(source: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(source));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function prepare(source: string): Promise<Compiled> {
  const key = await codeHash(source);
  const hit = compiled.get(key);
  if (hit) return hit;
  let result: Compiled;
  try {
    const compile = await loadCompiler();
    const component = compile(source, { react: React, remotion: Remotion }) as React.ComponentType<Record<string, unknown>>;
    result = { ok: true, key, component };
  } catch (e) {
    result = { ok: false, key, error: e instanceof Error ? e.message : String(e) };
  }
  compiled.set(key, result);
  return result;
}

// Who listens for changes of which file (a path relative to the project, as in the events).
const watchers = new Map<string, Set<() => void>>();

function watch(path: string, fn: () => void): () => void {
  let set = watchers.get(path);
  if (!set) watchers.set(path, (set = new Set()));
  set.add(fn);
  return () => {
    set.delete(fn);
    if (set.size === 0 && watchers.get(path) === set) watchers.delete(path);
  };
}

/** A file of the project changed on disk (``null``: every file may have, as after a gap in
 * the event stream): the clips that read it read it again. */
export function fileChanged(path: string | null): void {
  const targets = path === null ? [...watchers.values()] : [watchers.get(path)];
  for (const set of targets) for (const fn of [...(set ?? [])]) fn();
}

export function manifestPath(assetId: string): string {
  return `remotion/${assetId}/manifest.json`;
}

type Loaded = { compiled: Compiled; props: Record<string, unknown> };

async function load(assetId: string, signal: AbortSignal): Promise<Loaded> {
  try {
    const r = await fetch(manifestPath(assetId), { cache: "no-store", signal });
    if (!r.ok) throw new Error(`manifest: HTTP ${r.status}`);
    const m = (await r.json()) as Manifest;
    if (typeof m.source !== "string") throw new Error("manifest: no TSX `source`");
    return { compiled: await prepare(m.source), props: m.props ?? {} };
  } catch (e) {
    return { compiled: { ok: false, key: "", error: String(e) }, props: {} };
  }
}

function Overlay({ clipId, error }: { clipId: string; error: string }) {
  return (
    <AbsoluteFill
      data-clip-error={clipId}
      style={{ justifyContent: "center", alignItems: "center", background: "rgba(120, 0, 0, 0.55)" }}
    >
      <div style={{ color: "#fff", font: "28px monospace", padding: 24, maxWidth: "80%", whiteSpace: "pre-wrap" }}>
        Remotion clip {clipId}: {error}
      </div>
    </AbsoluteFill>
  );
}

class Boundary extends React.Component<{ clipId: string; children: React.ReactNode }, { error: string | null }> {
  state = { error: null as string | null };
  static getDerivedStateFromError(e: unknown) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
  render() {
    if (this.state.error) return <Overlay clipId={this.props.clipId} error={this.state.error} />;
    return this.props.children;
  }
}

export function RemotionClip({ clipId, assetId }: { clipId: string; assetId: string }) {
  const [state, setState] = useState<Loaded | null>(null);
  // Bumped by every change of the manifest on disk: each value is one fetch.
  const [version, setVersion] = useState(0);
  // Rendering waits for the first load only; a later change re-renders a clip already shown.
  // The handle is continued exactly once: when a load is shown, or when the clip goes away
  // before any was.
  const [handle] = useState(() => Remotion.delayRender(`compiling Remotion clip ${clipId}`));
  const pending = useRef(true);
  const release = useCallback(() => {
    if (!pending.current) return;
    pending.current = false;
    Remotion.continueRender(handle);
  }, [handle]);

  useEffect(() => release, [release]);
  useEffect(() => watch(manifestPath(assetId), () => setVersion((v) => v + 1)), [assetId]);
  useEffect(() => {
    // A newer change (or another asset) makes this load stale: drop it, the next one releases.
    const abort = new AbortController();
    load(assetId, abort.signal).then((s) => {
      if (abort.signal.aborted) return;
      setState(s);
      release();
    });
    return () => abort.abort();
  }, [assetId, version, release]);

  if (!state) return null;
  if (!state.compiled.ok) return <Overlay clipId={clipId} error={state.compiled.error} />;
  const Component = state.compiled.component;
  // Keyed by the code: new code starts with a fresh boundary (an error of the old code is gone).
  return (
    <Boundary key={state.compiled.key} clipId={clipId}>
      <AbsoluteFill data-clip={clipId}>
        <Component {...state.props} />
      </AbsoluteFill>
    </Boundary>
  );
}
