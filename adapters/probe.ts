// One attempt of each kind of ready probe, and what it found. The loop (interval, timeout, watching
// the process) is readiness's; a timeout message shows the outcome of the last attempt.
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as requestTls } from 'node:https';
import { connect } from 'node:net';
import { CancelledError } from '../common/errors.js';
import { runShell, tailLines } from './process.js';

/** How long an http or tcp attempt waits for an answer. */
export const ATTEMPT_MS = 2000;

export interface ProbeOutcome {
  ready: boolean;
  /** What the attempt found, for people: `HTTP 503`, `connection refused`, `exited with 1`... */
  detail: string;
  /** Trying again cannot help (a regex that does not finish): the wait ends now. */
  final?: boolean;
}

const notReady = (detail: string): ProbeOutcome => ({ ready: false, detail });

/**
 * Any 2xx or 3xx answers; redirects are not followed. The answer is parsed leniently (what curl and
 * browsers accept, headers ended by a bare LF as CGI scripts write them): a readiness probe is no
 * security boundary, and only the status line counts.
 */
export function httpOnce(url: string, signal?: AbortSignal): Promise<ProbeOutcome> {
  return new Promise((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return resolve(notReady(`not a URL: ${url}`));
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return resolve(notReady(`not an http(s) URL: ${url}`));
    if (signal?.aborted) return reject(new CancelledError());
    let timedOut = false;
    const onResponse = (res: IncomingMessage) => {
      res.resume();
      const code = res.statusCode ?? 0;
      done(() => resolve({ ready: code >= 200 && code < 400, detail: `HTTP ${code}` }));
    };
    const req: ClientRequest = (parsed.protocol === 'https:' ? requestTls : request)(
      parsed,
      {
        method: 'GET',
        timeout: ATTEMPT_MS,
        rejectUnauthorized: false,
        insecureHTTPParser: true,
        // no keep-alive: a connection we kept open would pin the service's port (FIN_WAIT_2) once
        // the service is stopped, and its replacement could not bind it
        agent: false,
        headers: { connection: 'close' },
      },
      onResponse,
    );
    const onAbort = () => {
      req.destroy();
      done(() => reject(new CancelledError()));
    };
    const done = settleOnce(() => signal?.removeEventListener('abort', onAbort));
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('timeout', () => {
      timedOut = true;
      req.destroy();
    });
    req.on('error', (error: NodeJS.ErrnoException) =>
      done(() => resolve(notReady(timedOut ? `no answer in ${ATTEMPT_MS / 1000}s` : describeHttpError(error, parsed)))),
    );
    req.end();
  });
}

function describeHttpError(error: NodeJS.ErrnoException, url: URL): string {
  if (error.code?.startsWith('HPE_')) return `parse error: ${error.message.replace(/^Parse Error: /, '')}`;
  if (error.code === 'ECONNRESET') return 'the connection was closed without an answer';
  return describeSocketError(error, url.hostname);
}

function describeSocketError(error: NodeJS.ErrnoException, host: string): string {
  if (error.code === 'ECONNREFUSED') return 'connection refused';
  if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') return `unknown host ${host}`;
  return error.message;
}

export function tcpOnce(host: string, port: number, signal?: AbortSignal): Promise<ProbeOutcome> {
  return new Promise((resolve, reject) => {
    if (!Number.isInteger(port) || port < 1 || port > 65535) return resolve(notReady(`not a port: ${port}`));
    if (signal?.aborted) return reject(new CancelledError());

    const socket = connect({ host, port, timeout: ATTEMPT_MS });
    const onAbort = () => done(() => reject(new CancelledError()));
    const done = settleOnce(() => {
      socket.destroy();
      signal?.removeEventListener('abort', onAbort);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done(() => resolve({ ready: true, detail: 'connected' })));
    socket.once('timeout', () => done(() => resolve(notReady(`no answer in ${ATTEMPT_MS / 1000}s`))));
    socket.once('error', (error: NodeJS.ErrnoException) => done(() => resolve(notReady(describeSocketError(error, host)))));
  });
}

/** The command exits 0. `limitMs`: how long it may run (it is stopped then). */
export async function cmdOnce(
  script: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  limitMs: number,
  signal?: AbortSignal,
): Promise<ProbeOutcome> {
  const r = await runShell(script, { cwd, env, signal, allowFailure: true, timeoutMs: limitMs });
  if (r.exitCode === 0) return { ready: true, detail: 'exited with 0' };
  const how =
    r.exitCode === null ? `did not finish in ${Math.round(limitMs / 1000)}s (stopped with ${r.signal})` : `exited with ${r.exitCode}`;
  const tail = tailLines(r.stderr.trim() ? r.stderr : r.stdout, 5);
  return notReady(tail ? `${how}:\n${tail}` : how);
}

/** Run the cleanup and the settling of a promise once, whichever event comes first. */
function settleOnce(cleanup: () => void): (settle: () => void) => void {
  let settled = false;
  return (settle) => {
    if (settled) return;
    settled = true;
    cleanup();
    settle();
  };
}
