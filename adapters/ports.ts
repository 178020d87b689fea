// Is a TCP port free on this machine? get-port binds it on every local address to find out.
import getPort, { clearLockedPorts } from 'get-port';
import { WorkError } from '../common/errors.js';

/** Where new leases are looked for: below Linux's ephemeral range, so outgoing connections never take them. */
export const LEASE_RANGE = { from: 20000, to: 32000 } as const;

export async function isPortFree(port: number): Promise<boolean> {
  // get-port remembers what it handed out for 15 s to avoid in-process races; our ledger does that
  // job across processes, and asking twice about one port must give the same answer.
  // Only the two wildcard addresses are asked: on Linux a bind to 0.0.0.0 (or ::) fails when any
  // address holds the port, and asking every interface (docker adds many) costs a bind each.
  for (const host of ['0.0.0.0', '::']) {
    clearLockedPorts();
    try {
      if ((await getPort({ port, host })) !== port) return false;
    } catch (error) {
      // no IPv6 on this machine: nothing can hold the port there
      if (!['EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EINVAL'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    }
  }
  return true;
}

/**
 * A free port not in `exclude`, searched from a random point of the range so that two machines'
 * ledgers (or two test runs with their own SESS_HOME) rarely race for the same one.
 */
export async function findFreePort(exclude: Set<number>): Promise<number> {
  const { from, to } = LEASE_RANGE;
  const size = to - from + 1;
  const offset = Math.floor(Math.random() * size);
  for (let i = 0; i < size; i++) {
    const port = from + ((offset + i) % size);
    if (exclude.has(port)) continue;
    if (await isPortFree(port)) return port;
  }
  throw new WorkError(`no free TCP port in ${from}-${to} for a new lease`, {
    hint: 'every port of the range is leased or in use: `sess ls --all`, `sess rm` sessions you no longer need',
  });
}
