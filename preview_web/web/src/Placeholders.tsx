// Generated clips still being made (issue 20): a line under the Player for every clip whose
// take is a placeholder (its asset's ``generation`` is not ``ready``): the scenario line and
// its state, queued, running with its percent, failed with the reason, or cancelled, live from
// the stream's ``job`` events (`jobChanged`, called by the page's event handler) over what
// project.json says. A take that lands makes the project reload, and its line goes.
// Each line is ``li[data-clip][data-stage]`` (for tests).

import React, { useSyncExternalStore } from "react";
import type { Project } from "./project";

export interface JobState {
  status: string;
  progress: number;
  error: string | null;
}

const jobs = new Map<number, JobState>();
let version = 0;
const listeners = new Set<() => void>();

/** A job event's data (`Job.brief` on the server): kept when it is a TTS line's job. */
export function jobChanged(d: {
  job: number;
  kind: string;
  status: string;
  progress?: number;
  error?: string | null;
}): void {
  if (d.kind !== "tts") return;
  jobs.set(d.job, { status: d.status, progress: d.progress ?? 0, error: d.error ?? null });
  version += 1;
  for (const l of listeners) l();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** A placeholder's stage and what its line says, from its job when the stream told of it. */
export function describe(
  stage: string,
  job: JobState | undefined,
  error: string | null | undefined,
): [string, string] {
  const s = job ? job.status : stage;
  if (s === "running") return ["running", `running ${Math.round((job?.progress ?? 0) * 100)}%`];
  if (s === "failed" || s === "dead")
    return ["failed", `failed: ${job?.error ?? error ?? "no reason given"}`];
  if (s === "cancelled") return ["cancelled", "cancelled"];
  if (s === "succeeded") return ["made", "made, landing"];
  return ["queued", "queued"];
}

export function Placeholders({ project }: { project: Project }) {
  useSyncExternalStore(subscribe, () => version);
  const assets = new Map(project.assets.map((a) => [a.id, a] as const));
  const rows = project.tracks.flatMap((t) =>
    t.clips.flatMap((c) => {
      const gen = c.asset_id ? assets.get(c.asset_id)?.generation : null;
      if (!gen || gen.stage === "ready") return [];
      const job = gen.job_id ? jobs.get(Number(gen.job_id)) : undefined;
      const [stage, said] = describe(gen.stage, job, gen.error);
      return [{ clip: c, line: gen.line ?? c.name, stage, said }];
    }),
  );
  if (!rows.length) return null;
  return (
    <ul id="placeholders" className="placeholders">
      {rows.map((r) => (
        <li key={r.clip.id} data-clip={r.clip.id} data-stage={r.stage}>
          <strong>{r.line}</strong> {r.said}
        </li>
      ))}
    </ul>
  );
}
