// `sess proxy status`: the proxy's health with what a person (or a script) wants beside it.
import { proxyPaths } from './paths.js';
import { routesOf } from './routes.js';
import { proxyHealth, readRecord } from './supervise.js';
import type { ActiveCounts } from '../../proxy/table.js';

export interface ProxyStatusView {
  state: 'running' | 'down' | 'unresponsive' | 'taken';
  running: boolean;
  port: number;
  pid?: number;
  /** host names in the route table (what the running proxy serves, else what is on disk) */
  routes: number;
  /** the table generation the running proxy serves */
  generation?: number;
  since?: string;
  log: string;
  routesFile: string;
  statusUrl?: string;
  active?: Record<string, ActiveCounts>;
  /** why the table on disk is not served (or cannot be read) */
  tableError?: string;
  /** `taken`, `unresponsive`: what holds the port, or why ours does not answer */
  detail?: string;
}

export async function proxyStatus(): Promise<ProxyStatusView> {
  const paths = proxyPaths();
  const health = await proxyHealth();
  const base = { state: health.state, running: health.state === 'running', port: health.port, log: paths.log, routesFile: paths.routes };
  let routes = 0;
  let tableError: string | undefined;
  try {
    routes = routesOf().length;
  } catch (error) {
    tableError = (error as Error).message;
  }
  if (health.state === 'running') {
    const s = health.status;
    return {
      ...base,
      pid: s.pid,
      routes: s.hosts,
      generation: s.generation,
      since: s.started,
      statusUrl: `http://sess-proxy.localhost:${health.port}/status`,
      active: s.active,
      ...(s.tableError ? { tableError: s.tableError } : {}),
    };
  }
  const record = health.state === 'unresponsive' ? readRecord() : undefined;
  return {
    ...base,
    routes,
    ...(health.state === 'unresponsive' ? { pid: health.pid, since: record?.since, detail: health.detail } : {}),
    ...(health.state === 'taken' ? { detail: health.detail } : {}),
    ...(tableError ? { tableError } : {}),
  };
}
