// `sess doctor`'s check of the port ledger itself. A ledger that cannot be read (a power cut before
// sess wrote it durably, a full disk, an editor) is set aside and rebuilt from the session records
// of every repository it knew: the ones in the repository index, the ones its corrupt text still
// names, and always this one. The records are the truth the ledger only mirrors: a session's
// `leases` (its `ports`, for records written before it had them).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readTextIfExists } from '../../adapters/fs.js';
import type { Check, Finding } from './types.js';
import { allLeases, ledgerPath, ledgerProblem, releaseWhere, replaceCorruptLedger, type Lease } from '../state/ledger.js';
import type { Progress } from '../../common/progress.js';
import type { Repo } from '../state/repo.js';
import { knownStateDirs } from '../state/repoIndex.js';

interface Rebuilt {
  leases: Record<string, Lease>;
  sessions: number;
  repositories: number;
}

export function corruptLedgerChecks(repo: Repo, progress: Progress): Check[] {
  const problem = ledgerProblem();
  if (!problem) return [];
  const finding: Finding = {
    kind: 'corrupt-ledger',
    subject: ledgerPath(),
    detail: `the port ledger is corrupt (${problem}): commands that lease or release ports refuse to run`,
  };
  const fix = async () => {
    let rebuilt: Rebuilt | undefined;
    const result = await replaceCorruptLedger((text) => {
      rebuilt = rebuildLeases([repo.stateDir, ...knownStateDirs(), ...salvageStateDirs(text)], progress);
      return rebuilt.leases;
    });
    if (!result || !rebuilt) return; // readable again: another doctor got there first
    const what = `rebuilt ${count(result.leases, 'lease')} of ${count(rebuilt.sessions, 'session')} in ${count(rebuilt.repositories, 'repository', 'repositories')}`;
    finding.detail += `; the corrupt file is kept as ${result.aside}; ${what}`;
    progress.step(`port ledger: corrupt file kept as ${result.aside}; ${what}`);
  };
  return [{ finding, fix }];
}

/** State folders the corrupt text still names (every lease carries its repository's). */
function salvageStateDirs(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/"stateDir"\s*:\s*("(?:[^"\\]|\\.)*")/g)) {
    try {
      found.push(JSON.parse(match[1]!) as string);
    } catch {
      /* a torn string: nothing to salvage there */
    }
  }
  return found;
}

function rebuildLeases(stateDirs: string[], progress: Progress): Rebuilt {
  const rebuilt: Rebuilt = { leases: {}, sessions: 0, repositories: 0 };
  for (const stateDir of new Set(stateDirs)) {
    const id = readTextIfExists(join(stateDir, 'id'))?.trim();
    if (!id) continue; // the repository is gone (or never leased): nothing of it to keep
    rebuilt.repositories++;
    for (const session of sessionNames(stateDir)) {
      const leases = recordedLeases(join(stateDir, 'sessions', session, 'session.json'));
      if (!leases) continue;
      rebuilt.sessions++;
      const owner = `${id}/${session}`;
      for (const [name, port] of Object.entries(leases.byName)) {
        const held = rebuilt.leases[port];
        if (held) {
          progress.warn(`port ${port} is recorded by both ${held.owner} (${held.name}) and ${owner} (${name}): kept for the first`);
          continue;
        }
        rebuilt.leases[port] = { owner, name, stateDir, since: leases.since };
      }
    }
  }
  return rebuilt;
}

function sessionNames(stateDir: string): string[] {
  try {
    return readdirSync(join(stateDir, 'sessions')).filter((n) => !n.startsWith('.'));
  } catch {
    return [];
  }
}

/** A session record's leases by name; undefined when there is no record that can be read. */
function recordedLeases(file: string): { byName: Record<string, number>; since: string } | undefined {
  let record: { leases?: unknown; ports?: unknown; created?: unknown };
  try {
    record = JSON.parse(readTextIfExists(file) ?? '') as typeof record;
  } catch {
    return undefined;
  }
  if (typeof record !== 'object' || record === null) return undefined;
  const byName = isPortMap(record.leases) ? record.leases : isPortMap(record.ports) ? record.ports : {};
  return { byName, since: typeof record.created === 'string' ? record.created : new Date().toISOString() };
}

function isPortMap(value: unknown): value is Record<string, number> {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.values(value).every((p) => Number.isInteger(p) && (p as number) > 0 && (p as number) < 65536)
  );
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Leases (machine-wide) whose session no longer exists, in this repository or in one that is gone. */
export async function staleLeases(repo: Repo): Promise<Check[]> {
  if (ledgerProblem()) return []; // reported (and not repaired) as corrupt-ledger
  const stale: number[] = [];
  const owners = new Set<string>();
  for (const [port, lease] of Object.entries(allLeases())) {
    if (!leaseIsStale(lease)) continue;
    const session = lease.owner.slice(lease.owner.indexOf('/') + 1);
    stale.push(Number(port));
    owners.add(lease.owner.startsWith(`${repo.id}/`) ? `session ${session}` : `${lease.stateDir} ${session}`);
  }
  if (stale.length === 0) return [];
  return [
    {
      finding: {
        kind: 'stale-lease',
        subject: `ports ${stale.join(' ')}`,
        detail: `leased to sessions that no longer exist (${[...owners].join(', ')})`,
      },
      // decided again under the ledger's lock: meanwhile a port may have gone to a new session
      fix: async () => {
        await releaseWhere((port, lease) => stale.includes(port) && leaseIsStale(lease));
      },
    },
  ];
}

/** A lease whose session has no record, no journal and no up creating it. */
function leaseIsStale(lease: Lease): boolean {
  const session = lease.owner.slice(lease.owner.indexOf('/') + 1);
  const dir = join(lease.stateDir, 'sessions', session);
  return !['session.json', 'journal.json', 'creating.json'].some((f) => existsSync(join(dir, f)));
}
