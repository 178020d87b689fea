// The machine-wide port ledger in $SESS_HOME: which session of which repository holds which port.
// Every change happens under one lock, and a port is checked free on this machine when it is first
// leased, so no two sessions (of any repository) are ever handed the same port, however many
// `sess up` run at once. Leases survive `down`; `rm` releases them.
import { join } from 'node:path';
import { acquireLock, readJson, writeJsonAtomic } from '../adapters/fs.js';
import { findFreePort, isPortFree } from '../adapters/ports.js';
import { sessHome } from './repo.js';
import { hasOwn } from '../records.js';

export interface Lease {
  owner: string;
  name: string;
  /** Where the owner lives, so doctor can tell whether it still exists. */
  stateDir: string;
  since: string;
}

interface LedgerFile {
  version: 1;
  leases: Record<string, Lease>;
}

const ledgerPath = () => join(sessHome(), 'ports.json');
const lockPath = () => join(sessHome(), 'ports.lock');

function read(): LedgerFile {
  return readJson<LedgerFile>(ledgerPath()) ?? { version: 1, leases: {} };
}

async function withLedger<T>(fn: (ledger: LedgerFile) => Promise<T>, signal?: AbortSignal): Promise<T> {
  const lock = await acquireLock(lockPath(), { timeoutMs: 60_000, what: 'the port ledger', signal });
  try {
    const ledger = read();
    const result = await fn(ledger);
    writeJsonAtomic(ledgerPath(), ledger, 0o644);
    return result;
  } finally {
    lock.release();
  }
}

export function leasesOf(owner: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [port, lease] of Object.entries(read().leases)) {
    if (lease.owner === owner) out[lease.name] = Number(port);
  }
  return out;
}

export function allLeases(): Record<number, Lease> {
  return read().leases as unknown as Record<number, Lease>;
}

/**
 * Lease every wanted name the owner does not hold yet. `prefer` is taken when free on the machine
 * and in the ledger, any free port otherwise. Returns the names leased by this call, so a rollback
 * releases exactly those.
 */
export async function lease(
  owner: string,
  stateDir: string,
  wanted: { name: string; prefer?: number }[],
  signal?: AbortSignal,
): Promise<{ ports: Record<string, number>; added: string[] }> {
  return withLedger(async (ledger) => {
    const held: Record<string, number> = {};
    const taken = new Set<number>();
    for (const [port, l] of Object.entries(ledger.leases)) {
      taken.add(Number(port));
      if (l.owner === owner) held[l.name] = Number(port);
    }
    const added: string[] = [];
    for (const { name, prefer } of wanted) {
      if (hasOwn(held, name)) continue;
      let port: number;
      if (prefer !== undefined && !taken.has(prefer) && (await isPortFree(prefer))) port = prefer;
      else port = await findFreePort(taken);
      taken.add(port);
      held[name] = port;
      ledger.leases[port] = { owner, name, stateDir, since: new Date().toISOString() };
      added.push(name);
    }
    return { ports: held, added };
  }, signal);
}

/** Release the owner's leases (all, or just the names given). */
export async function release(owner: string, names?: string[]): Promise<void> {
  await withLedger(async (ledger) => {
    for (const [port, l] of Object.entries(ledger.leases)) {
      if (l.owner === owner && (!names || names.includes(l.name))) delete ledger.leases[port];
    }
  });
}

export async function releasePorts(ports: number[]): Promise<void> {
  await withLedger(async (ledger) => {
    for (const port of ports) delete ledger.leases[port];
  });
}
