// The preview page: loads the project and plays it in a Remotion Player, following the
// terminal.
//
// The page reads ``project.json`` next to itself (and ``media.json``, the proxies the server
// has, when it is there). With the preview server it also listens to ``events`` (SSE): a
// ``project`` event reloads the project without reloading the page or losing the position,
// except a ``file`` event (a file of the project changed on disk: ``{path, sha256, from}``),
// which reloads the project only for ``project.json`` and otherwise goes to the Remotion clips
// that read that file (`fileChanged`); a ``playback`` event from the terminal (``seek``,
// ``play``, ``pause``) drives the Player. The page reports the frame it shows to ``playback``
// (POST), so the terminal's playhead follows.
// ``#root`` carries ``data-state`` (loading | ready | error), the frame count
// (``data-frames``) and the frame shown (``data-frame``), for tests and tools.

import React, { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { createRoot } from "react-dom/client";
import { Player, type PlayerRef } from "@remotion/player";
import { Readout } from "./Readout";
import { SourceMonitor, type SourceState, sourceFromEvent } from "./SourceMonitor";
import { fileChanged } from "./RemotionClip";
import { Placeholders, jobChanged } from "./Placeholders";
import { Timeline } from "./Timeline";
import { Words, wordsChanged } from "./Words";
import type { MediaMap, Project } from "./project";
import { projectDuration } from "./project";

type Load =
  | { state: "loading" }
  | { state: "ready"; project: Project; media: MediaMap }
  | { state: "error"; message: string };

async function fetchProject(): Promise<{ project: Project; media: MediaMap }> {
  const r = await fetch("project.json", { cache: "no-store" });
  if (!r.ok) throw new Error(`project.json: HTTP ${r.status}`);
  const project = (await r.json()) as Project;
  let media: MediaMap = {};
  try {
    const m = await fetch("media.json", { cache: "no-store" });
    if (m.ok) media = (await m.json()) as MediaMap;
  } catch {
    // a plain file server has no media.json: play the originals
  }
  return { project, media };
}

function postFrame(frame: number, hello: boolean): void {
  fetch("playback", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(hello ? { frame, hello } : { frame }),
  }).catch(() => undefined);
}

/** Tell the server which frame is on screen (at most every 100 ms, and the last one always). */
function frameReporter(): (frame: number) => void {
  let last = -1;
  let timer: number | undefined;
  let pending = -1;
  return (frame: number) => {
    pending = frame;
    if (timer !== undefined) return;
    timer = window.setTimeout(() => {
      timer = undefined;
      if (pending !== last) {
        last = pending;
        postFrame(pending, false);
      }
    }, 100);
  };
}

