// The worktree's copy on the remote: what compose's bind mounts and file secrets mount there. Sent
// with rsync through the connection on every up; what .gitignore and the root .dockerignore exclude
// stays here (and what a container wrote there into an ignored folder is not deleted), unless
// worktree.include names it.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readJson, writeJsonAtomic } from '../../adapters/fs.js';
import { git } from '../../adapters/git.js';
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

/**
 * What a sync would send, in one hash: every file git sees in the worktree (tracked, and untracked
 * but not ignored) and every file under what worktree.include names, by path, size, mtime and mode.
 * The same hash as at the last sync: nothing to send, and no command runs on the remote.
 */
async function fingerprint(worktree: string, include: string[]): Promise<string> {
  const listed = await git(['ls-files', '--cached', '--others', '--exclude-standard', '-z'], worktree);
  const files = new Set(listed.stdout.split('\0').filter(Boolean));
  for (const path of include) {
    try {
      if (!lstatSync(join(worktree, path)).isDirectory()) files.add(path);
      else for (const f of readdirSync(join(worktree, path), { recursive: true }) as string[]) files.add(join(path, f));
    } catch {
      /* not there: nothing to send */
    }
  }
  const hash = createHash('sha256');
  for (const f of [...files].sort()) {
    let line = 'gone';
    try {
      const st = lstatSync(join(worktree, f));
      line = `${st.size} ${st.mtimeMs} ${st.mode}`;
    } catch {
      /* deleted since git listed it */
    }
    hash.update(`${f}\0${line}\n`);
  }
  return hash.digest('hex');
}

/** Where a session remembers what its copy there was last made of. */
const syncedFile = (sessionDir: string) => join(sessionDir, 'remote-copy.json');

/**
 * Bring the worktree's copy on the remote up to date: sent with rsync unless nothing changed here
 * since the last sync (`always`: send all the same, a first up). Whether it sent.
 */
export async function syncWorktree(
  place: RemotePlace,
  session: { worktree: string; dir: string },
  include: string[],
  options: { always?: boolean; signal?: AbortSignal } = {},
): Promise<boolean> {
  const print = await fingerprint(session.worktree, include);
  const last = readJson<{ copy: string; key: string; fingerprint: string }>(syncedFile(session.dir));
  if (!options.always && last?.copy === place.copy && last.key === place.key && last.fingerprint === print) return false;
  rmSync(syncedFile(session.dir), { force: true });
  await rsyncTo(
    linkOf(place),
    session.worktree,
    place.copy,
    syncFilters(session.worktree, include),
    options.signal ? { signal: options.signal } : {},
  );
  writeJsonAtomic(syncedFile(session.dir), { copy: place.copy, key: place.key, fingerprint: print }, 0o600);
  return true;
}

/** Remove the worktree's copy from the remote (and the repository's and client's folders there once empty). */
export async function removeCopy(place: RemotePlace, sessionDir?: string): Promise<void> {
  const script = 'rm -rf -- "$1" && { rmdir -- "$2" "$3" 2>/dev/null; true; }';
  const parent = dirname(place.copy);
  const r = await sshRun(linkOf(place), ['sh', '-c', script, 'sh', place.copy, parent, dirname(parent)]);
  if (r.exitCode !== 0) throw new WorkError(`could not remove ${place.copy} on ${place.target}: ${r.stderr.trim()}`);
  if (sessionDir) rmSync(syncedFile(sessionDir), { force: true });
}
