// Builds the preview page into ../static: bundle.js, index.html and build.json; and the
// export's Remotion bundle into ../static/render (index.html and bundle.js), the page that
// @remotion/renderer opens to draw Remotion clips (src/render/root.tsx, run by render.mjs).
//
// build.json records a hash of the inputs (this file, package-lock.json and everything under
// src/); preview_web/build.py computes the same hash to tell whether the bundle is fresh.
// The output is built in a temporary folder and renamed into place, so a failed build never
// leaves half a page behind.

import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { studioHtml } from "@remotion/studio-shared";

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, "..", "static");
const tmpDir = join(here, "..", "static.tmp");

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}

export function inputsHash() {
  const files = ["build.mjs", "package-lock.json", ...walk(join(here, "src")).map((f) => relative(here, f))]
    .map((f) => f.split(sep).join("/"))
    .sort();
  const listing = files
    .map((f) => `${createHash("sha256").update(readFileSync(join(here, f))).digest("hex")}  ${f}\n`)
    .join("");
  return createHash("sha256").update(listing).digest("hex");
}

rmSync(tmpDir, { recursive: true, force: true });
mkdirSync(tmpDir, { recursive: true });
const result = await esbuild.build({
  entryPoints: [join(here, "src", "main.tsx")],
  bundle: true,
  minify: true,
  sourcemap: true,
  format: "iife",
  target: ["chrome110", "firefox110", "safari16"],
  outfile: join(tmpDir, "bundle.js"),
  define: { "process.env.NODE_ENV": '"production"' },
  jsx: "automatic",
  logLevel: "warning",
  metafile: true,
});
// The clip compiler is its own bundle, loaded by the page only when a Remotion clip needs it.
await esbuild.build({
  entryPoints: [join(here, "src", "compiler.ts")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome110", "firefox110", "safari16"],
  outfile: join(tmpDir, "compiler.js"),
  logLevel: "warning",
});
// The export's Remotion bundle. Its index.html is the one @remotion/bundler writes (the
// renderer checks the globals it sets); the studio's UI, which the headless renderer never
// loads, is left out.
mkdirSync(join(tmpDir, "render"));
await esbuild.build({
  entryPoints: [join(here, "src", "render", "root.tsx")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome110"],
  outfile: join(tmpDir, "render", "bundle.js"),
  define: { "process.env.NODE_ENV": '"production"' },
  jsx: "automatic",
  logLevel: "warning",
  plugins: [
    {
      name: "no-studio-ui",
      setup(build) {
        build.onResolve({ filter: /^\.\/internals(\.mjs)?$/ }, (args) =>
          args.importer.includes("@remotion/studio") ? { path: args.path, external: true } : undefined,
        );
      },
    },
  ],
});
writeFileSync(
  join(tmpDir, "render", "index.html"),
  studioHtml({
    publicPath: "./",
    editorName: null,
    inputProps: null,
    envVariables: { NODE_ENV: "production" },
    staticHash: "/static-reelcut",
    remotionRoot: "",
    studioServerCommand: null,
    renderQueue: null,
    completedClientRenders: null,
    numberOfAudioTags: 0,
    publicFiles: [],
    includeFavicon: false,
    title: "reelcut export: Remotion clips",
    renderDefaults: undefined,
    publicFolderExists: null,
    fileSystemPlatform: "posix",
    gitSource: null,
    projectName: "reelcut",
    installedDependencies: null,
    packageManager: "unknown",
    audioLatencyHint: "interactive",
    experimentalKeepAudioContextAlive: false,
    sampleRate: 48000,
    logLevel: "info",
    mode: "bundle",
    bundleScriptUrl: null,
    bundleScriptType: null,
    importMap: null,
    readOnlyStudio: true,
    studioRuntimeConfig: null,
  }),
);
copyFileSync(join(here, "src", "index.html"), join(tmpDir, "index.html"));
const bytes = readFileSync(join(tmpDir, "bundle.js")).length;
writeFileSync(join(tmpDir, "build.json"), JSON.stringify({ inputs: inputsHash(), bundle_bytes: bytes }, null, 2) + "\n");
rmSync(outDir, { recursive: true, force: true });
renameSync(tmpDir, outDir);
console.log(`preview page built: ${relative(process.cwd(), outDir)}/bundle.js ${(bytes / 1024).toFixed(0)} KiB, ${result.warnings.length} warnings`);
