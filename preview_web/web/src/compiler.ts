// The Remotion clip compiler, loaded only when the project has a Remotion clip (a separate
// bundle, compiler.js, so the page does not carry it otherwise). It turns a clip's TSX source
// into a component: TypeScript and JSX stripped by sucrase, imports of "react" and
// "remotion" (and "remotion/..." subpaths) resolved to the page's own copies. The export's
// renderer bundle (src/render/root.tsx) imports the same `compile`, so a clip's TSX becomes the
// same component in the export as on the page.

import { transform } from "sucrase";

type Require = (name: string) => unknown;

export function compile(source: string, modules: Record<string, unknown>): unknown {
  const { code } = transform(source, {
    transforms: ["typescript", "jsx", "imports"],
    jsxRuntime: "classic",
    production: true,
  });
  const require: Require = (name) => {
    if (name in modules) return modules[name];
    throw new Error(`a Remotion clip can import only ${Object.keys(modules).join(", ")} (not "${name}")`);
  };
  const module = { exports: {} as Record<string, unknown> };
  // The clip's code runs with the page's React and remotion; nothing else is in scope.
  const run = new Function("require", "module", "exports", "React", code);
  run(require, module, module.exports, modules.react);
  const exported = module.exports.default ?? module.exports.Clip;
  if (typeof exported !== "function") {
    throw new Error("the clip must `export default` a React component");
  }
  return exported;
}

(window as unknown as { reelcutCompile: typeof compile }).reelcutCompile = compile;
