// The machine's proxy, a program of its own (dist/proxy.js): started detached by `ensureProxy()`
// (core/proxy/supervise.ts), its output appended to $SESS_HOME/proxy/proxy.log. It loads only what
// it serves with: the route table's format, http-proxy-3 and node's own modules.
//
//   node dist/proxy.js --port 7377 --routes $SESS_HOME/proxy/routes.json --home $SESS_HOME
import { parseArgs } from 'node:util';
import { RouteWatch } from './routeWatch.js';
import { startProxyServer } from './server.js';

const log = (line: string) => process.stdout.write(`${new Date().toISOString()} [${process.pid}] ${line}\n`);

/** Exit codes the supervisor can tell apart in the log: 2 bad arguments, 3 the port is taken. */
function main(): void {
  const { values } = parseArgs({ options: { port: { type: 'string' }, routes: { type: 'string' }, home: { type: 'string' } } });
  const port = Number(values.port);
  if (!values.routes || !Number.isInteger(port) || port < 1 || port > 65535) {
    log('usage: proxy.js --port N --routes FILE [--home DIR]');
    process.exit(2);
  }
  const routes = new RouteWatch(values.routes, log);
  routes.start();
  const server = startProxyServer({ port, routes, home: values.home ?? '', log });
  server.on('error', (error: NodeJS.ErrnoException) => {
    log(error.code === 'EADDRINUSE' ? `port ${port} is taken: cannot listen on 127.0.0.1:${port}` : `cannot listen: ${error.message}`);
    process.exit(error.code === 'EADDRINUSE' ? 3 : 1);
  });
  // loopback only: the sessions' services are for this machine, never for its network
  server.listen({ port, host: '127.0.0.1', exclusive: true }, () => log(`listening on 127.0.0.1:${port}, routes from ${values.routes}`));

  const stop = (signal: string) => {
    log(`${signal}: stopping`);
    routes.stop();
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    // long responses and WebSockets would hold it open: they get a moment, then the process goes
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

// A socket that fails under us (a client gone mid-write) must not end the machine's proxy for every
// session; anything else is a bug, and a restart (the next `ensureProxy`) is the safe answer.
process.on('uncaughtException', (error: NodeJS.ErrnoException) => {
  log(`uncaught: ${error.stack ?? error.message}`);
  if (!['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END'].includes(error.code ?? ''))
    process.exit(1);
});

main();
