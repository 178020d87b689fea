// `sess ls --all`: what holds ports on this machine. The machine-wide ledger names every session of
// every repository that leases a port; each session's record (in its repository's state folder)
// says the rest. Only reads: no lock, no git.
import { dict, own } from '../../common/records.js';
import { messageOf } from '../../common/errors.js';
import { allLeases } from '../state/ledger.js';
import { lookAt } from '../state/liveness.js';
import { repoAt } from '../state/repo.js';
import { readCreating, readSession, type SessionRecord, type SessionStatus } from '../state/store.js';
import { listedSession, type ListedSession } from './inspect.js';

/**
 * One session of some repository on the machine. `ports` are its leases in the ledger (compose's
 * extra ports and a waiting blue-green candidate's included). Besides SPEC's statuses: `stale`, a
 * lease whose session no longer exists (`sess doctor --fix` releases it), and `unknown`, a record
 * that cannot be read (`problem` says why).
 */
export type MachineSession = Omit<Partial<ListedSession>, 'status' | 'ports'> & {
  repo: string;
  repoId: string;
  name: string;
  status: SessionStatus | 'stale' | 'unknown';
  ports: Record<string, number>;
  problem?: string;
};

export async function lsAll(): Promise<MachineSession[]> {
  // by repository (its state folder), then by session: the lease names and their ports
  const byRepo = new Map<string, { id: string; sessions: Map<string, Record<string, number>> }>();
  for (const [port, lease] of Object.entries(allLeases())) {
    const slash = lease.owner.indexOf('/');
    if (slash <= 0) continue; // no owner sess writes (`<repo id>/<session>`)
    const id = lease.owner.slice(0, slash);
    const session = lease.owner.slice(slash + 1);
    const repo = byRepo.get(lease.stateDir) ?? { id, sessions: new Map() };
    byRepo.set(lease.stateDir, repo);
    // names come from a file anyone may edit: a record without a prototype takes any of them as data
    const ports = repo.sessions.get(session) ?? dict<number>();
    ports[lease.name] = Number(port);
    repo.sessions.set(session, ports);
  }
  // in name order, as `ls` shows a session's ports (the ledger is in port order)
  for (const repo of byRepo.values()) {
    for (const [session, ports] of repo.sessions) {
      const sorted = dict<number>();
      for (const n of Object.keys(ports).sort()) sorted[n] = ports[n]!;
      repo.sessions.set(session, sorted);
    }
  }
  const listed = await Promise.all(
    [...byRepo].map(async ([stateDir, { id, sessions }]) => {
      const repo = repoAt(stateDir, id);
      const records: SessionRecord[] = [];
      const out: MachineSession[] = [];
      for (const [name, ports] of sessions) {
        const base = { repo: repo.mainRoot, repoId: id, name, ports };
        // a name no session could have (a hand-edited ledger) is no path to read from
        if (!/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(name)) {
          out.push({ ...base, status: 'stale' });
          continue;
        }
        let record: SessionRecord | undefined;
        try {
          record = readSession(repo, name);
        } catch (error) {
          out.push({ ...base, status: 'unknown', problem: messageOf(error) });
          continue;
        }
        if (record) records.push(record);
        else {
          const creating = readCreating(repo, name);
          out.push(creating ? { ...base, branch: creating.branch, status: 'creating' } : { ...base, status: 'stale' });
        }
      }
      const states = records.length ? await lookAt(repo, records) : {};
      for (const record of records) {
        out.push({
          repo: repo.mainRoot,
          repoId: id,
          ...listedSession(record, own(states, record.name) ?? {}),
          ports: sessions.get(record.name)!,
        });
      }
      return out;
    }),
  );
  const key = (s: MachineSession) => `${s.repo}\0${s.name}`;
  return listed.flat().sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
