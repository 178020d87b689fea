// Where the machine's proxy keeps its things, and which port it listens on.
import { join, resolve } from 'node:path';
import { UsageError } from '../../common/errors.js';
import { sessHome } from '../state/repo.js';

/**
 * 7377 is "sess" on a phone keypad. Chosen clear of what developers already run: portless (1355),
 * dev servers (3000, 3001, 4200, 4321, 5000, 5173, 6006, 8000, 8080, 8081, 8888, 9000), databases
 * and caches (3306, 5432, 6379, 27017), debuggers (9229), sess's own lease range (20000-32000) and
 * the kernel's range for outgoing connections (32768-60999).
 */
export const DEFAULT_PROXY_PORT = 7377;

/** The proxy's port: `SESS_PROXY_PORT`, else 7377. */
export function proxyPort(): number {
  const text = process.env.SESS_PROXY_PORT;
  if (text === undefined || text === '') return DEFAULT_PROXY_PORT;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
    throw new UsageError(`SESS_PROXY_PORT=${text} is not a TCP port`, { hint: 'give a number from 1 to 65535, or unset it for 7377' });
  }
  return port;
}

export function proxyPaths(given = sessHome()) {
  // absolute: the proxy runs in its own folder, and compares its home with ours
  const home = resolve(given);
  const dir = join(home, 'proxy');
  return {
    home,
    dir,
    /** the route table (table.ts), read by the proxy on every change */
    routes: join(dir, 'routes.json'),
    routesLock: join(dir, 'routes.lock'),
    /** the running proxy: pid, start time, port */
    process: join(dir, 'proxy.json'),
    /** held while a proxy is started or stopped, so two commands never start two */
    startLock: join(dir, 'start.lock'),
    log: join(dir, 'proxy.log'),
  };
}

/** A URL the proxy serves for `host`; port 80 is left out, as browsers show it. */
export function proxyUrl(host: string, port: number): string {
  return port === 80 ? `http://${host}/` : `http://${host}:${port}/`;
}
