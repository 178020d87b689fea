// The steps of `up` that fill a new worktree: ignored files copied in, symlinks into the main
// checkout. Each one that changes something registers its inverse with the guard it is given.
import { existsSync, lstatSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { copyTreeCow } from '../../adapters/fs.js';
import type { Config } from '../../config/schema.js';
import type { Progress } from '../../common/progress.js';
import type { Repo } from '../state/repo.js';
import type { RollbackGuard } from '../journal/guard.js';

export async function copyIncludes(repo: Repo, config: Config, worktree: string, progress: Progress): Promise<void> {
  for (const rel of config.worktree.include) {
    const from = join(repo.mainRoot, rel);
    const to = join(worktree, rel);
    if (!existsSync(from) || existsSync(to)) continue;
    await copyTreeCow(from, to);
    progress.step(`copied ${rel}`);
  }
}

/** Symlinks from the main checkout into the worktree (made on every up: a resume repairs a lost one). */
export async function linkPaths(repo: Repo, config: Config, worktree: string, guard: RollbackGuard): Promise<string[]> {
  const links: string[] = [];
  for (const rel of config.worktree.link) {
    const target = join(repo.mainRoot, rel);
    const path = join(worktree, rel);
    links.push(rel);
    if (!existsSync(target) || existsOrIsLink(path)) continue;
    await guard.run('link', { kind: 'symlink.remove', path, target }, async () => {
      mkdirSync(join(path, '..'), { recursive: true });
      symlinkSync(target, path);
    });
  }
  return links;
}

function existsOrIsLink(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
