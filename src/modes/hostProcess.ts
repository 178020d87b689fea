// Host services: detached process groups with a log file each, identified by pid + start time.
import { statSync, readFileSync } from 'node:fs';
import { isProcessAlive, spawnDetached, stopProcessGroup, tailLines } from '../adapters/process.js';
import type { ResolvedService } from '../core/resolve.js'; // types only

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

export async function stopHostProcess(
  p: { pid?: number; start?: string },
  stop: { signal: NodeJS.Signals; grace: number },
): Promise<void> {
  if (p.pid === undefined) return;
  await stopProcessGroup(p.pid, p.start ?? 'unknown', stop.signal, stop.grace * 1000);
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
