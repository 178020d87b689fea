// Real HTTP for the proxy's tests: small backends that say who they are, and a client that reaches
// `*.localhost` on the loopback. Node's dns.lookup asks the system resolver, which (glibc without
// systemd-resolved, as here) does not know `*.localhost`: browsers and curl resolve it themselves.
import { Agent, createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { LookupFunction } from 'node:net';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

/** Resolve every `*.localhost` to 127.0.0.1, as browsers do. */
export const localhostLookup: LookupFunction = (hostname, options, callback) => {
  const cb = callback as (...args: unknown[]) => void;
  if (!/(^|\.)localhost\.?$/i.test(hostname)) return cb(Object.assign(new Error(`test lookup: ${hostname}`), { code: 'ENOTFOUND' }));
  if ((options as { all?: boolean }).all) return cb(null, [{ address: '127.0.0.1', family: 4 }]);
  cb(null, '127.0.0.1', 4);
};

export interface Reply {
  status: number;
  body: string;
  headers: IncomingHttpHeaders;
  reusedSocket: boolean;
}

/** One GET; `agent` for keep-alive (default: a fresh connection each time). */
export function get(url: string, opts: { agent?: Agent; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { agent: opts.agent ?? false, lookup: localhostLookup, headers: opts.headers, timeout: opts.timeoutMs ?? 10_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers, reusedSocket: req.reusedSocket }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer`)));
    req.on('error', reject);
    req.end();
  });
}

export function keepAliveAgent(maxSockets = 1): Agent {
  return new Agent({ keepAlive: true, maxSockets, lookup: localhostLookup } as ConstructorParameters<typeof Agent>[0]);
}

export interface Backend {
  name: string;
  port: number;
  target: string;
  server: Server;
  /** TCP connections it has accepted so far */
  connections: number;
  /** requests held at /hold until released */
  release(): void;
  close(): Promise<void>;
}

/**
 * A backend named `name`. `GET /` answers its name; `/headers` the request's headers as JSON;
 * `/sse` two events, the second only after `sendSecond()`; `/hold` answers once `release()` is
 * called; a WebSocket on any path echoes `name:message`.
 */
export async function startBackend(name: string): Promise<Backend & { sendSecond(): void }> {
  let releaseHeld: (() => void)[] = [];
  let second: (() => void)[] = [];
  const server = createServer((req, res) => {
    if (req.url === '/headers') {
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify(req.headers));
    }
    if (req.url === '/sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(`data: first from ${name}\n\n`);
      second.push(() => res.end(`data: second from ${name}\n\n`));
      return;
    }
    if (req.url === '/hold') {
      res.write(`${name} holding\n`);
      releaseHeld.push(() => res.end(`${name} released\n`));
      return;
    }
    res.end(name);
  });
  const backend = {
    name,
    port: 0,
    target: '',
    server,
    connections: 0,
    release() {
      const held = releaseHeld;
      releaseHeld = [];
      for (const f of held) f();
    },
    sendSecond() {
      const waiting = second;
      second = [];
      for (const f of waiting) f();
    },
    close: () =>
      new Promise<void>((resolve) => {
        wss.clients.forEach((c) => c.terminate());
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => (backend.connections += 1));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => socket.on('message', (data) => socket.send(`${name}:${String(data)}`)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend.port = (server.address() as AddressInfo).port;
  backend.target = `http://127.0.0.1:${backend.port}`;
  return backend;
}

/** A port nothing listens on (free a moment ago). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A free port for a proxy that is stopped and started again during a test: below the kernel's
 * range for outgoing connections (32768-60999) and sess's lease range (20000-32000), where a port
 * of ours that is free for a moment is not taken by another program's `listen(0)` or connection.
 */
export async function quietPort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 10000 + Math.floor(Math.random() * 10000);
    const free = await new Promise<boolean>((resolve) => {
      const s = createNetServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port in 10000-19999');
}
