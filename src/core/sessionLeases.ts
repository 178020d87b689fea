// Which leases a session holds, as its record keeps them: a lost ledger is rebuilt from the records.

/** Lease names of host ports compose publishes that are not named ports (`compose:web.8080`). */
export const EXTRA_PORT_PREFIX = 'compose:';

/** Every lease of a session: its named ports and the host ports compose publishes besides them. */
export function sessionLeases(ports: Record<string, number>, extraPorts: Record<string, number> = {}): Record<string, number> {
  const leases = { ...ports };
  for (const [key, port] of Object.entries(extraPorts)) leases[EXTRA_PORT_PREFIX + key] = port;
  return leases;
}
