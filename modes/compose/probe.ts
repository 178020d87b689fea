// A tcp ready probe of a compose service on one of its published ports. On the host side such a
// port is docker's proxy, which accepts every connection even while nothing listens in the
// container: a plain connect says "ready" at once. So the container is asked first (its own
// /proc/net/tcp{,6}: is something listening on the container port?), then the published port is
// connected to, so the way from the host works too.
import { COMPOSE_SERVICE, containersByLabel, listeningPorts, projectLabel } from '../../adapters/compose.js';
import { tcpOnce } from '../../adapters/probe.js';
import { own } from '../../common/records.js';
import type { TcpProbe } from '../readiness.js';
import type { ResolvedService } from '../service.js';
import type { ComposeRef } from './project.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function composeTcpProbe(ref: ComposeRef, def: ResolvedService): TcpProbe | undefined {
  const service = def.compose?.service;
  if (!service) return undefined;
  // leased host port -> container port, for the service's own named ports
  const published = new Map<number, number>();
  for (const [name, leased] of Object.entries(def.ports)) {
    const target = own(def.containerPorts, name);
    if (target !== undefined) published.set(leased, target);
  }
  return async (host, port, signal) => {
    const target = LOOPBACK.has(host) ? published.get(port) : undefined;
    if (target === undefined) return tcpOnce(host, port, signal);
    const running = (await containersByLabel(ref.cli, [projectLabel(ref.project), `${COMPOSE_SERVICE}=${service}`])).filter(
      (c) => c.state === 'running',
    );
    if (running.length === 0) return { ready: false, detail: 'no running container' };
    let looked = true;
    for (const c of running) {
      const ports = await listeningPorts(ref.cli, c.id, signal);
      if (ports === undefined) looked = false;
      else if (!ports.has(target)) {
        return {
          ready: false,
          detail: `nothing listens on port ${target} in its container yet (${host}:${port} is docker's proxy, which accepts before the service does)`,
        };
      }
    }
    const outcome = await tcpOnce(host, port, signal);
    // an image without `cat`: the connect is all there is, and it may be the proxy's
    return looked || !outcome.ready ? outcome : { ...outcome, detail: `${outcome.detail} (its container has no cat to look inside)` };
  };
}
