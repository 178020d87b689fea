// The host runtime: a service is a detached process group on this machine, with its output in a
// log file of the session, known by pid + start time and by the marker its processes inherit.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { git } from '../../adapters/git.js';
import { processGroupOf, processesWithEnv, stopProcessGroup } from '../../adapters/proc.js';
import { sleep } from '../../common/sleep.js';
import { WorkError, indent } from '../../common/errors.js';
import type { Progress } from '../../common/progress.js';
import { own } from '../../common/records.js';
import { waitReady } from '../readiness.js';
import type { Orphan, PrepareInput, PreparedUp, Runtime, RuntimeUndo, Started, StartItem } from '../runtime.js';
import type { ResolvedService, ServiceRecord } from '../service.js';
import { followLogs, logFileOf } from './logs.js';
import { isRunning, logTail, SERVICE_MARKER, startHostProcess, stopHostProcess, waitPortsFree } from './process.js';

/**
 * The inverse of a started process group, found by pid or, without one (killed before the pid was
 * recorded), by the marker in its environment (`env`: SESS_SERVICE_ID; a hook's: SESS_HOOK_ID).
 */
export interface ProcessStopUndo extends RuntimeUndo {
  kind: 'process.stop';
  marker: string;
  env?: string;
  pid?: number;
  start?: string;
  signal: NodeJS.Signals;
  grace: number;
}

/** How long a service without a ready probe must keep running to count as started. */
const NO_PROBE_SETTLE_MS = 250;

export const hostRuntime: Runtime = {
  name: 'host',
  undoKinds: ['process.stop'],
  startsTogether: false,
  startReplacesLeftovers: false,
  spawnsOnThisMachine: true,
  sideBySide: true,
  stopsAsWhole: false,
  prepareSteps: [],

  // from the host, everything is on the loopback at its leased port
  reach: (target) => ({ host: '127.0.0.1', port: target.leasedPort }),
  requiredFiles: () => ({ key: 'services', files: [] }),
  definitionOf: (service, { worktree, shell }) =>
    service.host ? { host: { command: shell(service.host.command), cwd: resolve(worktree, service.host.cwd) } } : {},

  // its processes are looked at one by one (/proc), from their records
  look: async () => ({}),
  alive: (record) => isRunning(record),
  mayRun: (record) => isRunning(record),
  state: (record) => (!record.wanted ? 'stopped' : isRunning(record) ? 'running' : 'exited'),
  stillCurrent: async () => true,

  async prepare(input) {
    return prepareHost(input);
  },

  async stop(_session, record, progress) {
    return stopReporting(record, progress);
  },

  async stopSession() {
    /* nothing but its services */
  },

  async restore(session, previous) {
    const def = previous.def;
    await waitPortsFree(def.ports);
    const logFile = logFileOf(session.dir, def.name);
    mkdirSync(dirname(logFile), { recursive: true });
    const marker = markerOf(session, def.name);
    const proc = await startHostProcess(def, { logFile, marker: { name: SERVICE_MARKER, value: marker } });
    const record: ServiceRecord = { ...previous, pid: proc.pid, start: proc.start, marker, logOffset: proc.logOffset, wanted: true };
    try {
      await judgeReady(record, logFile, Date.now(), new AbortController().signal);
    } catch (error) {
      await stopHostProcess(record, def.stop); // what did not come back must not run unrecorded
      throw error;
    }
    return record;
  },

  async undo(undo, progress) {
    const u = undo as ProcessStopUndo;
    // with a pid: its group, then what carries the marker elsewhere; without (killed before the pid
    // was recorded): every group that carries the marker
    const { stopped, outside } = await stopHostProcess(u, u, u.env);
    const what = u.marker.split('/')[2];
    if (u.pid === undefined) {
      if (outside.length) progress(`stopped ${what} (pid ${outside.join(', ')})`);
      return;
    }
    if (stopped) progress(`stopped ${what} (pid ${u.pid})`);
    if (outside.length) progress(`stopped ${outside.length} process(es) of ${what} outside its group (pid ${outside.join(', ')})`);
  },

  logs: (session, services, options) =>
    followLogs(
      session.dir,
      services.map((s) => s.def.name),
      options,
    ),

  async orphans(repoId, sessions) {
    const groups = new Map<number, string>();
    for (const p of processesWithEnv(SERVICE_MARKER, `${repoId}/`)) {
      const group = processGroupOf(p.pid);
      if (group !== null) groups.set(group, p.value);
    }
    const known = (session: string, service: string, group: number) => {
      const record = own(sessions.services(session), service);
      return !!record && record.pid === group && isRunning(record);
    };
    const out: Orphan[] = [];
    for (const [group, marker] of groups) {
      const [, session, service] = marker.split('/') as [string, string, string];
      if (sessions.busy(session) || known(session, service, group)) continue; // a command's journal decides
      out.push({
        kind: 'orphan-process',
        session,
        subject: `pid ${group}`,
        detail: `service ${service} of ${sessions.services(session) ? `session ${session}` : `session ${session}, which no longer exists`}, not recorded as running`,
        async fix(now) {
          if (now.busy(session) || known(session, service, group)) return;
          await stopProcessGroup(group, 'unknown', 'SIGTERM', 5000);
        },
      });
    }
    return out;
  },

  diskUse: async () => ({}),
};

