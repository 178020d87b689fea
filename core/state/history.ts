// Every `up` of a session is a release in its history: when, fresh or resume, what happened to each
// service, how it ended.
import { readJson, writeJsonAtomic } from '../../adapters/fs.js';
import { paths, type Repo } from './repo.js';

export type ReleaseStatus = 'completed' | 'rolled_back' | 'failed' | 'partially_failed';
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
}

export interface Release {
  id: number;
  started: string;
  ended: string;
  trigger: 'fresh' | 'resume';
  status: ReleaseStatus;
  services: ReleaseService[];
  error?: string;
}

export function readHistory(repo: Repo, session: string): Release[] {
  return readJson<Release[]>(paths.historyFile(repo, session)) ?? [];
}

export function appendRelease(repo: Repo, session: string, release: Omit<Release, 'id'>): Release {
  const history = readHistory(repo, session);
  const full = { id: (history.at(-1)?.id ?? 0) + 1, ...release };
  history.push(full);
  writeJsonAtomic(paths.historyFile(repo, session), history);
  return full;
}
