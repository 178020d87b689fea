// One attempt of each kind of ready probe. The loop (interval, timeout, watching the process) is core's.
import { request } from 'node:http';
import { request as requestTls } from 'node:https';
import { connect } from 'node:net';
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { runShell } from './process.js';

const ATTEMPT_MS = 2000;

/** Any 2xx or 3xx answers; redirects are not followed. */
export function httpOnce(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return resolve(false);
    }
    const req = (parsed.protocol === 'https:' ? requestTls : request)(
      parsed,
      // no keep-alive: a connection we kept open would pin the service's port (FIN_WAIT_2) once
      // the service is stopped, and its replacement could not bind it
      { method: 'GET', timeout: ATTEMPT_MS, rejectUnauthorized: false, agent: false, headers: { connection: 'close' } },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(code >= 200 && code < 400);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export function tcpOnce(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: ATTEMPT_MS });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function cmdOnce(script: string, cwd: string, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<boolean> {
  const r = await runShell(script, { cwd, env, signal, allowFailure: true, timeoutMs: 30_000 });
  return r.exitCode === 0;
}

/** Does the log, from `offset` on (this start's output only), match the pattern? */
export function logOnce(file: string, offset: number, pattern: RegExp): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const size = fstatSync(fd).size;
    if (size <= offset) return false;
    const buffer = Buffer.alloc(size - offset);
    readSync(fd, buffer, 0, buffer.length, offset);
    return pattern.test(buffer.toString('utf8'));
  } finally {
    closeSync(fd);
  }
}
