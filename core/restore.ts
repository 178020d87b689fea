// Bringing back the previous instance of a service whose replacement did not stand: its previous
// definition started again, as it ran before the up. The inverse of a replacement, run in process
// (a failed replacement in a resumed session) or from the journal (an up rolled back as a whole,
// after a hook failed, Ctrl+C, or a sess killed half way).
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { WorkError, indent } from '../common/errors.js';
import { isRunning, logTail, SERVICE_MARKER, startHostProcess, stopHostProcess, waitPortsFree } from '../modes/hostProcess.js';
import { waitReady } from '../modes/readiness.js';
import type { ComposeRef } from '../modes/composeRuntime.js';
import { paths, type Repo } from './state/repo.js';
import type { ServiceRecord } from './state/store.js';

export interface RestoreTarget {
  repo: Repo;
  session: string;
  previous: ServiceRecord;
  /** the session's compose project, for a compose service */
  compose?: ComposeRef;
  /** the env compose interpolates the files with */
  env: NodeJS.ProcessEnv;
}

/** Start the previous definition again; resolves with its record once it is ready. Never aborted. */
export async function bringBack(target: RestoreTarget): Promise<ServiceRecord> {
  const { repo, session, previous } = target;
  if (previous.runtime === 'compose') {
    if (!target.compose) throw new WorkError(`no compose project to bring ${previous.def.name} back in`);
    const { restoreComposeService } = await import('./composeStep.js');
    await restoreComposeService(repo, session, target.compose, previous, target.env, new AbortController().signal);
    return { ...previous, wanted: true };
  }
  const def = previous.def;
  await waitPortsFree(def.ports);
  const logFile = paths.logFile(repo, session, def.name);
  mkdirSync(paths.logsDir(repo, session), { recursive: true });
  const marker = `${repo.id}/${session}/${def.name}/${randomBytes(4).toString('hex')}`;
  const proc = await startHostProcess(def, { logFile, marker: { name: SERVICE_MARKER, value: marker } });
  const record: ServiceRecord = { ...previous, pid: proc.pid, start: proc.start, marker, logOffset: proc.logOffset, wanted: true };
  try {
    await waitReady(def.name, def.ready, {
      alive: () => isRunning(proc),
      logTail: () => logTail(logFile, proc.logOffset),
      logFile,
      logOffset: proc.logOffset,
      cwd: def.host!.cwd,
      env: { ...process.env, ...def.env },
    });
    if (!isRunning(proc)) {
      const tail = logTail(logFile, proc.logOffset);
      throw new WorkError(`the previous ${def.name} exited before it was ready${tail ? `:\n${indent(tail)}` : ''}`);
    }
  } catch (error) {
    await stopHostProcess(record, def.stop); // what did not come back must not run unrecorded
    throw error;
  }
  return record;
}
