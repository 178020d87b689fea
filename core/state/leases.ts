// Which leases a session holds, as its record keeps them (so a lost ledger can be rebuilt from the
// records), and the release of those its config no longer asks for.
import { messageOf } from '../../common/errors.js';
import { leasesOf, MOVED_LEASE_PREFIX, release } from './ledger.js';
import type { Progress } from '../../common/progress.js';

/** Lease names of host ports compose publishes that are not named ports (`compose:web.8080`). */
export const EXTRA_PORT_PREFIX = 'compose:';

/** Every lease of a session: its named ports and the host ports compose publishes besides them. */
export function sessionLeases(ports: Record<string, number>, extraPorts: Record<string, number> = {}): Record<string, number> {
  const leases = { ...ports };
  for (const [key, port] of Object.entries(extraPorts)) leases[EXTRA_PORT_PREFIX + key] = port;
  return leases;
}

/**
 * After an up that completed: release the owner's leases of named ports taken out of sess.yaml, of
 * compose ports no longer published, and the earlier ports of names a pin moved. Only then: a rollback or a release that ended otherwise
 * may still run services on them. Only those two kinds: a lease of another kind is not ours to
 * judge here. The up has succeeded, so a failure is a warning (the leases go with `sess rm`).
 */
export async function releaseUnusedLeases(owner: string, kept: Record<string, number>, progress: Progress): Promise<void> {
  try {
    const unused = Object.entries(leasesOf(owner)).filter(
      ([name]) => !(name in kept) && (name.startsWith(EXTRA_PORT_PREFIX) || name.startsWith(MOVED_LEASE_PREFIX) || !name.includes(':')),
    );
    if (unused.length === 0) return;
    await release(
      owner,
      unused.map(([name]) => name),
    );
    progress.info(`released ports no longer used: ${unused.map(([name, port]) => `${name}=${port}`).join(' ')}`);
  } catch (error) {
    progress.warn(`could not release the ports this session no longer uses (\`sess rm\` will): ${messageOf(error)}`);
  }
}
