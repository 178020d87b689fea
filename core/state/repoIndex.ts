// The repositories this machine's sess has leased ports for: one small file per repository id in
// $SESS_HOME/repos/, naming its state folder. The ledger says the same in every lease, but a
// corrupt ledger says nothing: this index is how `sess doctor --fix` finds the session records of
// every repository to rebuild it from. Written when a repository first leases (and again if it has
// moved since).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readTextIfExists, writeJsonAtomic } from '../../adapters/fs.js';
import { sessHome } from './repo.js';

interface RepoEntry {
  version: 1;
  id: string;
  stateDir: string;
}

const indexDir = () => join(sessHome(), 'repos');

export function rememberRepo(id: string, stateDir: string): void {
  const file = join(indexDir(), `${id}.json`);
  if (readEntry(file)?.stateDir === stateDir) return;
  const entry: RepoEntry = { version: 1, id, stateDir };
  writeJsonAtomic(file, entry, 0o644, { durable: true }); // rare, and wanted after the power cut that broke the ledger
}

function readEntry(file: string): Partial<RepoEntry> | undefined {
  try {
    return JSON.parse(readTextIfExists(file) ?? '') as Partial<RepoEntry>;
  } catch {
    return undefined;
  }
}

/** The state folders of every repository in the index (entries that cannot be read are skipped). */
export function knownStateDirs(): string[] {
  let files: string[];
  try {
    files = readdirSync(indexDir()).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files.flatMap((f) => {
    const stateDir = readEntry(join(indexDir(), f))?.stateDir;
    return typeof stateDir === 'string' ? [stateDir] : [];
  });
}
