// The machine's proxy as a supervised process, like a host service: detached in its own process
// group, known by pid + start time (in $SESS_HOME/proxy/proxy.json), output in proxy.log. Started on
// demand by `ensureProxy()`; one killed by hand is started again by the next call, and serves the
// same routes (they are in routes.json, not in the process).
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireLock, writeJsonAtomic } from '../../adapters/fs.js';
import { getLocal } from '../../adapters/localHttp.js';
import { describePortHolder, portHolder, type PortHolder } from '../../adapters/portHolder.js';
import { isPortFree } from '../../adapters/ports.js';
import { spawnDetached } from '../../adapters/process.js';
import { findPortHolder, isProcessAlive, processStartTime, stopProcessGroup } from '../../adapters/proc.js';
import { sleep } from '../../common/sleep.js';
import { WorkError } from '../../common/errors.js';
import { fileSize, logTail } from '../../modes/host/process.js';
import { lockTimeoutMs } from '../state/repo.js';
import { proxyPaths, proxyPort } from './paths.js';
import { STATUS_HOST, type StatusDocument } from '../../proxy/table.js';

/** What proxy.json records of the running proxy. */
export interface ProxyRecord {
  pid: number;
  start: string;
  port: number;
  since: string;
}

export interface ProxyInfo {
  pid: number;
  port: number;
  /** this call started it (it was not running) */
  started: boolean;
  log: string;
  /** its status document (per-target in-flight counts, the table generation it serves) */
  statusUrl: string;
}

export type ProxyHealth =
  | { state: 'running'; port: number; pid: number; status: StatusDocument }
  /** nothing listens on the port; `stalePid`: the record of a proxy that is gone (killed, crashed) */
  | { state: 'down'; port: number; stalePid?: number }
  /** our proxy's process is alive but does not answer on the port */
  | { state: 'unresponsive'; port: number; pid: number; detail: string }
  /** something else holds the port: another program, or a sess proxy of another $SESS_HOME */
  | { state: 'taken'; port: number; holder: PortHolder; otherHome?: string; detail: string };

const STATUS_PATH = '/status';

/**
 * Make sure the machine's proxy runs on the configured port (`SESS_PROXY_PORT`, default 7377), and
 * return where. Cheap when it runs (one local HTTP request). Starts it when it does not, one
 * starter at a time; restarts one of ours that stopped answering or listens on another port.
 * Throws WorkError when the port is taken by something else, naming the holder.
 */
export async function ensureProxy(options: { signal?: AbortSignal } = {}): Promise<ProxyInfo> {
  const paths = proxyPaths();
  const first = await proxyHealth();
  if (first.state === 'running') return info(first.pid, first.port, false);
  if (first.state === 'taken') throw takenError(first);
  mkdirSync(paths.dir, { recursive: true });
  const lock = await acquireLock(paths.startLock, {
    timeoutMs: lockTimeoutMs(),
    what: "the machine's proxy",
    maxPollMs: 20,
    signal: options.signal,
  });
  try {
    // another command may have started it while we waited for the lock
    const health = await proxyHealth({ timeoutMs: 2000 });
    if (health.state === 'running') return info(health.pid, health.port, false);
    if (health.state === 'taken') throw takenError(health);
    await stopRecorded();
    const port = health.port;
    if (!(await isPortFree(port))) {
      throw takenError({ state: 'taken', port, holder: portHolder(port), detail: '' });
    }
    return info(await spawnProxy(port, options.signal), port, true);
  } finally {
    lock.release();
  }
}

/** Stop the machine's proxy (routes stay in routes.json). Says whether one was running. */
export async function stopProxy(): Promise<{ stopped: boolean; pid?: number }> {
  const paths = proxyPaths();
  if (!existsSync(paths.dir)) return { stopped: false };
  const lock = await acquireLock(paths.startLock, { timeoutMs: lockTimeoutMs(), what: "the machine's proxy", maxPollMs: 20 });
  try {
    const stopped = await stopRecorded();
    if (stopped) return { stopped: true, pid: stopped };
    // ours by its home, but not in the record (proxy.json removed by hand): stopped all the same
    const health = await proxyHealth();
    if (health.state !== 'running') return { stopped: false };
    await stopProcessGroup(health.pid, processStartTime(health.pid) ?? 'unknown', 'SIGTERM', 3000);
    return { stopped: true, pid: health.pid };
  } finally {
    lock.release();
  }
}

/**
 * What `doctor` and `sess proxy status` ask: is our proxy running on the configured port, down
 * (maybe with a stale record), alive but not answering, or is the port taken by a stranger?
 */
export async function proxyHealth(options: { timeoutMs?: number } = {}): Promise<ProxyHealth> {
  const paths = proxyPaths();
  const port = proxyPort();
  const record = readRecord();
  const recordAlive = record !== undefined && isProcessAlive(record.pid, record.start);
  let answer = await askProxy(port, options.timeoutMs ?? 1000);
  // A process killed a moment ago shows as a zombie while its other threads still hold its
  // sockets: a connection is taken, then reset, and no process owns the port. Asked again, it is
  // gone (refused). Only an answer nobody can be found for is asked again.
  for (let i = 0; i < 5 && answer.kind === 'other' && findPortHolder(port) === null; i++) {
    await sleep(20 * (i + 1));
    answer = await askProxy(port, options.timeoutMs ?? 1000);
  }
  if (answer.kind === 'status') {
    if (resolve(answer.status.home) === resolve(paths.home))
      return { state: 'running', port, pid: answer.status.pid, status: answer.status };
    const holder = { pid: answer.status.pid, command: 'sess proxy' };
    return {
      state: 'taken',
      port,
      holder,
      otherHome: answer.status.home,
      detail: `another sess proxy (pid ${holder.pid}, SESS_HOME=${answer.status.home})`,
    };
  }
  if (answer.kind === 'refused') {
    if (recordAlive && record.port === port)
      return { state: 'unresponsive', port, pid: record.pid, detail: `pid ${record.pid} does not listen on ${port}` };
    return { state: 'down', port, ...(record && !recordAlive ? { stalePid: record.pid } : {}) };
  }
  const holder = portHolder(port);
  if (recordAlive && (holder.pid === record.pid || holder.pid === null)) {
    return { state: 'unresponsive', port, pid: record.pid, detail: answer.detail };
  }
  return { state: 'taken', port, holder, detail: `${describePortHolder(holder)} (${answer.detail})` };
}

