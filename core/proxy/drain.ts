// Draining: after a blue-green switch, the old instance keeps what it was already serving (long
// responses, uploads, WebSockets) and gets nothing new. The proxy counts what is in flight per
// target and shows it in its status document; this waits until the old target's count is zero.
import { sleep } from '../../common/sleep.js';
import { proxyPaths, proxyPort } from './paths.js';
import { normalizeTarget, readTable } from './routes.js';
import { askProxy } from './supervise.js';
import { resolve } from 'node:path';

export interface DrainResult {
  /** nothing is in flight to the target any more (or no proxy runs: nothing can be) */
  drained: boolean;
  waitedMs: number;
  /** in flight when it gave up (0 when drained) */
  requests: number;
  websockets: number;
  /** `down`: no proxy of ours answered, so nothing went through one */
  proxy: 'running' | 'down';
  /** the proxy still served an older table than the switch's when it gave up (routes.json unreadable?) */
  staleTable?: boolean;
}

/**
 * Wait until nothing is in flight through the proxy to `target` (`http://127.0.0.1:PORT`), at most
 * `timeoutMs` (the old instance's `stop.grace`). First waits until the proxy serves the table
 * `generation` (switchRoute's result; default: the generation on disk now), so that no request can
 * still be routed to the target after the wait says it is drained. Polls every 10 ms.
 */
export async function waitDrained(
  target: string,
  options: { timeoutMs: number; generation?: number; signal?: AbortSignal },
): Promise<DrainResult> {
  const key = normalizeTarget(target);
  const generation = options.generation ?? readTable().generation;
  const home = resolve(proxyPaths().home);
  const port = proxyPort();
  const t0 = Date.now();
  const deadline = t0 + options.timeoutMs;
  let last = { requests: 0, websockets: 0 };
  let stale = true;
  for (;;) {
    const answer = await askProxy(port, Math.max(200, Math.min(1000, deadline - Date.now())));
    const ours = answer.kind === 'status' && resolve(answer.status.home) === home;
    if (answer.kind === 'refused' || (answer.kind === 'status' && !ours)) {
      return { drained: true, waitedMs: Date.now() - t0, requests: 0, websockets: 0, proxy: 'down' };
    }
    if (answer.kind === 'status') {
      stale = answer.status.generation < generation;
      last = answer.status.active[key] ?? { requests: 0, websockets: 0 };
      if (!stale && last.requests === 0 && last.websockets === 0) {
        return { drained: true, waitedMs: Date.now() - t0, requests: 0, websockets: 0, proxy: 'running' };
      }
    }
    if (Date.now() >= deadline) {
      return { drained: false, waitedMs: Date.now() - t0, ...last, proxy: 'running', ...(stale ? { staleTable: true } : {}) };
    }
    await sleep(10, options.signal);
  }
}
