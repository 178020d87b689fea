// One GET to a server on this machine, with a Host header of our choosing: how sess asks its proxy
// for its status document (`sess-proxy.localhost` may not resolve here; the proxy routes by Host).
import { request } from 'node:http';

export type LocalAnswer =
  | { kind: 'answer'; status: number; body: string }
  /** nothing listens on the port */
  | { kind: 'refused' }
  /** something listens but gave no usable answer in time (or reset the connection) */
  | { kind: 'failed'; detail: string };

const MAX_BODY = 1 << 20;

export function getLocal(port: number, host: string, path: string, timeoutMs: number): Promise<LocalAnswer> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (answer: LocalAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(answer);
    };
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'GET',
        // no keep-alive: a poll every few milliseconds must leave nothing open behind it
        agent: false,
        headers: { host, connection: 'close', accept: 'application/json' },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          if (body.length > MAX_BODY) done({ kind: 'failed', detail: 'answer too large' });
        });
        res.on('end', () => done({ kind: 'answer', status: res.statusCode ?? 0, body }));
        res.on('error', (error) => done({ kind: 'failed', detail: error.message }));
      },
    );
    const timer = setTimeout(() => done({ kind: 'failed', detail: `no answer in ${timeoutMs} ms` }), timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) =>
      done(error.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'failed', detail: error.code ?? error.message }),
    );
    req.end();
  });
}
