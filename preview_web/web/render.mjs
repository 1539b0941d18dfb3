// Draws Remotion clips' frames for the export: `node render.mjs JOB.json`.
//
// JOB.json: { serveUrl, browserExecutable, clips: [{ clipId, source, props, sourceIn, width,
// height, fps, durationInFrames, from, to, outDir }] }. For each clip, frames [from, to) of
// the "clip" composition of the bundle at serveUrl (../static/render, built by build.mjs from
// src/render/root.tsx) are written to outDir as transparent PNGs named 000000.png, 000001.png,
// ... (the first is frame `from`). One Chromium (the system's, `browserExecutable`; nothing
// is downloaded) draws every clip; the bundle is served from the disk by the renderer.
//
// Progress goes to stdout, one line a frame: `frame CLIP-INDEX FRAMES-DONE`. A failure is one
// line on stderr, `Remotion clip ID: what went wrong`, and exit status 1; the caller removes
// what was written.

import { readdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { openBrowser, renderFrames, selectComposition } from "@remotion/renderer";

const job = JSON.parse(readFileSync(process.argv[2], "utf-8"));
// Debian's Chromium has no old headless mode (chrome-headless-shell's); "chrome-for-testing"
// makes the renderer start it with --headless=new.
const chromeMode = "chrome-for-testing";
const browserOptions = {
  browserExecutable: job.browserExecutable,
  chromeMode,
  logLevel: "error",
};

function oneLine(error) {
  const text = error instanceof Error ? error.message : String(error);
  const marked = text.match(/reelcut-clip-error [^:]*: ([^\n]*)/);
  return (marked ? marked[1] : text.split("\n").find((l) => l.trim()) ?? text).trim();
}

let current = null;
let browser = null;
try {
  browser = await openBrowser("chrome", browserOptions);
  for (const [index, clip] of job.clips.entries()) {
    current = clip;
    const inputProps = {
      clipId: clip.clipId,
      source: clip.source,
      props: clip.props,
      sourceIn: clip.sourceIn,
      width: clip.width,
      height: clip.height,
      fps: clip.fps,
      durationInFrames: clip.durationInFrames,
    };
    const composition = await selectComposition({
      ...browserOptions,
      serveUrl: job.serveUrl,
      id: "clip",
      inputProps,
      puppeteerInstance: browser,
    });
    await renderFrames({
      ...browserOptions,
      composition,
      serveUrl: job.serveUrl,
      inputProps,
      puppeteerInstance: browser,
      imageFormat: "png",
      outputDir: clip.outDir,
      frameRange: [clip.from, clip.to - 1],
      onStart: () => {},
      onFrameUpdate: (done) => process.stdout.write(`frame ${index} ${done}\n`),
    });
    // element-<frame>.png (padded to the last frame's digits) -> 000000.png from `from` on.
    const written = readdirSync(clip.outDir)
      .map((name) => [name, Number(name.match(/(\d+)\.png$/)?.[1])])
      .filter(([, n]) => Number.isInteger(n))
      .sort((a, b) => a[1] - b[1]);
    if (written.length !== clip.to - clip.from) {
      throw new Error(`the renderer wrote ${written.length} frames, not ${clip.to - clip.from}`);
    }
    for (const [name, n] of written) {
      renameSync(join(clip.outDir, name), join(clip.outDir, `${String(n - clip.from).padStart(6, "0")}.png`));
    }
  }
} catch (error) {
  const who = current ? `Remotion clip ${current.clipId}` : "Remotion renderer";
  process.stderr.write(`${who}: ${oneLine(error)}\n`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close({ silent: true }).catch(() => {});
}
