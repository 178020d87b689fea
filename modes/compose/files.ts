// The compose files of a config: which ones, and which of them a folder lacks.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';

/** The compose files of a config, relative to the repository root. */
export function composeFilesOf(config: Config): string[] {
  return config.compose?.files ?? ['compose.yaml'];
}

/** Those of the compose files that are not in `dir` (a checkout or a worktree). */
export function composeFilesMissingIn(config: Config, dir: string): string[] {
  return composeFilesOf(config).filter((f) => !existsSync(join(dir, f)));
}
