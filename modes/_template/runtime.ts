// A runtime to copy: the smallest one that keeps every promise of the Runtime interface. It runs a
// service's `host:` command as a plain child process group of this machine, its output in the
// session's log folder. It is in no table: test/host/runtime-template.test.ts drives it through the
// contract every runtime must keep (test/helpers/runtimeContract.ts), with fixtures/_template-runtime.
//
// To add a runtime (README, "How it is built", has the checklist): copy this folder to
// modes/<name>/, give it its own name, undo kinds and stash, put one line in modes/runtimes.ts, and
// copy the test and the fixture. Placement (modes/placement.ts) decides which services it runs.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { spawnDetached } from '../../adapters/process.js';
import { isProcessAlive, stopProcessGroup } from '../../adapters/proc.js';
import { waitReady } from '../readiness.js';
import type { PreparedUp, Runtime, RuntimeUndo } from '../runtime.js';
import type { RuntimeName, ServiceRecord } from '../service.js';
import { followLogs } from '../host/logs.js';

/** Its one undo record: stop the process group it started (by pid + start time, so never another's). */
interface StopUndo extends RuntimeUndo {
  kind: 'template.stop';
  pid: number;
  start: string;
  grace: number;
}

const alive = (record: ServiceRecord) => record.pid !== undefined && isProcessAlive(record.pid, record.start ?? 'unknown');
const logFile = (sessionDir: string, service: string) => join(sessionDir, 'logs', `${service}.log`);

export const templateRuntime: Runtime = {
  // a copy takes the name of its line in modes/runtimes.ts
  name: 'template' as RuntimeName,
  undoKinds: ['template.stop'],
  startsTogether: false,
  stopsAsWhole: false,
  startReplacesLeftovers: false,
  spawnsOnThisMachine: true,
  sideBySide: true,
  prepareSteps: [],

  reach: (target) => ({ host: '127.0.0.1', port: target.leasedPort }),
  requiredFiles: () => ({ key: 'services', files: [] }),
  definitionOf: (service, { worktree, shell }) =>
    service.host ? { host: { command: shell(service.host.command), cwd: resolve(worktree, service.host.cwd) } } : {},

  look: async () => ({}),
  alive: (record) => alive(record),
  mayRun: (record) => alive(record),
  state: (record) => (!record.wanted ? 'stopped' : alive(record) ? 'running' : 'exited'),
  stillCurrent: async () => true,

  async prepare(input): Promise<PreparedUp> {
    return {
      leases: {},
      inputFiles: [],
      describe: async () => undefined,
      keep: async () => undefined,
      async start(item, signal) {
        const def = item.def;
        const file = logFile(input.session.dir, def.name);
        mkdirSync(dirname(file), { recursive: true });
        // the inverse first, amended with the pid once there is one
        const handle = input.journal.register(`service:${def.name}`, { kind: 'template.stop', pid: 0, start: '', grace: def.stop.grace });
        const proc = await spawnDetached(def.host!.command, { cwd: def.host!.cwd, env: { ...process.env, ...def.env }, logFile: file });
        input.journal.amend(handle, { kind: 'template.stop', pid: proc.pid, start: proc.start, grace: def.stop.grace });
        const record: ServiceRecord = { runtime: def.runtime, hash: item.hash, def, pid: proc.pid, start: proc.start, wanted: true };
        return {
          record,
          ready: (readySignal) =>
            waitReady(def.name, def.ready, {
              alive: () => alive(record),
              cwd: def.host!.cwd,
              env: process.env,
              signal: readySignal ?? signal,
            }),
          discard: () => stopProcessGroup(proc.pid, proc.start, def.stop.signal, def.stop.grace * 1000).then(() => undefined),
        };
      },
    };
  },

  async stop(_session, record) {
    if (record.pid === undefined) return false;
    return (await stopProcessGroup(record.pid, record.start ?? 'unknown', record.def.stop.signal, record.def.stop.grace * 1000)) !== 'gone';
  },
  async stopSession() {
    /* nothing but its services */
  },

  async restore(session, previous) {
    const def = previous.def;
    const file = logFile(session.dir, def.name);
    mkdirSync(dirname(file), { recursive: true });
    const proc = await spawnDetached(def.host!.command, { cwd: def.host!.cwd, env: { ...process.env, ...def.env }, logFile: file });
    const record: ServiceRecord = { ...previous, pid: proc.pid, start: proc.start, wanted: true };
    await waitReady(def.name, def.ready, { alive: () => alive(record), cwd: def.host!.cwd, env: process.env });
    return record;
  },

  async undo(undo, progress) {
    const u = undo as StopUndo;
    if (u.pid === 0) return; // killed before it started anything
    if ((await stopProcessGroup(u.pid, u.start, 'SIGTERM', u.grace * 1000)) !== 'gone') progress(`stopped pid ${u.pid}`);
  },

  logs: (session, services, options) =>
    followLogs(
      session.dir,
      services.map((s) => s.def.name),
      options,
    ),

  // it marks nothing it starts: it cannot tell its processes from others' (the host runtime can)
  orphans: async () => [],
  diskUse: async () => ({}),
};
