// Wait until a service is ready: its probe passes, or it dies, or the timeout runs out. A failure
// says what the last attempt found (`connection refused`, `HTTP 503`, the regex that matched
// nothing...) and the tail of the service's own log.
import { cmdOnce, httpOnce, tcpOnce, type ProbeOutcome } from '../adapters/probe.js';
import { LogMatcher } from '../adapters/logMatch.js';
import { sleep } from '../common/sleep.js';
import { WorkError, indent } from '../common/errors.js';
import type { ResolvedReady } from './service.js';

/** How a runtime makes one tcp attempt at a service of its own (compose: looks inside the container first). */
export type TcpProbe = (host: string, port: number, signal?: AbortSignal) => Promise<ProbeOutcome>;

export interface ReadyWatch {
  /** Is the service still alive? When it is not, waiting stops with its log. */
  alive: () => boolean | Promise<boolean>;
  /** The tail of its output, for a failure message; none where sess has no log of it (compose). */
  logTail?: () => string;
  logFile?: string;
  logOffset?: number;
  cwd: string;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** The service's runtime's tcp attempt; a plain connect without one. */
  tcp?: TcpProbe;
}

/** The longest a cmd probe may run in one attempt, however long the timeout. */
const CMD_ATTEMPT_MS = 30_000;

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

/** One attempt of the service's probe; the log matcher lives as long as the wait. */
function prober(ready: ResolvedReady, watch: ReadyWatch): { once: (msLeft: number) => Promise<ProbeOutcome>; close: () => void } {
  if (ready.kind === 'log') {
    const matcher = new LogMatcher(watch.logFile ?? '', watch.logOffset ?? 0, ready.pattern);
    return { once: (msLeft) => matcher.attempt(msLeft, watch.signal), close: () => matcher.close() };
  }
  const once = (msLeft: number): Promise<ProbeOutcome> => {
    switch (ready.kind) {
      case 'http':
        return httpOnce(ready.url, watch.signal);
      case 'tcp':
        return (watch.tcp ?? tcpOnce)(ready.host, ready.port, watch.signal);
      case 'cmd':
        // a hanging command is stopped when the timeout runs out (give it a second at least)
        return cmdOnce(ready.script, watch.cwd, watch.env, Math.min(CMD_ATTEMPT_MS, Math.max(msLeft, 1000)), watch.signal);
    }
  };
  return { once, close: () => undefined };
}

/**
 * Probe until ready. The first attempts come quickly (10, 20, 40 ms apart, then `interval`): most
 * services are ready within a fraction of a second, and a fixed interval would add up to a whole
 * interval of waiting to every one of them.
 */
export async function waitReady(name: string, ready: ResolvedReady | undefined, watch: ReadyWatch): Promise<void> {
  const deadline = Date.now() + (ready?.timeout ?? 0) * 1000;
  const probe = ready ? prober(ready, watch) : undefined;
  let last: ProbeOutcome | undefined;
  let pause = 10;
  try {
    for (;;) {
      if (!(await watch.alive())) {
        throw new WorkError(`service ${name} exited before it was ready${lastBlock(last)}${tailBlock(watch)}`);
      }
      if (!ready || !probe) return;
      last = await probe.once(deadline - Date.now());
      if (last.ready) return;
      if (last.final) {
        throw new WorkError(
          `service ${name} cannot become ready (${describeProbe(ready)}):\n${indent(last.detail, '  ')}${tailBlock(watch)}`,
        );
      }
      if (Date.now() >= deadline) {
        throw new WorkError(
          `service ${name} was not ready after ${ready.timeout}s (${describeProbe(ready)})${lastBlock(last)}${tailBlock(watch)}`,
        );
      }
      await sleep(Math.min(pause, ready.interval * 1000), watch.signal);
      pause *= 2;
    }
  } finally {
    probe?.close();
  }
}

function lastBlock(last: ProbeOutcome | undefined): string {
  if (!last) return '';
  const [first, ...rest] = last.detail.split('\n');
  return `\n  last attempt: ${first}${rest.length ? `\n${indent(rest.join('\n'), '    ')}` : ''}`;
}

function tailBlock(watch: ReadyWatch): string {
  if (!watch.logTail) return '';
  const tail = watch.logTail();
  return tail ? `\n  last lines of its log:\n${indent(tail)}` : '\n  its log is empty';
}

/**
 * A service that is ready must stay ready for `seconds` (blue-green's promote.delay): probed every
 * `interval`, it fails on the first attempt that does not pass, or when it dies.
 */
export async function holdReady(name: string, ready: ResolvedReady | undefined, watch: ReadyWatch, seconds: number): Promise<void> {
  if (seconds <= 0) return;
  const until = Date.now() + seconds * 1000;
  const probe = ready ? prober(ready, watch) : undefined;
  try {
    while (Date.now() < until) {
      if (!(await watch.alive())) throw new WorkError(`service ${name} exited during its promote.delay of ${seconds}s${tailBlock(watch)}`);
      if (ready && probe) {
        const outcome = await probe.once(Math.max(1000, until - Date.now()));
        if (!outcome.ready) {
          throw new WorkError(
            `service ${name} stopped being ready during its promote.delay of ${seconds}s (${describeProbe(ready)})${lastBlock(outcome)}`,
          );
        }
      }
      await sleep(Math.min(Math.max(until - Date.now(), 0), (ready?.interval ?? 0.25) * 1000), watch.signal);
    }
  } finally {
    probe?.close();
  }
}

/**
 * One attempt of a running service's probe, for `sess status`: is it ready now? A `log` probe
 * matched once when the service started and says nothing after, so a running service passes it.
 */
export async function probeOnce(
  ready: ResolvedReady | undefined,
  cwd: string,
  env: NodeJS.ProcessEnv,
  tcp?: TcpProbe,
): Promise<ProbeOutcome> {
  if (!ready || ready.kind === 'log') return { ready: true, detail: 'running' };
  const probe = prober(ready, { alive: () => true, cwd, env, ...(tcp ? { tcp } : {}) });
  try {
    return await probe.once(Math.min(ready.timeout * 1000, CMD_ATTEMPT_MS));
  } finally {
    probe.close();
  }
}
