// `sess proxy status|start|stop|routes`: the machine's proxy behind the sessions' stable URLs.
import type { Command } from 'commander';
import { printJson, printOut, out } from '../output.js';

export function register(program: Command): void {
  const proxy = program.command('proxy').description("the machine's proxy behind the sessions' stable URLs (status, start, stop, routes)");
  proxy
    .command('status')
    .description('is it running: port, pid, number of routes (exit 1 when it is not running)')
    .option('--json', 'print the status as JSON on stdout')
    .action(async (opts) => {
      const { proxyStatus } = await import('../../core/proxy/status.js');
      const view = await proxyStatus();
      process.exitCode = view.running ? 0 : 1;
      if (opts.json) return printJson(view);
      const { renderProxyStatus } = await import('../renderProxy.js');
      printOut(renderProxyStatus(view));
    });
  proxy
    .command('start')
    .description('start it if it is not running (sess up does too)')
    .option('--json', 'print where it runs as JSON on stdout')
    .action(async (opts) => {
      const { ensureProxy } = await import('../../core/proxy/supervise.js');
      const info = await ensureProxy();
      if (opts.json) return printJson({ running: true, ...info });
      printOut(`${out.green('✓')} proxy ${info.started ? 'started' : 'already running'} on 127.0.0.1:${info.port} (pid ${info.pid})`);
    });
  proxy
    .command('stop')
    .description('stop it; the routes stay, and the next start (or sess up) serves them again')
    .option('--json', 'print what was stopped as JSON on stdout')
    .action(async (opts) => {
      const { stopProxy } = await import('../../core/proxy/supervise.js');
      const result = await stopProxy();
      if (opts.json) return printJson(result);
      printOut(result.stopped ? `proxy stopped (pid ${result.pid})` : 'proxy was not running');
    });
  proxy
    .command('routes')
    .description('every route of the machine: URL -> target, session, service')
    .option('--json', 'print the routes as a JSON array on stdout')
    .action(async (opts) => {
      const { routesOf } = await import('../../core/proxy/routes.js');
      const routes = routesOf();
      if (opts.json) return printJson(routes);
      const { renderProxyRoutes } = await import('../renderProxy.js');
      printOut(renderProxyRoutes(routes));
    });
}
