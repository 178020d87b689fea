// The proxy's HTTP server: routes each request (and each WebSocket upgrade) by its Host to the
// target the current table gives, through http-proxy-3. It counts what is in flight per target,
// which its status document shows: how a blue-green switch knows the old instance has drained.
import { Agent, createServer, type IncomingMessage, type Server, type ServerResponse, type ClientRequest } from 'node:http';
import type { Duplex } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import { normalizeHost, repoLabelOf, STATUS_HOST, type ActiveCounts, type HostRoute, type StatusDocument } from './table.js';
import { badGatewayPage, notFoundPage, sendPage } from './pages.js';
import type { RouteWatch } from './routeWatch.js';

export interface ProxyServerOptions {
  port: number;
  routes: RouteWatch;
  /** for the status document: which $SESS_HOME this proxy serves */
  home: string;
  log: (line: string) => void;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

export function startProxyServer(options: ProxyServerOptions): Server {
  const { routes, log } = options;
  const started = new Date().toISOString();
  const active = new Map<string, ActiveCounts>();
  // One agent for every target: keep-alive connections to the backends, reused across clients.
  // Idle ones go after 30 s, or just before the backend's own keep-alive timeout when it says one
  // (Node honours `Keep-Alive: timeout=N`), so a reused connection is rarely one the backend closed.
  const agent = new Agent({ keepAlive: true, timeout: 30_000, scheduling: 'lifo', noDelay: true } as ConstructorParameters<
    typeof Agent
  >[0]);
  // Host stays as the client sent it (changeOrigin off): dev servers that check it (Vite's
  // allowedHosts) see the session's URL. X-Forwarded-For/Port/Proto/Host are set (xfwd).
  const proxy = createProxyServer({ xfwd: true });
  const targets = new Map<string, URL>();
  const targetUrl = (target: string) => {
    let url = targets.get(target);
    if (!url) {
      // targets come and go with sessions over the weeks a proxy runs: the cache never grows past this
      if (targets.size > 1000) targets.clear();
      targets.set(target, (url = new URL(target)));
    }
    return url;
  };
  const outgoing = new WeakMap<IncomingMessage, ClientRequest>();
  proxy.on('proxyReq', (proxyReq, req) => outgoing.set(req, proxyReq));

  const track = (target: string, kind: keyof ActiveCounts) => {
    let counts = active.get(target);
    if (!counts) active.set(target, (counts = { requests: 0, websockets: 0 }));
    counts[kind] += 1;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      counts[kind] -= 1;
      if (counts.requests === 0 && counts.websockets === 0 && active.get(target) === counts) active.delete(target);
    };
  };

  const quiet = new Map<string, number>();
  /** Backend failures are logged once per target and error per 10 s: a dead service is asked often. */
  const logFailure = (route: HostRoute, code: string | undefined) => {
    const key = `${route.target} ${code}`;
    const now = Date.now();
    if ((quiet.get(key) ?? 0) > now) return;
    if (quiet.size > 1000) quiet.clear();
    quiet.set(key, now + 10_000);
    log(`${route.host} -> ${route.target}: ${code ?? 'error'}`);
  };

  const statusDocument = (): StatusDocument => {
    const current = routes.current;
    return {
      sessProxy: 1,
      pid: process.pid,
      port: options.port,
      home: options.home,
      started,
      generation: current.table.generation,
      hosts: current.hosts.size,
      ...(current.error ? { tableError: current.error } : {}),
      active: Object.fromEntries(active),
    };
  };

  const forward = (req: IncomingMessage, res: ServerResponse, route: HostRoute, retried: boolean) => {
    proxy.web(req, res, { target: targetUrl(route.target), agent }, (error) => {
      const code = (error as NodeJS.ErrnoException).code;
      // A kept-alive connection the backend closed just as we reused it: nothing reached the
      // backend, so a request without a body is sent again once, on a fresh connection.
      if (
        !retried &&
        !res.headersSent &&
        outgoing.get(req)?.reusedSocket &&
        IDEMPOTENT.has(req.method ?? '') &&
        !req.headers['content-length'] &&
        !req.headers['transfer-encoding'] &&
        (code === 'ECONNRESET' || code === 'EPIPE')
      ) {
        return forward(req, res, route, true);
      }
      logFailure(route, code);
      if (!res.headersSent) sendPage(req, res, badGatewayPage(route, code));
      else res.destroy();
    });
  };

  const server = createServer({ noDelay: true }, (req, res) => {
    const host = normalizeHost(req.headers.host);
    const current = routes.current;
    const route = current.hosts.get(host);
    if (!route) {
      if (host === STATUS_HOST) {
        const body = JSON.stringify(statusDocument(), null, 2) + '\n';
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
        return res.end(body);
      }
      const label = repoLabelOf(host);
      const all = [...current.hosts.values()];
      const ofRepo = label === undefined ? [] : all.filter((r) => r.repoLabel === label);
      return sendPage(req, res, notFoundPage(host, ofRepo.length ? ofRepo : all, ofRepo.length ? label : undefined, options.port));
    }
    res.once('close', track(route.target, 'requests'));
    forward(req, res, route, false);
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const route = routes.current.hosts.get(normalizeHost(req.headers.host));
    if (!route) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    socket.once('close', track(route.target, 'websockets'));
    // no agent: an upgraded connection is never returned to a pool
    proxy.ws(req, socket, head, { target: targetUrl(route.target) }, (error) => {
      const code = (error as NodeJS.ErrnoException).code;
      logFailure(route, code);
      // nothing written to the client yet: it can still be told why (http-proxy-3 then closes it)
      if (socket.writable && (socket as Duplex & { bytesWritten?: number }).bytesWritten === 0) {
        const page = badGatewayPage(route, code);
        const body = [page.title, ...page.lines, ''].join('\n');
        socket.write(
          `HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
        );
      }
    });
  });

  // a client that sends garbage gets a 400 and is let go; it must not bring the proxy down
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  // proxy-level errors without a callback (none expected: every call passes one)
  proxy.on('error', (error) => log(`proxy error: ${(error as Error).message}`));
  return server;
}
