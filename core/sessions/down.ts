// `sess down`: stop the services of a session; keep its worktree, volumes and port leases.
// `sess down --all`: the same for every session of the repository, one after the other.
import { existsSync } from 'node:fs';
import { SessError, UsageError, messageOf } from '../../common/errors.js';
import { clearIntent, recordIntent } from '../journal/recover.js';
import { openRepo, paths } from '../state/repo.js';
import { listSessionNames, readCreating } from '../state/store.js';
import { withSession, type SessionCommand } from './locked.js';
import { downRecord } from './teardown.js';
import { sessionView, type SessionView } from './view.js';

export type { SessionCommand };

/** `sess down --json`: the session, and `warnings` when a pre_down or post_down hook failed (down completed all the same). */
export type DownView = SessionView & { warnings?: string[] };

export function down(options: SessionCommand): Promise<DownView> {
  return withSession(options, async (repo, record) => {
    recordIntent(repo, record.name, 'down');
    const warnings = await downRecord(repo, record, options.progress);
    clearIntent(repo, record.name);
    options.progress.step(`${record.name} is down (worktree, ports and volumes kept)`);
    return { ...sessionView(record), ...(warnings.length ? { warnings } : {}) };
  });
}

/** A session `down --all` could not take down, and why (the error as the CLI's --json prints one). */
export interface DownFailure {
  name: string;
  error: { message: string; exitCode: number; hint?: string };
}

export interface DownAllResult {
  sessions: DownView[];
  failed: DownFailure[];
}

/**
 * Every session of the repository goes down as `down` of each would take it (each under its own
 * lock, a session being created after its first `up` ends). One that fails is reported and the
 * others still go down; one that went away meanwhile (rolled back, removed) is no failure.
 */
export async function downAll(options: { cwd: string; progress: SessionCommand['progress'] }): Promise<DownAllResult> {
  const repo = await openRepo(options.cwd);
  const exists = (name: string) => existsSync(paths.sessionFile(repo, name));
  const names = listSessionNames(repo).filter((name) => exists(name) || readCreating(repo, name));
  const result: DownAllResult = { sessions: [], failed: [] };
  for (const name of names) {
    try {
      result.sessions.push(await down({ cwd: options.cwd, target: name, progress: options.progress }));
    } catch (error) {
      if (error instanceof UsageError && !exists(name)) continue; // gone meanwhile: nothing to take down
      const hint = error instanceof SessError ? error.hint : undefined;
      const failure: DownFailure = {
        name,
        error: { message: messageOf(error), exitCode: error instanceof SessError ? error.exitCode : 1, ...(hint ? { hint } : {}) },
      };
      options.progress.warn(`could not take ${name} down: ${failure.error.message}`);
      result.failed.push(failure);
    }
  }
  return result;
}
