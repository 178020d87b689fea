// `sess config validate` / `sess config schema`.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../common/errors.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findRepo } from '../adapters/git.js';
import { parseConfig } from '../config/load.js';
import { CONFIG_FILE, composeFilesMissingIn, readWorktreeConfigText } from './up/prepare.js';

/** Validate the sess.yaml of the checkout we are in; returns its path. Throws ConfigError. */
export async function validateConfig(cwd: string): Promise<string> {
  const { worktreeRoot } = await findRepo(cwd);
  const file = join(worktreeRoot, CONFIG_FILE);
  const config = parseConfig(readWorktreeConfigText(worktreeRoot), file);
  // a mode that runs compose needs its files (host mode may never read them)
  if (config.mode !== 'host') {
    const missing = composeFilesMissingIn(config, worktreeRoot);
    if (missing.length) throw new ConfigError(file, [{ path: 'compose.files', message: `no such file: ${missing.join(', ')}` }]);
  }
  return file;
}

/** The committed JSON Schema (generated from the zod schema; a test fails if it drifts). The path is
 * relative to the bundle in dist/. */
export function schemaText(): string {
  return readFileSync(fileURLToPath(new URL('../schema/sess.schema.json', import.meta.url)), 'utf8');
}
