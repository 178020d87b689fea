// Builds the CLI into dist/ as a few ESM bundles (esbuild, code-split so each command loads only
// what it needs). Bundling matters: Node 20 has no compile cache for ESM, and resolving and reading
// the hundreds of files of zod, yaml and commander one by one cost `sess` ~30 ms on every start.
// Type checking is `tsc --noEmit` (npm run build runs both).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: { main: 'src/cli/main.ts', jsonSchema: 'src/core/config/jsonSchema.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // commander is CommonJS: give its require() of node builtins a real require
  banner: { js: "import { createRequire as __sessRequire } from 'node:module'; const require = __sessRequire(import.meta.url);" },
});
