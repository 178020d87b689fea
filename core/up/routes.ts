// A session's routes in the machine's proxy: every routed service to the port it listens on
// (127.0.0.1, where its runtime publishes it), the primary among them, and the candidates of
// blue-green releases waiting at their gate. Written by up (its `routes` step), kept with a stopped
// status by down, forgotten by rm.
import { messageOf } from '../../common/errors.js';
import type { Progress } from '../../common/progress.js';
import { own } from '../../common/records.js';
import { primaryOf, routedServices } from '../../config/routing.js';
import type { Config } from '../../config/schema.js';
import type { RouteInput, SessionUrls } from '../proxy/index.js';
import type { Repo } from '../state/repo.js';
import type { PendingGreen } from '../state/store.js';

const target = (port: number) => `http://127.0.0.1:${port}`;

/** The routes of a session whose named ports are leased at `ports`. */
export function routesFor(
  config: Config,
  ports: Record<string, number>,
  pending: Record<string, Pick<PendingGreen, 'ports'>> = {},
  status: RouteInput['status'] = { state: 'running' },
): RouteInput[] {
  const routed = routedServices(config);
  const primary = primaryOf(config);
  const routes: RouteInput[] = Object.entries(routed).map(([service, port]) => ({
    service,
    target: target(own(ports, port)!),
    ...(service === primary ? { primary: true } : {}),
    status,
  }));
  for (const [service, p] of Object.entries(pending)) {
    const port = own(routed, service);
    if (port !== undefined)
      routes.push({ service, target: target(own(p.ports, port)!), green: true, status: { state: 'awaiting promotion' } });
  }
  return routes;
}

/** The URLs the session's routed services have, known before anything runs (none when nothing is routed). */
export async function urlsOf(repo: Repo, session: string, config: Config): Promise<SessionUrls | undefined> {
  const services = Object.keys(routedServices(config));
  if (services.length === 0) return undefined;
  const proxy = await import('../proxy/index.js');
  const primary = primaryOf(config);
  return proxy.urlsFor({
    repoId: repo.id,
    repoName: repo.name,
    repoRoot: repo.mainRoot,
    session,
    services,
    ...(primary ? { primary } : {}),
  });
}

/**
 * The proxy that serves the routes: started when it does not run. A proxy that cannot start (its
 * port taken by another program) does not fail the session: its services run, their URLs do not
 * answer until it can, and the warning says why (`sess doctor` says it too).
 */
export async function ensureProxyFor(progress: Progress, signal?: AbortSignal): Promise<boolean> {
  const proxy = await import('../proxy/index.js');
  try {
    const info = await proxy.ensureProxy(signal ? { signal } : {});
    if (info.started) progress.info(`started the local proxy on 127.0.0.1:${info.port} (pid ${info.pid})`);
    return true;
  } catch (error) {
    progress.warn(`the local proxy is not running, so the stable URLs do not answer: ${messageOf(error)}`);
    return false;
  }
}
