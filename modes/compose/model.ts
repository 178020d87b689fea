// Reading the merged compose model of a session's files from its worktree: the files must be there,
// and what compose rejects is a config error (exit 2), said in compose's words.
import { join } from 'node:path';
import { composeModel, detectCompose, type ComposeCli, type ComposeModel } from '../../adapters/compose.js';
import { ConfigError, SessError } from '../../common/errors.js';
import type { Config } from '../../config/schema.js';
import { composeFilesMissingIn, composeFilesOf } from './files.js';

export interface ModelRequest {
  home: string;
  config: Config;
  worktree: string;
  project: string;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  /** only the services a plain `compose up` starts (profiles as COMPOSE_PROFILES says) */
  activeOnly?: boolean;
}

export async function readComposeModel(r: ModelRequest): Promise<{ cli: ComposeCli; files: string[]; model: ComposeModel }> {
  const cli = await detectCompose(r.home);
  const fileNames = composeFilesOf(r.config);
  const missing = composeFilesMissingIn(r.config, r.worktree);
  if (missing.length) {
    throw new ConfigError(join(r.worktree, 'sess.yaml'), [
      { path: 'compose.files', message: `no such file in the worktree: ${missing.join(', ')}` },
    ]);
  }
  const files = fileNames.map((f) => join(r.worktree, f));
  try {
    const model = await composeModel({ cli, name: r.project, files, projectDir: r.worktree, env: r.env }, r.signal, !!r.activeOnly);
    return { cli, files, model };
  } catch (error) {
    if (r.signal.aborted || !(error instanceof SessError)) throw error;
    throw new ConfigError(fileNames.join(', '), [{ path: '', message: `compose rejects it: ${error.message}` }]);
  }
}
