// `env_from`: the project's own env files, read from the worktree into every service's and hook's
// env, below `env` and the service's own `env` (later files win; missing ones are skipped). A
// syntax error names the file and the line.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { ConfigError } from '../../common/errors.js';
import { EnvSyntaxError, parseEnvFile } from '../../config/envFile.js';

const MAX_BYTES = 1024 * 1024;

/**
 * The variables of `files` (paths in the worktree). A file may be a link into the main checkout
 * (`worktree.link: [.env]`) but may not lead anywhere else.
 */
export function readEnvFrom(files: string[], worktree: string, repoRoot: string): Record<string, string> {
  const vars: Record<string, string> = Object.create(null);
  files.forEach((rel, index) => {
    const path = join(worktree, rel);
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      return; // missing: skipped
    }
    const within = (root: string) => {
      const r = realpathSync(root);
      return real === r || real.startsWith(r + sep);
    };
    const problem = (message: string) => new ConfigError('sess.yaml', [{ path: `env_from[${index}]`, message }]);
    if (!within(worktree) && !within(repoRoot)) throw problem(`${rel} leads out of the worktree and the main checkout (to ${real})`);
    const stat = statSync(real);
    if (!stat.isFile()) throw problem(`${rel} is not a file`);
    if (stat.size > MAX_BYTES) throw problem(`${rel} is ${stat.size} bytes, more than the ${MAX_BYTES} an env file may have`);
    try {
      Object.assign(vars, parseEnvFile(readFileSync(real, 'utf8')));
    } catch (error) {
      if (!(error instanceof EnvSyntaxError)) throw error;
      throw new ConfigError(path, [{ path: `line ${error.line}`, message: error.message }], {
        hint: `fix the file, or take it out of env_from in sess.yaml`,
      });
    }
  });
  return vars;
}
