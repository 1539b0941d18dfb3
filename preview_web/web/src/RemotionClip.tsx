// A Remotion clip on the timeline: its manifest (remotion/<asset-id>/manifest.json: TSX
// ``source`` and ``props``) fetched and compiled in the page on first use, cached by the
// hash of its code. A compile or render error shows an overlay on that clip alone; the rest
// of the composition keeps playing.

import React, { useEffect, useState } from "react";
import * as Remotion from "remotion";
import { AbsoluteFill } from "remotion";

interface Manifest {
  source: string;
  props?: Record<string, unknown>;
}

type Compiled = { ok: true; component: React.ComponentType<Record<string, unknown>> } | { ok: false; error: string };

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
    result = { ok: true, component };
  } catch (e) {
    result = { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  compiled.set(key, result);
  return result;
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
  const [state, setState] = useState<{ compiled: Compiled; props: Record<string, unknown> } | null>(null);
  const [handle] = useState(() => Remotion.delayRender(`compiling Remotion clip ${clipId}`));
  useEffect(() => {
    let live = true;
    fetch(`remotion/${assetId}/manifest.json`, { cache: "no-store" })
      .then(async (r) => {
        if (!r.ok) throw new Error(`manifest: HTTP ${r.status}`);
        return (await r.json()) as Manifest;
      })
      .then(async (m) => ({ compiled: await prepare(m.source), props: m.props ?? {} }))
      .catch((e: unknown) => ({ compiled: { ok: false, error: String(e) } as Compiled, props: {} }))
      .then((s) => {
        if (live) setState(s);
        Remotion.continueRender(handle);
      });
    return () => {
      live = false;
    };
  }, [assetId, clipId, handle]);
  if (!state) return null;
  if (!state.compiled.ok) return <Overlay clipId={clipId} error={state.compiled.error} />;
  const Component = state.compiled.component;
  return (
    <Boundary clipId={clipId}>
      <AbsoluteFill data-clip={clipId}>
        <Component {...state.props} />
      </AbsoluteFill>
    </Boundary>
  );
}
