// The worktree's copy on the remote: what compose's bind mounts and file secrets mount there. Sent
// with rsync through the connection on every up; what .gitignore and the root .dockerignore exclude
// stays here (and what a container wrote there into an ignored folder is not deleted), unless
// worktree.include names it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rsyncTo, sshRun } from '../../adapters/ssh.js';
import { WorkError } from '../../common/errors.js';
import { linkOf, type RemotePlace } from './place.js';

/** rsync filter rules of a sync, in order (the first that matches a path decides). */
export function syncFilters(worktree: string, include: string[]): string[] {
  const rules = ['- /.git'];
  // a path worktree.include names is sent even when ignored: it and the folders above it
  for (const path of include) {
    const parts = path.replace(/\/+$/, '').split('/');
    for (let i = 1; i < parts.length; i++) rules.push(`+ /${parts.slice(0, i).join('/')}/`);
    rules.push(`+ /${parts.join('/')}`, `+ /${parts.join('/')}/**`);
  }
  rules.push(...dockerignoreRules(worktree));
  // every .gitignore of the tree, where it lies (rsync's own reading of it: no `!` re-includes)
  rules.push(':- .gitignore');
  return rules;
}

/** The root .dockerignore as rsync rules: its patterns are relative to the root. */
function dockerignoreRules(worktree: string): string[] {
  let text: string;
  try {
    text = readFileSync(join(worktree, '.dockerignore'), 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const include = line.startsWith('!');
    const pattern = (include ? line.slice(1) : line).replace(/^\/+/, '');
    if (!pattern || pattern === '.' || pattern.includes('..')) continue;
    out.push(`${include ? '+' : '-'} /${pattern}`);
  }
  return out;
}

/** Send the worktree to its copy on the remote. */
export async function syncWorktree(place: RemotePlace, worktree: string, include: string[], signal?: AbortSignal): Promise<void> {
  await rsyncTo(linkOf(place), worktree, place.copy, syncFilters(worktree, include), signal ? { signal } : {});
}

/** Remove the worktree's copy from the remote. */
export async function removeCopy(place: RemotePlace): Promise<void> {
  const r = await sshRun(linkOf(place), ['rm', '-rf', '--', place.copy]);
  if (r.exitCode !== 0) throw new WorkError(`could not remove ${place.copy} on ${place.target}: ${r.stderr.trim()}`);
}
