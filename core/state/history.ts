// Every `up` of a session is a release in its history: when, fresh or resume, what happened to each
// service, how it ended.
import { readJson, writeJsonAtomic } from '../../adapters/fs.js';
import { paths, type Repo } from './repo.js';

/**
 * `awaiting_promotion`: a blue-green replacement waits at its manual gate; `sess promote` then
 * settles it as `promoted` (any of its services promoted) or `aborted` (all of them aborted).
 */
export type ReleaseStatus = 'completed' | 'rolled_back' | 'failed' | 'partially_failed' | 'awaiting_promotion' | 'promoted' | 'aborted';
export type ServiceAction = 'unchanged' | 'started' | 'replaced' | 'restarted' | 'stopped' | 'failed';

/**
 * What happened to one service in a release. `then` says what a rollback did after the action: a
 * replaced service whose previous instance came back, a started one that was stopped again.
 */
export interface ReleaseService {
  name: string;
  action: ServiceAction;
  ms?: number;
  then?: 'restored' | 'stopped';
  /** how it was replaced, when not by `recreate` */
  strategy?: string;
  /** a blue-green replacement waiting at its manual gate: promoted or aborted since */
  promotion?: 'awaiting' | 'promoted' | 'aborted';
}

export interface Release {
  id: number;
  started: string;
  ended: string;
  trigger: 'fresh' | 'resume' | 'restart';
  status: ReleaseStatus;
  services: ReleaseService[];
  error?: string;
  /** when a release that waited at its gate was promoted or aborted */
  settled?: string;
}

export function readHistory(repo: Repo, session: string): Release[] {
  return readJson<Release[]>(paths.historyFile(repo, session)) ?? [];
}

/** The id the next release of the session will get. */
export function nextReleaseId(repo: Repo, session: string): number {
  return (readHistory(repo, session).at(-1)?.id ?? 0) + 1;
}

export function appendRelease(repo: Repo, session: string, release: Omit<Release, 'id'>): Release {
  const history = readHistory(repo, session);
  const full = { id: (history.at(-1)?.id ?? 0) + 1, ...release };
  history.push(full);
  writeJsonAtomic(paths.historyFile(repo, session), history);
  return full;
}

/** Change a release already in the history (a blue-green release promoted or aborted after its up). */
export function updateRelease(repo: Repo, session: string, id: number, change: (release: Release) => void): Release | undefined {
  const history = readHistory(repo, session);
  const release = history.find((r) => r.id === id);
  if (!release) return undefined;
  change(release);
  writeJsonAtomic(paths.historyFile(repo, session), history);
  return release;
}

/** A service of a release that waited at its gate was promoted or aborted: the release is settled once none waits. */
export function settlePromotion(repo: Repo, session: string, id: number, service: string, outcome: 'promoted' | 'aborted'): void {
  updateRelease(repo, session, id, (release) => {
    const entry = release.services.find((s) => s.name === service);
    if (entry) entry.promotion = outcome;
    const waiting = release.services.filter((s) => s.promotion === 'awaiting');
    if (release.status === 'awaiting_promotion' && waiting.length === 0) {
      release.status = release.services.some((s) => s.promotion === 'promoted') ? 'promoted' : 'aborted';
      release.settled = new Date().toISOString();
    }
  });
}
