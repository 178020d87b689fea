// Paths a branch names for sess to write (env file, links, includes) or to run in (a host service's
// cwd) must stay inside its worktree. The config's "relative, without .." rule checks only the text:
// a committed symlink (`out -> /somewhere`) would carry a write out of the worktree. So each path is
// walked component by component on disk, following symlinks, and refused when it leaves.
import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { ConfigError } from '../../common/errors.js';
import { git } from '../../adapters/git.js';
import type { Config } from '../../config/schema.js';
import type { Placement } from '../../modes/service.js';
import { runtimeOf } from '../../modes/placement.js';
import { own } from '../../common/records.js';

/** Every path of the config that sess writes or runs in, by its key path. */
function pathsOf(config: Config, placement: Placement): { key: string; rel: string }[] {
  const out = [{ key: 'env_file', rel: config.env_file }];
  // a link is itself a symlink (sess's own, into the main checkout): the folder it goes in must stay
  config.worktree.link.forEach((rel, i) => out.push({ key: `worktree.link.${i}`, rel: dirname(rel) }));
  config.worktree.include.forEach((rel, i) => out.push({ key: `worktree.include.${i}`, rel }));
  for (const [name, svc] of Object.entries(config.services)) {
    // a process of this machine runs in it
    if (svc.host && runtimeOf(own(placement, name)!).spawnsOnThisMachine) out.push({ key: `services.${name}.host.cwd`, rel: svc.host.cwd });
  }
  return out;
}

/** Refuse (exit 2, naming key and path) any path of the config that leads out of the worktree. */
export function checkWorktreePaths(config: Config, placement: Placement, worktree: string, configFile: string): void {
  const root = realpathSync(worktree);
  const problems = pathsOf(config, placement).flatMap(({ key, rel }) => {
    const why = escapes(root, rel);
    const named = key.startsWith('worktree.link.') ? config.worktree.link[Number(key.slice(14))]! : rel;
    return why ? [{ path: key, message: `${named} leaves the worktree: ${why}` }] : [];
  });
  if (problems.length) throw new ConfigError(configFile, problems, { hint: 'sess writes only inside the worktree' });
}

const inside = (root: string, path: string) => path === root || path.startsWith(root + sep);

/** Why `rel` under `root` resolves outside it (a symlink on the way), or undefined when it stays. */
function escapes(root: string, rel: string): string | undefined {
  let current = root;
  for (const part of rel.split('/').filter((p) => p && p !== '.')) {
    const next = join(current, part);
    let isLink: boolean;
    try {
      isLink = lstatSync(next).isSymbolicLink();
    } catch {
      return undefined; // not there yet: sess makes it, inside `current`
    }
    if (!isLink) {
      current = next;
      continue;
    }
    const target = resolve(dirname(next), readlinkSync(next));
    let real: string;
    try {
      real = realpathSync(next);
    } catch {
      return `${next.slice(root.length + 1)} is a symlink to ${target}, which does not exist`;
    }
    if (!inside(root, real)) return `${next.slice(root.length + 1)} is a symlink to ${target}`;
    current = real;
  }
  return undefined;
}

/**
 * The env file must not be a file of the commit: sess would overwrite tracked code with its env,
 * and `rm` would then throw the change away as its own.
 */
export async function checkEnvFileUntracked(config: Config, commit: string, cwd: string, configFile: string): Promise<void> {
  const r = await git(['cat-file', '-e', `${commit}:${config.env_file}`], cwd, { allowFailure: true });
  if (r.exitCode === 0) {
    throw new ConfigError(
      configFile,
      [{ path: 'env_file', message: `${config.env_file} is a file of the commit: sess would overwrite it with the session env` }],
      { hint: 'name a path that is not committed (default .env.sess) and ignore it in .gitignore' },
    );
  }
}
