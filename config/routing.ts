// Which services of a config have a stable URL through the local proxy, on which named port, and
// which one is the session's own (its primary). Pure: read by validation and by `up`.
import { own } from '../common/records.js';
import type { Config } from './schema.js';

/** Routed services, in config order: service -> the named port its URL routes to. */
export function routedServices(config: Config): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [name, svc] of Object.entries(config.services)) {
    if (svc.proxy === false) continue;
    const port = svc.proxy?.port ?? (svc.ready?.http !== undefined ? Object.keys(svc.ports)[0] : undefined);
    if (port !== undefined) out[name] = port;
  }
  return out;
}

/** The service behind the session's own URL: `proxy.primary`, else the first routed one. */
export function primaryOf(config: Config): string | undefined {
  const routed = Object.keys(routedServices(config));
  const chosen = config.proxy?.primary;
  return chosen !== undefined && own(routedServices(config), chosen) !== undefined ? chosen : routed[0];
}
