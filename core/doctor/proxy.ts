// The machine's proxy as this repository's sessions need it: running when a session that is up has
// stable URLs, and its route table holding no session, and no blue-green candidate, that is gone.
import type { Progress } from '../../common/progress.js';
import { own } from '../../common/records.js';
import type { Repo } from '../state/repo.js';
import type { Check } from './types.js';
import { sessions, underLock } from './underLock.js';

export async function proxyChecks(repo: Repo, progress: Progress): Promise<Check[]> {
  const records = sessions(repo);
  const proxy = await import('../proxy/index.js');
  const table = proxy.readTable().repos[repo.id];
  const checks: Check[] = [];
  const routedUp = records.filter((r) => r.urls && r.status === 'up').map((r) => r.name);
  if (routedUp.length) {
    const health = await proxy.proxyHealth();
    if (health.state !== 'running') {
      checks.push({
        finding: {
          kind: 'proxy-down',
          subject: `local proxy (127.0.0.1:${health.port})`,
          detail: `${health.state}${'detail' in health && health.detail ? `: ${health.detail}` : ''}; the stable URLs of ${routedUp.join(', ')} do not answer`,
        },
        fix: async () => {
          await proxy.ensureProxy();
        },
      });
    }
  }
  for (const [session, entry] of Object.entries(table?.sessions ?? {})) {
    const record = records.find((r) => r.name === session);
    if (!record) {
      checks.push({
        finding: { kind: 'stale-route', subject: `routes of ${session}`, detail: 'the proxy routes a session that does not exist' },
        fix: () =>
          underLock(repo, session, progress, async (now) => {
            if (!now) await proxy.removeSessionRoutes(repo.id, session);
          }),
      });
      continue;
    }
    for (const route of entry.routes.filter((r) => r.green && !own(record.pending ?? {}, r.service))) {
      checks.push({
        finding: {
          kind: 'stale-route',
          subject: `green route of ${session}/${route.service}`,
          detail: `the proxy routes a blue-green candidate (${route.target}) that no release waits with`,
        },
        fix: () =>
          underLock(repo, session, progress, async (now) => {
            if (now && !own(now.pending ?? {}, route.service))
              await proxy.setGreenRoute({ repoId: repo.id, session, service: route.service, target: null });
          }),
      });
    }
  }
  return checks;
}
