// Every `up` of a session is a release in its history: when, fresh or resume, what happened to each
// service, how it ended.
import { readJson, writeJsonAtomic } from '../adapters/fs.js';
import { paths, type Repo } from './repo.js';

export type ReleaseStatus = 'completed' | 'rolled_back' | 'failed' | 'partially_failed';
export type ServiceAction = 'unchanged' | 'started' | 'replaced' | 'restarted' | 'stopped' | 'failed';

export interface Release {
  id: number;
  started: string;
  ended: string;
  trigger: 'fresh' | 'resume';
  status: ReleaseStatus;
  services: { name: string; action: ServiceAction; ms?: number }[];
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
