// The word under the playhead (issue 22): a line under the Player with the words around the
// frame shown, the one being said marked, when the timeline has a transcript.
//
// The words come from ``words.json`` (the server maps each transcript through the clips that
// use it: ``{clip, text, start, end}`` in timeline frames, half-open, in time order). They are
// fetched again when the project reloads and when a file under ``transcripts/`` changes
// (`wordsChanged`, called by the page's event handler). The line shows the words of the clip
// under the playhead, at most `SPAN` either side of the current one; between words the line
// stays and nothing is marked. A button hides it. ``#root`` carries ``data-word`` (the marked
// word, empty when none) and ``data-words`` (how many words the timeline has), for tests.

import React, { useEffect, useState, useSyncExternalStore } from "react";
import type { PlayerRef } from "@remotion/player";
import type { Project } from "./project";

export interface TimelineWord {
  clip: string;
  text: string;
  start: number;
  end: number;
}

const SPAN = 6;

let version = 0;
const listeners = new Set<() => void>();

/** A project file changed (``null``: maybe any): fetch the words again if it was a transcript. */
export function wordsChanged(path: string | null): void {
  if (path !== null && !path.startsWith("transcripts/")) return;
  version += 1;
  for (const l of listeners) l();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The index of the last word that starts at or before ``frame`` (-1: none). */
export function lastStarted(words: TimelineWord[], frame: number): number {
  let lo = 0;
  let hi = words.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (words[mid].start <= frame) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

export function Words({
  player,
  project,
}: {
  player: React.RefObject<PlayerRef | null>;
  project: Project;
}) {
  const [words, setWords] = useState<TimelineWord[]>([]);
  const [frame, setFrame] = useState(0);
  const [hidden, setHidden] = useState(false);
  const changed = useSyncExternalStore(subscribe, () => version);

  useEffect(() => {
    let live = true;
    fetch("words.json", { cache: "no-store" })
      .then((r) => (r.ok ? r.json() : { words: [] }))
      .then((d) => live && setWords(Array.isArray(d.words) ? d.words : []))
      .catch(() => live && setWords([])); // a plain file server has no words.json
    return () => {
      live = false;
    };
  }, [project, changed]);

  useEffect(() => {
    const p = player.current;
    if (!p) return;
    const update = () => setFrame(p.getCurrentFrame());
    update();
    p.addEventListener("frameupdate", update);
    p.addEventListener("seeked", update);
    return () => {
      p.removeEventListener("frameupdate", update);
      p.removeEventListener("seeked", update);
    };
  }, [player]);

  const at = lastStarted(words, frame);
  const current = at >= 0 && frame < words[at].end ? at : -1;
  const root = document.getElementById("root");
  if (root) {
    root.dataset.word = current >= 0 ? words[current].text : "";
    root.dataset.words = String(words.length);
  }
  if (!words.length) return null;
  if (hidden) {
    return (
      <div id="words" className="words hidden">
        <button type="button" onClick={() => setHidden(false)}>
          show words
        </button>
      </div>
    );
  }
  const near = Math.max(at, 0);
  const clip = words[near].clip;
  const shown: number[] = [];
  for (let i = Math.max(0, near - SPAN); i <= Math.min(words.length - 1, near + SPAN); i++) {
    if (words[i].clip === clip) shown.push(i);
  }
  return (
    <div id="words" className="words">
      <button type="button" onClick={() => setHidden(true)} title="hide the words">
        words
      </button>
      <p>
        {shown.map((i) => (
          <React.Fragment key={i}>
            {i === current ? (
              <mark data-word-current="">{words[i].text}</mark>
            ) : (
              <span className={i <= near ? "said" : ""}>{words[i].text}</span>
            )}{" "}
          </React.Fragment>
        ))}
      </p>
    </div>
  );
}
