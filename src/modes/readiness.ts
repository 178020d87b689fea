// Wait until a service is ready: its probe passes, or it dies, or the timeout runs out.
import { cmdOnce, httpOnce, logOnce, tcpOnce } from '../adapters/probe.js';
import { sleep } from '../adapters/process.js';
import { WorkError, indent } from '../errors.js';
import type { ResolvedReady } from '../core/resolve.js'; // types only

export interface ReadyWatch {
  /** Is the service still alive? When it is not, waiting stops with its log. */
  alive: () => boolean | Promise<boolean>;
  /** What to show when it failed: the tail of its output. */
  logTail: () => string;
  logFile?: string;
  logOffset?: number;
  cwd: string;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

export function describeProbe(ready: ResolvedReady): string {
  switch (ready.kind) {
    case 'http':
      return `http ${ready.url}`;
    case 'tcp':
      return `tcp ${ready.host}:${ready.port}`;
    case 'cmd':
      return `cmd ${ready.script}`;
    case 'log':
      return `log /${ready.pattern}/`;
  }
}

async function probeOnce(ready: ResolvedReady, watch: ReadyWatch): Promise<boolean> {
  switch (ready.kind) {
    case 'http':
      return httpOnce(ready.url);
    case 'tcp':
      return tcpOnce(ready.host, ready.port);
    case 'cmd':
      return cmdOnce(ready.script, watch.cwd, watch.env, watch.signal);
    case 'log':
      return logOnce(watch.logFile ?? '', watch.logOffset ?? 0, new RegExp(ready.pattern, 'm'));
  }
}

/**
 * Probe until ready. The first attempts come quickly (10, 20, 40 ms apart, then `interval`): most
 * services are ready within a fraction of a second, and a fixed interval would add up to a whole
 * interval of waiting to every one of them.
 */
export async function waitReady(name: string, ready: ResolvedReady | undefined, watch: ReadyWatch): Promise<void> {
  const deadline = Date.now() + (ready?.timeout ?? 0) * 1000;
  let pause = 10;
  for (;;) {
    if (!(await watch.alive())) {
      throw new WorkError(`service ${name} exited before it was ready${tailBlock(watch.logTail())}`);
    }
    if (!ready || (await probeOnce(ready, watch))) return;
    if (Date.now() >= deadline) {
      throw new WorkError(
        `service ${name} was not ready after ${ready.timeout}s (${describeProbe(ready)})${tailBlock(watch.logTail())}`,
      );
    }
    await sleep(Math.min(pause, ready.interval * 1000), watch.signal);
    pause *= 2;
  }
}

function tailBlock(tail: string): string {
  return tail ? `; last lines of its log:\n${indent(tail)}` : ' (its log is empty)';
}
