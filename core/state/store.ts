// The state store: one JSON file per session in the git common dir, written atomically (temp file +
// rename). Writers of one session are serialised by its session lock (lockSession in
// core/sessions/names.ts); readers never lock and always see a whole file. `version` lets later
// versions read what this one wrote.
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { readJson, writeJsonAtomic, removePath } from '../../adapters/fs.js';
import { isProcessAlive, processStartTime } from '../../adapters/proc.js';
import { paths, type Repo } from './repo.js';
import type { Mode } from '../../config/schema.js';
import type { RuntimeName, ServiceRecord } from '../../modes/service.js';
import type { EngineChoice } from '../../modes/runtime.js';
import { WorkError } from '../../common/errors.js';

export type { ServiceRecord };

export const STATE_VERSION = 1;

export type SessionStatus = 'creating' | 'up' | 'down' | 'partial' | 'failed';

/**
 * What each runtime keeps for a session between commands, under the runtime's name (the compose
 * runtime: its project, command and files). Only the runtime reads it (`stash` of its calls).
 */
export type Stashes = Partial<Record<RuntimeName, unknown>>;

export interface SessionRecord extends Stashes {
  version: number;
  name: string;
  branch: string;
  mode: Mode;
  worktree: string;
  /** `--adopt`: the worktree is one sess did not make; `rm` and rollbacks leave it in place. */
  adopted?: true;
  /** sess created the branch (so `rm` may delete it when it holds nothing of its own). */
  createdBranch: boolean;
  /** The commit the worktree started at: a branch still there has no work of its own to merge. */
  baseCommit?: string;
  created: string;
  lastUp: string | null;
  status: SessionStatus;
  ports: Record<string, number>;
  /**
   * Every lease of the session by name: the named ports and compose's extra ports (`compose:...`).
   * What `sess doctor --fix` rebuilds a corrupt ledger from; records written before it have only `ports`.
   */
  leases?: Record<string, number>;
  /** --mode/--host/--container/--port given to an earlier `up`: they stick to the session. */
  overrides: {
    mode?: Mode;
    host: string[];
    container: string[];
    /** `--port NAME=N`: ports pinned for this session */
    ports?: Record<string, number>;
    /** `--remote-host` / `--context`: the machine whose engine runs the compose services */
    engine?: EngineChoice;
  };
  /** Hash of sess.yaml's text + mode + overrides + HEAD at the last completed up: the fast no-op check. */
  inputHash: string | null;
  head: string | null;
  services: Record<string, ServiceRecord>;
  /** The env of hooks, `env` and `exec`, kept so that down/rm/env/exec never need to parse sess.yaml. */
  hostEnv: Record<string, string>;
  /** Paths sess wrote into the worktree (env file, links): not the user's uncommitted work. */
  ownFiles: string[];
  /** The hooks of down and rm (records written before post_down existed have none). */
  hooks: { pre_down: string[]; post_down?: string[] };
  /** Files whose text decides the no-op check besides sess.yaml (the compose files...; worktree-relative or absolute). */
  inputFiles: string[];
  /**
   * Blue-green releases waiting at their manual gate, by service: the new instance runs beside the
   * old one on ports of its own (`ports`, leased under `leaseNames`) until `sess promote`.
   */
  pending?: Record<string, PendingGreen>;
  /** The session's stable URLs through the local proxy (its own, and its routed services'). */
  urls?: { url?: string; services: Record<string, string> };
  /** a pull request sandbox: which one, and the commit it runs */
  pr?: { number: number; remote: string; commit: string; ref: string };
}

/** A service that is not meant to run any more (down, or found dead): no pid to look after. */
export function markStopped(svc: ServiceRecord): void {
  svc.wanted = false;
  delete svc.pid;
  delete svc.start;
  delete svc.marker;
}

/** A blue-green candidate ("green") that waits for `sess promote`. */
export interface PendingGreen {
  /** the release (history id) it belongs to */
  release: number;
  green: ServiceRecord;
  /** named port -> the port green listens on */
  ports: Record<string, number>;
  /** named port -> the name green's lease has in the ledger until promotion */
  leaseNames: Record<string, string>;
  /** the named port its route goes to */
  routePort: string;
  /** the session env's variables that change once it is promoted (those that read its ports) */
  env: Record<string, string>;
  /** the env file of the worktree, rewritten with them */
  envFile: string;
  since: string;
}

export function readSession(repo: Repo, name: string): SessionRecord | undefined {
  const record = readJson<SessionRecord>(paths.sessionFile(repo, name));
  if (record && record.version > STATE_VERSION) {
    throw new WorkError(`session ${name} was written by a newer sess (state version ${record.version})`, {
      hint: 'upgrade sess to read it',
    });
  }
  return record;
}

export function writeSession(repo: Repo, record: SessionRecord): void {
  writeJsonAtomic(paths.sessionFile(repo, record.name), { ...record, version: STATE_VERSION });
}

export function listSessionNames(repo: Repo): string[] {
  try {
    return readdirSync(paths.sessionsDir(repo))
      .filter((n) => !n.startsWith('.'))
      .sort();
  } catch {
    return [];
  }
}

/** Every session with a record; a fresh session whose up never completed has none and is not listed. */
export function listSessions(repo: Repo): SessionRecord[] {
  const out: SessionRecord[] = [];
  for (const name of listSessionNames(repo)) {
    const record = readSession(repo, name);
    if (record) out.push(record);
  }
  return out;
}

export function removeSessionDir(repo: Repo, name: string): void {
  removePath(paths.sessionDir(repo, name));
}

/**
 * A session whose first `up` is running: it exists from the moment that up holds the session's
 * lock (SPEC: status `creating`), before it has a record. Written by that up, removed when it ends;
 * one whose writer died is not a session.
 */
export interface CreatingMark {
  name: string;
  branch: string;
  /** known once the up has read the config */
  mode: Mode | null;
  worktree: string | null;
  pid: number;
  start: string | null;
  started: string;
}

export function markCreating(repo: Repo, mark: Omit<CreatingMark, 'pid' | 'start' | 'started'>): void {
  const full: CreatingMark = { ...mark, pid: process.pid, start: processStartTime(process.pid), started: new Date().toISOString() };
  writeJsonAtomic(paths.creatingFile(repo, mark.name), full);
}

/** The mark of a session being created right now (its writer alive, no record yet). */
export function readCreating(repo: Repo, name: string): CreatingMark | undefined {
  let mark: CreatingMark | undefined;
  try {
    mark = readJson<CreatingMark>(paths.creatingFile(repo, name));
  } catch {
    return undefined; // half a mark is no mark
  }
  if (!mark || existsSync(paths.sessionFile(repo, name))) return undefined;
  return isProcessAlive(mark.pid, mark.start ?? 'unknown') ? mark : undefined;
}

/** The up that wrote the mark ends: the mark goes, and the session folder if nothing else is in it. */
export function clearCreating(repo: Repo, name: string): void {
  removePath(paths.creatingFile(repo, name));
  try {
    rmdirSync(paths.sessionDir(repo, name));
    rmdirSync(paths.sessionsDir(repo)); // an up that made nothing leaves nothing
  } catch {
    /* not empty (the session exists, a journal is left to finish, other sessions): kept */
  }
}

export function listCreating(repo: Repo): CreatingMark[] {
  return listSessionNames(repo).flatMap((n) => readCreating(repo, n) ?? []);
}
