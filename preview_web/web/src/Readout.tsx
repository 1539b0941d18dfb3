// The line under the Player that says what the page shows: timecode and frame number, the
// frame the video clips actually present (decoded frames, from `sync`), the last seek's
// latency, and a warning when the picture is not the frame asked for.
//
// It also keeps ``#root``'s ``data-presented`` (the presented frame, empty while a clip
// catches up), ``data-readout-frame`` (the Player frame that is about) and ``data-seek-ms``
// for tests and tools.

import React, { useEffect, useState, useSyncExternalStore } from "react";
import type { PlayerRef } from "@remotion/player";
import type { Rate } from "./project";
import { getVersion, presentedAt, subscribe } from "./sync";

/** SMPTE timecode of ``frame`` (drop-frame with ``;`` at 29.97 and 59.94), as the engine's
 * ``format_timecode``. */
export function timecode(frame: number, rate: Rate): string {
  const nominal = Math.round(rate.num / rate.den);
  const drop = rate.den === 1001 && (nominal === 30 || nominal === 60) ? nominal / 15 : 0;
  let f = frame;
  if (drop) {
    const per10 = nominal * 600 - drop * 9;
    const perMin = nominal * 60 - drop;
    const tens = Math.floor(f / per10);
    const rem = f % per10;
    f += drop * 9 * tens;
    if (rem > drop) f += drop * Math.floor((rem - drop) / perMin);
  }
  const two = (n: number) => String(n).padStart(2, "0");
  const seconds = Math.floor(f / nominal);
  return (
    `${two(Math.floor(seconds / 3600))}:${two(Math.floor(seconds / 60) % 60)}:` +
    `${two(seconds % 60)}${drop ? ";" : ":"}${two(f % nominal)}`
  );
}

export function Readout({
  player,
  rate,
  seekAsked,
  proxiesPending,
}: {
  player: React.RefObject<PlayerRef | null>;
  rate: Rate;
  /** When the terminal last asked for a frame: ``{frame, at}`` (performance.now()). */
  seekAsked: React.MutableRefObject<{ frame: number; at: number } | null>;
  proxiesPending: number;
}) {
  const [frame, setFrame] = useState(0);
  const [seekMs, setSeekMs] = useState<number | null>(null);
  useSyncExternalStore(subscribe, getVersion);

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

  const { presented, clip } = presentedAt(frame);
  const inSync = presented === frame;
  const root = document.getElementById("root");
  if (root) {
    root.dataset.readoutFrame = String(frame); // the frame ``data-presented`` is about
    root.dataset.presented = presented === null ? "" : String(presented);
  }
  useEffect(() => {
    const asked = seekAsked.current;
    if (inSync && asked && asked.frame === frame) {
      const ms = Math.round(performance.now() - asked.at);
      seekAsked.current = null;
      setSeekMs(ms);
      if (root) root.dataset.seekMs = String(ms);
    }
  });

  const mismatch = presented !== null && !inSync;
  return (
    <div id="readout" className={mismatch ? "readout off" : "readout"}>
      <span className="tc">{timecode(frame, rate)}</span>
      <span>frame {frame}</span>
      <span title="the frame the video on screen presents (decoded, not assumed)">
        shown {presented === null ? "…" : presented}
      </span>
      <span>seek {seekMs === null ? "–" : `${seekMs} ms`}</span>
      {mismatch ? (
        <span className="warn">
          out of sync: {clip} shows frame {presented}, asked for {frame}
        </span>
      ) : null}
      {proxiesPending > 0 ? (
        <span className="warn">
          {proxiesPending} proxy{proxiesPending > 1 ? "ies" : ""} still building: not frame-exact yet
        </span>
      ) : null}
    </div>
  );
}
