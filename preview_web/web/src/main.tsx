// The preview page: loads the project and plays it in a Remotion Player.
//
// The page reads ``project.json`` next to itself (the preview server serves it there).
// ``#root`` carries ``data-state`` (loading | ready | error) and, once ready, the project's
// frame count, so tests and the terminal can tell what the page shows.

import React, { useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { Player } from "@remotion/player";
import { Timeline } from "./Timeline";
import type { Project } from "./project";
import { projectDuration } from "./project";

type Load = { state: "loading" } | { state: "ready"; project: Project } | { state: "error"; message: string };

function App() {
  const [load, setLoad] = useState<Load>({ state: "loading" });
  useEffect(() => {
    fetch("project.json", { cache: "no-store" })
      .then(async (r) => {
        if (!r.ok) throw new Error(`project.json: HTTP ${r.status}`);
        return (await r.json()) as Project;
      })
      .then((project) => setLoad({ state: "ready", project }))
      .catch((e: unknown) => setLoad({ state: "error", message: String(e) }));
  }, []);

  const root = document.getElementById("root");
  if (root) root.dataset.state = load.state;

  if (load.state === "loading") return <p className="status">Loading the project…</p>;
  if (load.state === "error") return <p className="status error">{load.message}</p>;

  const { project } = load;
  const fps = project.rate.num / project.rate.den;
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
        component={Timeline}
        inputProps={{ project }}
        durationInFrames={frames}
        fps={fps}
        compositionWidth={project.width}
        compositionHeight={project.height}
        controls
        style={{ width: "100%", aspectRatio: `${project.width} / ${project.height}` }}
      />
    </main>
  );
}

const container = document.getElementById("root");
if (container) createRoot(container).render(<App />);
