// Builds the CLI into dist/ as a few ESM bundles (esbuild, code-split so each command loads only
// what it needs). Bundling matters: Node 20 has no compile cache for ESM, and resolving and reading
// the hundreds of files of zod, yaml and commander one by one cost `sess` ~30 ms on every start.
// Type checking is `tsc --noEmit` (npm run build runs both).
import { build } from 'esbuild';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });

// Validated configs are cached by the text of sess.yaml and this id: a change to the config code
// (schema, defaults, rules) makes every cached result stale.
const configDir = new URL('../config/', import.meta.url);
const configId = createHash('sha256');
for (const file of readdirSync(configDir).sort()) configId.update(file).update(readFileSync(new URL(file, configDir)));
await build({
  entryPoints: { main: 'cli/main.ts', jsonSchema: 'config/jsonSchema.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  define: { __SESS_CONFIG_ID__: JSON.stringify(configId.digest('hex').slice(0, 16)) },
  // commander is CommonJS: give its require() of node builtins a real require
  banner: { js: "import { createRequire as __sessRequire } from 'node:module'; const require = __sessRequire(import.meta.url);" },
});

// The machine's proxy is a program of its own, started detached by `sess` (core/proxy/supervise.ts).
// One file with no chunks shared with the CLI: it loads only what it serves with, and a rebuild of
// the CLI never changes what a running proxy would load on its next start.
await build({
  entryPoints: { proxy: 'proxy/main.ts' },
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // http-proxy-3 and its dependencies are CommonJS: give their require() of node builtins a real require
  banner: { js: "import { createRequire as __sessRequire } from 'node:module'; const require = __sessRequire(import.meta.url);" },
});
