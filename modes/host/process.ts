// Host services: detached process groups with a log file each, identified by pid + start time.
import { statSync, readFileSync } from 'node:fs';
import { spawnDetached, tailLines } from '../../adapters/process.js';
import { findPortHolder, isProcessAlive, processGroupOf, processesWithEnv, stopProcessGroup } from '../../adapters/proc.js';
import { sleep } from '../../common/sleep.js';
import { isPortFree } from '../../adapters/ports.js';
import { WorkError } from '../../common/errors.js';
import type { ResolvedService } from '../service.js';

/**
 * The environment variable that marks a host service's processes, inherited by everything they
 * start: how sess finds a helper that left the service's process group, and how doctor finds
 * processes of ours that no session knows.
 */
export const SERVICE_MARKER = 'SESS_SERVICE_ID';
/** Carried by a hook's processes (and what they start): a sess killed mid-hook leaves them findable. */
export const HOOK_MARKER = 'SESS_HOOK_ID';

export interface RunningProcess {
  pid: number;
  start: string;
  logOffset: number;
}

export async function startHostProcess(
  def: ResolvedService,
  options: { logFile: string; marker: { name: string; value: string } },
): Promise<RunningProcess> {
  const logOffset = fileSize(options.logFile);
  const env = { ...process.env, ...def.env, [options.marker.name]: options.marker.value };
  const { pid, start } = await spawnDetached(def.host!.command, {
    cwd: def.host!.cwd,
    env,
    logFile: options.logFile,
  });
  return { pid, start, logOffset };
}

export function isRunning(p: { pid?: number; start?: string }): boolean {
  return p.pid !== undefined && isProcessAlive(p.pid, p.start ?? 'unknown');
}

/**
 * Stop a host service: its process group (`stop.signal`, `stop.grace`, SIGKILL), then whatever still
 * carries its marker outside that group (a helper that called setsid, or double-forked into a group
 * of its own), the same way. Says whether the group was there, and the pids found outside it,
 * for the caller to report.
 */
export async function stopHostProcess(
  p: { pid?: number; start?: string; marker?: string },
  stop: { signal: NodeJS.Signals; grace: number },
  markerEnv = SERVICE_MARKER,
): Promise<{ stopped: boolean; outside: number[] }> {
  const how = p.pid !== undefined ? await stopProcessGroup(p.pid, p.start ?? 'unknown', stop.signal, stop.grace * 1000) : 'gone';
  const outside = p.marker ? await sweepMarked(markerEnv, [p.marker], stop) : [];
  return { stopped: how !== 'gone', outside };
}

/** Stop every process group that holds a process carrying one of these markers. */
export async function sweepMarked(
  markerEnv: string,
  markers: string[],
  stop: { signal: NodeJS.Signals; grace: number },
): Promise<number[]> {
  const wanted = new Set(markers);
  const found = processesWithEnv(markerEnv, '').filter((p) => wanted.has(p.value));
  const groups = new Set(found.flatMap((p) => processGroupOf(p.pid) ?? []));
  await Promise.all([...groups].map((group) => stopProcessGroup(group, 'unknown', stop.signal, stop.grace * 1000)));
  return found.map((p) => p.pid);
}

export function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** The last lines a service wrote since `offset`: what a failure message shows. */
export function logTail(file: string, offset = 0, lines = 20): string {
  try {
    return tailLines(readFileSync(file).subarray(offset).toString('utf8'), lines);
  } catch {
    return '';
  }
}

/**
 * A leased port held by a process that is not ours: fail now, naming it, instead of a confusing
 * crash. A port that no process listens on but the kernel still holds (connections of a service
 * that was just stopped, closing) is waited for, a few seconds at most.
 */
export async function waitPortsFree(ports: Record<string, number>): Promise<void> {
  for (const [name, port] of Object.entries(ports)) {
    const deadline = Date.now() + 5000;
    let holder: number | null = null;
    while (!(await isPortFree(port))) {
      holder = findPortHolder(port);
      if (holder !== null || Date.now() > deadline) {
        throw new WorkError(`port ${port} (${name}, leased to this session) is in use by ${holder ? `pid ${holder}` : 'another process'}`, {
          hint: holder ? `stop pid ${holder}, then run sess up again` : 'stop whatever listens on it, then run sess up again',
        });
      }
      await sleep(50);
    }
  }
}