function App() {
  const [load, setLoad] = useState<Load>({ state: "loading" });
  // The event stream is down (the editor quit or restarts): an overlay says so.
  const [offline, setOffline] = useState(false);
  const [connection, setConnection] = useState(0); // bumped to open a new stream
  // The editor's media bin has the focus: its source shows instead of the timeline.
  const [source, setSource] = useState<SourceState | null>(null);
  const player = useRef<PlayerRef>(null);
  const report = useRef(frameReporter());
  // What the terminal last asked for. Events can arrive before the Player exists (the stream
  // opens while the project is still loading); the Player takes this up when it mounts.
  const wanted = useRef<{ frame: number | null; playing: boolean }>({ frame: null, playing: false });
  // The terminal's last seek and when it arrived, for the readout's latency.
  const seekAsked = useRef<{ frame: number; at: number } | null>(null);
  const root = document.getElementById("root");

  const reload = useCallback(() => {
    fetchProject()
      .then(({ project, media }) => setLoad({ state: "ready", project, media }))
      .catch((e: unknown) => setLoad({ state: "error", message: String(e) }));
  }, []);

  useEffect(reload, [reload]);

  useEffect(() => {
    if (typeof EventSource === "undefined") return;
    const source = new EventSource("events");
    source.addEventListener("project", (e) => {
      const event = JSON.parse((e as MessageEvent).data);
      if (event.kind === "file") {
        const path = event.data?.path;
        if (path === "project.json") reload();
        else if (typeof path === "string") {
          fileChanged(path);
          wordsChanged(path);
        }
        return;
      }
      reload();
      // After a gap in the stream (``reset``) any file may have changed unheard.
      if (event.kind === "reset") {
        fileChanged(null);
        wordsChanged(null);
      }
    });
    source.addEventListener("job", (e) => {
      const d = JSON.parse((e as MessageEvent).data).data;
      if (d.kind === "proxy" && d.status === "succeeded") reload();
      jobChanged(d);
    });
    source.addEventListener("playback", (e) => {
      const event = JSON.parse((e as MessageEvent).data);
      if (root) {
        // When the last event arrived (for the fan-out benchmark and for debugging).
        root.dataset.eventId = String(event.id);
        root.dataset.eventAt = String(Date.now());
      }
      if (event.data.from === "page") return;
      if (event.kind === "source") {
        setSource(sourceFromEvent(event.data));
        return;
      }
      if (event.kind === "seek") {
        wanted.current.frame = event.data.frame;
        seekAsked.current = { frame: event.data.frame, at: performance.now() };
      }
      else if (event.kind === "play") wanted.current.playing = true;
      else if (event.kind === "pause") wanted.current.playing = false;
      const p = player.current;
      if (!p) return;
      if (event.kind === "seek") p.seekTo(event.data.frame);
      else if (event.kind === "play") p.play();
      else if (event.kind === "pause") p.pause();
    });
    let retry = 0;
    source.onerror = () => {
      if (root) root.dataset.events = "reconnecting";
      setOffline(true);
      // The browser retries a dropped stream by itself, but gives up for good after an
      // answer that is not a stream (the server starting up, a proxy's error page): then
      // open a new one, once a second, until the editor is back.
      if (source.readyState === EventSource.CLOSED && !retry) {
        retry = window.setTimeout(() => setConnection((n) => n + 1), 1000);
      }
    };
    source.onopen = () => {
      if (root) root.dataset.events = "open";
      setOffline((was) => {
        if (was) {
          // The editor is back (a restart keeps the project's address): take its project
          // and say hello, so it sends its playhead; no page reload.
          reload();
          const p = player.current;
          if (p) postFrame(p.getCurrentFrame(), true);
        }
        return false;
      });
    };
    return () => {
      window.clearTimeout(retry);
      source.close();
    };
  }, [reload, root, connection]);

  useEffect(() => {
    const p = player.current;
    if (!p) return;
    // Read the Player's frame rather than the event's: a late ``frameupdate`` from an earlier
    // seek can arrive after the ``seeked`` of a newer one.
    const onFrame = () => {
      const frame = p.getCurrentFrame();
      if (root) root.dataset.frame = String(frame);
      report.current(frame);
    };
    p.addEventListener("frameupdate", onFrame);
    p.addEventListener("seeked", onFrame);
    // Catch up with what the terminal asked for before the Player existed, then say hello
    // with the frame shown: the terminal answers a page that has just connected with its
    // playhead (and with play, if it is playing).
    const { frame, playing } = wanted.current;
    if (frame !== null) p.seekTo(frame);
    if (playing) p.play();
    if (root) root.dataset.frame = String(p.getCurrentFrame());
    postFrame(p.getCurrentFrame(), true);
    return () => {
      p.removeEventListener("frameupdate", onFrame);
      p.removeEventListener("seeked", onFrame);
    };
  }, [load.state, root]);

  if (root) root.dataset.state = load.state;
  if (root) root.dataset.source = source?.asset_id ?? "";
  const ready = load.state === "ready" ? load : null;
  const inputProps = useMemo(
    () => (ready ? { project: ready.project, media: ready.media } : null),
    [ready?.project, ready?.media],
  );

  if (load.state === "loading") return <p className="status">Loading the project…</p>;
  if (load.state === "error") return <p className="status error">{load.message}</p>;

  const { project, media } = load;
  const fps = project.rate.num / project.rate.den;
  const videoAssets = new Set(
    project.assets.filter((a) => a.kind === "video").map((a) => a.id),
  );
  const proxiesPending = new Set(
    project.tracks.flatMap((t) =>
      t.clips
        .filter((c) => c.asset_id && videoAssets.has(c.asset_id) && !media[c.asset_id])
        .map((c) => c.asset_id),
    ),
  ).size;
  const frames = projectDuration(project);
  if (root) root.dataset.frames = String(frames);
  return (
    <main>
      <header>
        <h1>{project.name}</h1>
        <span className="meta">
          {project.width}×{project.height} · {fps.toFixed(fps % 1 ? 3 : 0)} fps · {frames} frames ·{" "}
          {project.tracks.map((t) => `${t.name}:${t.clips.length}`).join(" ")}
        </span>
      </header>
      <Player
        ref={player}
        component={Timeline}
        inputProps={inputProps ?? { project, media }}
        durationInFrames={frames}
        fps={fps}
        compositionWidth={project.width}
        compositionHeight={project.height}
        controls
        style={{
          width: "100%",
          aspectRatio: `${project.width} / ${project.height}`,
          display: source ? "none" : undefined,
        }}
      />
      {source ? <SourceMonitor source={source} project={project} media={media} /> : null}
      {source ? null : (
        // The timeline's readout; the source monitor has its own (and its video is not one
        // of the timeline's clips that the readout's "shown" waits for).
        <Readout
          player={player}
          rate={project.rate}
          seekAsked={seekAsked}
          proxiesPending={proxiesPending}
        />
      )}
      <Words player={player} project={project} />
      <Placeholders project={project} />
      {offline ? (
        <div id="offline" className="offline">
          <strong>The editor is not running.</strong> This tab reconnects by itself when the
          project is opened again: its address stays the same.
        </div>
      ) : null}
    </main>
  );
}

const container = document.getElementById("root");
if (container) createRoot(container).render(<App />);
