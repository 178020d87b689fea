// Is a session's service running? One question, asked of the runtime that runs it: with a look at
// the engines (one per runtime for a whole repository), or without one where a look costs too much.
import { own } from '../../common/records.js';
import { runtimeOf, RUNTIMES } from '../../modes/placement.js';
import type { SessionCtx } from '../../modes/runtime.js';
import type { LiveStates, RuntimeName, ServiceRecord, ServiceState } from '../../modes/service.js';
import { paths, type Repo } from './repo.js';
import type { SessionRecord } from './store.js';

/** What runs, by session and service: one look per runtime that some of these sessions use. */
export async function lookAt(repo: Repo, records: SessionRecord[]): Promise<Record<string, LiveStates>> {
  const out: Record<string, LiveStates> = Object.create(null);
  for (const r of records) out[r.name] = Object.create(null);
  const used = new Set(records.flatMap((r) => Object.values(r.services).map((s) => s.runtime)));
  const looks = await Promise.all(
    Object.values(RUNTIMES)
      .filter((rt) => used.has(rt.name))
      .map((rt) =>
        rt.look(
          repo.id,
          records.map((r) => stashOf(r, rt.name)).filter((s) => s !== undefined),
        ),
      ),
  );
  for (const look of looks) {
    for (const [session, states] of Object.entries(look)) if (own(out, session)) Object.assign(out[session]!, states);
  }
  return out;
}

export function isAlive(record: ServiceRecord, live: LiveStates): boolean {
  return runtimeOf(record.runtime).alive(record, live);
}

export function serviceState(record: ServiceRecord, live: LiveStates): ServiceState {
  return runtimeOf(record.runtime).state(record, live);
}

/** Could any service of the session be running? Without a look at the engines (see Runtime.mayRun). */
export function mayRun(record: SessionRecord): boolean {
  return Object.values(record.services).some((s) => s.wanted && runtimeOf(s.runtime).mayRun(s));
}

/** What a runtime keeps for the session (see Stashes in store.ts). */
export function stashOf(record: Partial<Record<RuntimeName, unknown>>, runtime: RuntimeName): unknown {
  return record[runtime];
}

/** The session as a runtime sees it. */
export function sessionCtx(repo: Repo, record: SessionRecord, runtime: RuntimeName): SessionCtx {
  return { repoId: repo.id, name: record.name, dir: paths.sessionDir(repo, record.name), stash: stashOf(record, runtime) };
}