/** The status document of whatever sess proxy listens on `port`. */
export async function askProxy(
  port: number,
  timeoutMs: number,
): Promise<{ kind: 'status'; status: StatusDocument } | { kind: 'refused' } | { kind: 'other'; detail: string }> {
  const answer = await getLocal(port, STATUS_HOST, STATUS_PATH, timeoutMs);
  if (answer.kind === 'refused') return answer;
  if (answer.kind === 'failed') return { kind: 'other', detail: answer.detail };
  try {
    const status = JSON.parse(answer.body) as StatusDocument;
    if (answer.status === 200 && status?.sessProxy === 1) return { kind: 'status', status };
  } catch {
    /* not ours */
  }
  return { kind: 'other', detail: `HTTP ${answer.status}, not a sess proxy` };
}

export function readRecord(): ProxyRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(proxyPaths().process, 'utf8')) as ProxyRecord;
    return typeof record.pid === 'number' ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Stop the recorded proxy if it still runs (its pid and start time match), forget the record. */
async function stopRecorded(): Promise<number | undefined> {
  const record = readRecord();
  rmSync(proxyPaths().process, { force: true });
  if (!record || !isProcessAlive(record.pid, record.start)) return undefined;
  await stopProcessGroup(record.pid, record.start, 'SIGTERM', 3000);
  return record.pid;
}

async function spawnProxy(port: number, signal: AbortSignal | undefined): Promise<number> {
  const paths = proxyPaths();
  rotateLog(paths.log);
  const offset = fileSize(paths.log);
  const args = [process.execPath, proxyScript(), '--port', String(port), '--routes', paths.routes, '--home', paths.home];
  // exec: the pid we record is node's own, the leader of the group stopProcessGroup signals.
  // cwd is $SESS_HOME: a proxy started from a worktree must not keep that folder busy.
  const child = await spawnDetached(`exec ${args.map(shellQuote).join(' ')}`, { cwd: paths.dir, env: process.env, logFile: paths.log });
  writeJsonAtomic(paths.process, { pid: child.pid, start: child.start, port, since: new Date().toISOString() } satisfies ProxyRecord);
  const deadline = Date.now() + 10_000;
  for (let wait = 5; ; wait = Math.min(wait * 2, 50)) {
    if (!isProcessAlive(child.pid, child.start)) {
      rmSync(paths.process, { force: true });
      const tail = logTail(paths.log, offset);
      if (/port \d+ is taken/.test(tail)) throw takenError({ state: 'taken', port, holder: portHolder(port), detail: '' });
      throw new WorkError(`the proxy exited as it started:\n${tail}`, { hint: `see ${paths.log}` });
    }
    const answer = await askProxy(port, 500);
    if (answer.kind === 'status' && answer.status.pid === child.pid) return child.pid;
    if (Date.now() > deadline) {
      await stopProcessGroup(child.pid, child.start, 'SIGKILL', 1000);
      rmSync(paths.process, { force: true });
      throw new WorkError(`the proxy did not answer on 127.0.0.1:${port} within 10 s`, { hint: `see ${paths.log}` });
    }
    await sleep(wait, signal);
  }
}

function takenError(health: Extract<ProxyHealth, { state: 'taken' }>): WorkError {
  const who = health.detail || describePortHolder(health.holder);
  const stop = health.otherHome
    ? `stop it (SESS_HOME=${health.otherHome} sess proxy stop)`
    : health.holder.pid !== null
      ? `stop pid ${health.holder.pid}`
      : 'stop whatever listens on it';
  return new WorkError(`port ${health.port} is taken by ${who}: the proxy cannot listen on 127.0.0.1:${health.port}`, {
    hint: `${stop}, or give the proxy another port with SESS_PROXY_PORT (the session URLs carry it)`,
  });
}

function info(pid: number, port: number, started: boolean): ProxyInfo {
  return { pid, port, started, log: proxyPaths().log, statusUrl: `http://${STATUS_HOST}:${port}${STATUS_PATH}` };
}

/** One old log is kept beside the current one: the proxy runs for weeks, and starts are rare. */
function rotateLog(log: string): void {
  try {
    if (statSync(log).size > 1 << 20) renameSync(log, `${log}.1`);
  } catch {
    /* no log yet */
  }
}

/**
 * dist/proxy.js: beside the bundle that runs this (`sess` itself), or, from the sources (tests),
 * in the package's dist/ a few folders up.
 */
function proxyScript(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    for (const candidate of [join(dir, 'proxy.js'), join(dir, 'dist', 'proxy.js')]) {
      if (existsSync(candidate)) return candidate;
    }
    dir = dirname(dir);
  }
  throw new WorkError('dist/proxy.js is missing', { hint: 'run `npm run build`' });
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