/** The marker a new instance's processes carry: repository, session, service, instance. */
function markerOf(session: { repoId: string; name: string }, service: string): string {
  return `${session.repoId}/${session.name}/${service}/${randomBytes(4).toString('hex')}`;
}

function prepareHost(input: PrepareInput): PreparedUp {
  const { session, journal, progress } = input;
  return {
    leases: {},
    inputFiles: [],
    keep: async () => undefined,
    describe: (defs) => describeSourceTrees(defs, session.worktree),
    async start(item: StartItem, signal: AbortSignal): Promise<Started> {
      const { def } = item;
      await waitPortsFree(def.ports);
      const logFile = logFileOf(session.dir, def.name);
      mkdirSync(dirname(logFile), { recursive: true });
      const marker = markerOf(session, def.name);
      const undo: ProcessStopUndo = { kind: 'process.stop', marker, signal: def.stop.signal, grace: def.stop.grace };
      const handle = journal.register(`service:${def.name}`, undo);
      const proc = await startHostProcess(def, { logFile, marker: { name: SERVICE_MARKER, value: marker } });
      journal.amend(handle, { ...undo, pid: proc.pid, start: proc.start });
      const record: ServiceRecord = {
        runtime: 'host',
        hash: item.hash,
        def,
        pid: proc.pid,
        start: proc.start,
        marker,
        logOffset: proc.logOffset,
        wanted: true,
      };
      progress.info(`started ${def.name} (pid ${proc.pid})`);
      const startedAt = Date.now();
      return {
        record,
        ready: async (readySignal) => {
          await judgeReady(record, logFile, startedAt, readySignal ?? signal);
          progress.step(`${def.name} is ready`);
        },
        discard: () => stopReporting(record, progress).then(() => undefined),
      };
    },
  };
}

/**
 * One rule: a service that exits before it is judged ready has failed. One with a probe is judged
 * when the probe passes; one without once it has run a moment, so that a command that exits at once
 * fails every time, not only when the first look happens to come before its exit.
 */
async function judgeReady(record: ServiceRecord, logFile: string, startedAt: number, signal: AbortSignal): Promise<void> {
  const def = record.def;
  await waitReady(def.name, def.ready, {
    alive: () => isRunning(record),
    logTail: () => logTail(logFile, record.logOffset),
    logFile,
    logOffset: record.logOffset ?? 0,
    cwd: def.host!.cwd,
    env: { ...process.env, ...def.env },
    signal,
  });
  if (!def.ready) await sleep(Math.max(0, startedAt + NO_PROBE_SETTLE_MS - Date.now()), signal);
  if (!isRunning(record)) {
    const tail = logTail(logFile, record.logOffset);
    throw new WorkError(
      `service ${def.name} exited before it was ready${tail ? `; last lines of its log:\n${indent(tail)}` : ' (its log is empty)'}`,
    );
  }
}

/** Stop an instance, saying when helpers outside its process group had to be stopped too. */
async function stopReporting(record: ServiceRecord, progress: Progress): Promise<boolean> {
  const { stopped, outside } = await stopHostProcess(record, record.def.stop);
  if (outside.length) {
    progress.warn(
      `${record.def.name} left ${outside.length} process(es) outside its process group (pid ${outside.join(', ')}): stopped them too`,
    );
  }
  return stopped || outside.length > 0;
}

/**
 * A host service is replaced when HEAD moved to a commit that changes files under its cwd: the
 * git tree id of that folder goes into its definition (and so into its hash).
 */
async function describeSourceTrees(defs: ResolvedService[], worktree: string): Promise<void> {
  const cache = new Map<string, string>();
  for (const def of defs) {
    if (!def.host) continue;
    const rel = def.host.cwd.slice(worktree.length + 1);
    if (!cache.has(rel)) {
      const r = await git(['rev-parse', `HEAD:${rel}`], worktree, { allowFailure: true });
      cache.set(rel, r.exitCode === 0 ? r.stdout.trim() : '');
    }
    def.host.tree = cache.get(rel)!;
  }
}
