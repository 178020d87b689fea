// `sess config validate` / `sess config schema`.
import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from '../common/errors.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findRepo } from '../adapters/git.js';
import { parseConfig } from '../config/load.js';
import { CONFIG_FILE, readWorktreeConfigText, requireSideBySide, requireSomethingToRun, runtimesOfConfig } from './up/prepare.js';
import { placeServices } from '../modes/placement.js';

/** Validate the sess.yaml of the checkout we are in; returns its path. Throws ConfigError. */
export async function validateConfig(cwd: string): Promise<string> {
  const { worktreeRoot } = await findRepo(cwd);
  const file = join(worktreeRoot, CONFIG_FILE);
  const config = parseConfig(readWorktreeConfigText(worktreeRoot), file);
  const placement = placeServices(config, config.mode, { host: [], container: [] });
  requireSideBySide(config, placement, file);
  requireSomethingToRun(config, config.mode, file);
  // the files the runtimes of its mode need (compose's files; a mode that runs nothing in compose never reads them)
  const problems = runtimesOfConfig(config, config.mode, placement).flatMap((runtime) => {
    const { key, files } = runtime.requiredFiles(config);
    const missing = files.filter((f) => !existsSync(join(worktreeRoot, f)));
    return missing.length ? [{ path: key, message: `no such file: ${missing.join(', ')}` }] : [];
  });
  if (problems.length) throw new ConfigError(file, problems);
  return file;
}

/** The committed JSON Schema (generated from the zod schema; a test fails if it drifts). The path is
 * relative to the bundle in dist/. */
export function schemaText(): string {
  return readFileSync(fileURLToPath(new URL('../schema/sess.schema.json', import.meta.url)), 'utf8');
}
