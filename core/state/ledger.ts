// The machine-wide port ledger in $SESS_HOME: which session of which repository holds which port.
// Every change happens under one lock, and a port is checked free on this machine when it is first
// leased, so no two sessions (of any repository) are ever handed the same port, however many
// `sess up` run at once. Leases survive `down`; `rm` releases them (and a completed `up` those of
// ports no longer configured). Session records keep their leases too: a corrupt ledger is rebuilt
// from them (ledgerRepair.ts).
import { copyFileSync, constants, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { acquireLock, writeJsonAtomic } from '../../adapters/fs.js';
import { findFreePort, isPortFree } from '../../adapters/ports.js';
import { CorruptStateError, WorkError, messageOf } from '../../common/errors.js';
import { describePortHolder, portHolder } from '../../adapters/portHolder.js';
import { lockTimeoutMs, sessHome } from './repo.js';
import { rememberRepo } from './repoIndex.js';
import { hasOwn } from '../../common/records.js';

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

/** The earlier port of a name a pin moved (`moved:web`), leased until the next up that completes. */
export const MOVED_LEASE_PREFIX = 'moved:';

export const ledgerPath = () => join(sessHome(), 'ports.json');
const lockPath = () => join(sessHome(), 'ports.lock');

type ReadResult = { ledger: LedgerFile } | { problem: string; text: string };

function readLedger(): ReadResult {
  let text: string;
  try {
    text = readFileSync(ledgerPath(), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { ledger: { version: 1, leases: {} } };
    throw error;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const problem =
      text.trim() === '' ? 'it is empty' : /^\0+$/.test(text) ? 'it holds only NUL bytes' : `it is not JSON (${messageOf(error)})`;
    return { problem, text };
  }
  const problem = shapeProblem(data);
  return problem ? { problem, text } : { ledger: data as LedgerFile };
}

/** Why parsed JSON is not a ledger this sess can use (undefined: it is one). */
function shapeProblem(data: unknown): string | undefined {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(data)) return `it holds ${Array.isArray(data) ? 'an array' : JSON.stringify(data)}, not a ledger`;
  if (data.version !== 1) return `its version is ${JSON.stringify(data.version) ?? 'missing'}, not 1`;
  if (!isObject(data.leases)) return 'it has no object of leases';
  for (const [port, lease] of Object.entries(data.leases)) {
    if (!/^[1-9]\d{0,4}$/.test(port) || Number(port) > 65535) return `"${port}" is not a port`;
    if (!isObject(lease) || typeof lease.owner !== 'string' || typeof lease.name !== 'string' || typeof lease.stateDir !== 'string') {
      return `the lease of port ${port} is not an owner, a name and a state folder`;
    }
  }
  return undefined;
}

function read(): LedgerFile {
  const result = readLedger();
  if ('problem' in result) {
    throw new CorruptStateError(ledgerPath(), `the port ledger ${ledgerPath()} is corrupt: ${result.problem}`, {
      hint: 'run `sess doctor --fix`: it keeps the corrupt file aside and rebuilds the ledger from the session records',
    });
  }
  return result.ledger;
}

/**
 * Fail (CorruptStateError) unless the ledger can be read: a command that will lease or release
 * ports asks before it changes anything, so a corrupt ledger never stops it half way.
 */
export function requireReadableLedger(): void {
  read();
}

/** What is wrong with the ledger file, or undefined when it reads well (or does not exist yet). */
export function ledgerProblem(): string | undefined {
  const result = readLedger();
  return 'problem' in result ? result.problem : undefined;
}

async function withLedger<T>(fn: (ledger: LedgerFile) => Promise<T>, signal?: AbortSignal): Promise<T> {
  // held for milliseconds by a healthy holder; a longer wait is someone stuck (SESS_LOCK_TIMEOUT)
  const lock = await acquireLock(lockPath(), { timeoutMs: lockTimeoutMs(), what: 'the port ledger', signal });
  try {
    const ledger = read();
    const before = JSON.stringify(ledger);
    const result = await fn(ledger);
    // the one commit point: whatever threw before it changed nothing (see RollbackGuard.runAtomic);
    // a resume that holds every name already changes nothing, and pays for no write and no fsync
    if (JSON.stringify(ledger) !== before) writeJsonAtomic(ledgerPath(), ledger, 0o644, { durable: true });
    return result;
  } finally {
    lock.release();
  }
}

/**
 * Replace a corrupt ledger with leases rebuilt from elsewhere (`rebuild` gets the corrupt text, to
 * salvage what it can). The corrupt file is kept beside it for the user. Under the ledger's lock;
 * undefined when the ledger turns out to be readable by then (another doctor fixed it).
 */
export async function replaceCorruptLedger(
  rebuild: (corruptText: string) => Record<string, Lease>,
): Promise<{ aside: string; leases: number } | undefined> {
  const lock = await acquireLock(lockPath(), { timeoutMs: lockTimeoutMs(), what: 'the port ledger' });
  try {
    const current = readLedger();
    if (!('problem' in current)) return undefined;
    const leases = rebuild(current.text);
    const aside = `${ledgerPath()}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    // copied, not moved: until the new ledger is in place, the old one stays where it was
    copyFileSync(ledgerPath(), aside, constants.COPYFILE_EXCL);
    writeJsonAtomic(ledgerPath(), { version: 1, leases } satisfies LedgerFile, 0o644, { durable: true });
    return { aside, leases: Object.keys(leases).length };
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
  wanted: { name: string; prefer?: number; pin?: number }[],
  signal?: AbortSignal,
): Promise<{ ports: Record<string, number>; added: string[] }> {
  rememberRepo(owner.slice(0, owner.indexOf('/')), stateDir);
  return withLedger(async (ledger) => {
    const held: Record<string, number> = {};
    const taken = new Set<number>();
    for (const [port, l] of Object.entries(ledger.leases)) {
      taken.add(Number(port));
      if (l.owner === owner) held[l.name] = Number(port);
    }
    const added: string[] = [];
    // pinned ports first (`--port NAME=N`): exactly that port, or the whole lease fails naming its holder
    for (const { name, pin } of wanted) {
      if (pin === undefined || held[name] === pin) continue;
      const holder = ledger.leases[pin];
      // the earlier port of this very name (a pin moved it, and that up did not complete): taken back
      if (holder && !(holder.owner === owner && holder.name === MOVED_LEASE_PREFIX + name)) {
        throw new WorkError(`port ${pin} is leased by ${describeLease(holder, owner)}: it cannot be pinned for ${name}`, {
          hint: holder.owner === owner ? 'pin another port' : `\`sess rm\` that session, or pin another port`,
        });
      }
      if (!(await isPortFree(pin))) {
        throw new WorkError(`port ${pin} is in use by ${describePortHolder(portHolder(pin))}: it cannot be pinned for ${name}`, {
          hint: 'stop it, or pin another port',
        });
      }
      // the name's earlier port is kept aside until an up completes (releaseUnusedLeases): a
      // replacement that fails brings back the previous instance on it; a rollback gives the name back
      const earlier = hasOwn(held, name) ? ledger.leases[held[name]!] : undefined;
      if (earlier) earlier.name = MOVED_LEASE_PREFIX + name;
      held[name] = pin;
      taken.add(pin);
      ledger.leases[pin] = { owner, name, stateDir, since: new Date().toISOString() };
      added.push(name);
    }
    const take = (name: string, port: number) => {
      taken.add(port);
      held[name] = port;
      ledger.leases[port] = { owner, name, stateDir, since: new Date().toISOString() };
      added.push(name);
    };
    const names = new Set(wanted.map((w) => w.name));
    for (const { name, prefer } of wanted) {
      if (hasOwn(held, name)) continue;
      // `NAME+i` follows NAME: a range of ports (compose's "8000-8001:80" for two replicas), contiguous
      const follows = RANGE_FOLLOWER.exec(name);
      if (follows && names.has(follows[1]!)) {
        const port = held[follows[1]!]! + Number(follows[2]);
        if (taken.has(port) || !(await isPortFree(port))) {
          throw new WorkError(`port ${port} is taken: it would extend the range of ${follows[1]} (${held[follows[1]!]} on)`, {
            hint: 'free that port, or `sess rm` the session to lease a new range',
          });
        }
        take(name, port);
        continue;
      }
      const span = 1 + wanted.filter((w) => RANGE_FOLLOWER.exec(w.name)?.[1] === name).length;
      let port: number;
      if (span > 1) port = await findFreeRun(taken, span);
      else if (prefer !== undefined && !taken.has(prefer) && (await isPortFree(prefer))) port = prefer;
      else port = await findFreePort(taken);
      take(name, port);
    }
    return { ports: held, added };
  }, signal);
}

/** The name of the i-th port after the first of a range: `NAME+i`. */
const RANGE_FOLLOWER = /^(.*)\+(\d+)$/;

/** The first of `span` contiguous ports, none leased and all free. */
async function findFreeRun(taken: Set<number>, span: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const first = await findFreePort(taken);
    if (first + span - 1 > 65535) continue;
    let ok = true;
    for (let i = 1; i < span && ok; i++) ok = !taken.has(first + i) && (await isPortFree(first + i));
    if (ok) return first;
  }
  throw new WorkError(`no ${span} contiguous free ports found`);
}

/** Who holds a lease, for a message: this session under another name, or another session (and its repository). */
function describeLease(lease: Lease, owner: string): string {
  if (lease.owner === owner) return `this session (as ${lease.name})`;
  const session = lease.owner.slice(lease.owner.indexOf('/') + 1);
  // the state folder is <git common dir>/sess: the repository is the folder of .git
  const commonDir = dirname(lease.stateDir);
  const repo = basename(commonDir) === '.git' ? dirname(commonDir) : commonDir;
  return `session ${session} (${lease.name}) of ${repo}`;
}

/**
 * Put back the owner's earlier leases of these names (a pinned port's rollback), unless another
 * owner took those ports meanwhile.
 */
export async function restoreLeases(owner: string, stateDir: string, leases: Record<string, number>): Promise<void> {
  await withLedger(async (ledger) => {
    for (const [name, port] of Object.entries(leases)) {
      const now = ledger.leases[port];
      if (now && now.owner !== owner) continue;
      ledger.leases[port] = { owner, name, stateDir, since: new Date().toISOString() };
    }
  });
}

/** Release the owner's leases (all, or just the names given). */
export async function release(owner: string, names?: string[]): Promise<void> {
  await withLedger(async (ledger) => {
    for (const [port, l] of Object.entries(ledger.leases)) {
      if (l.owner === owner && (!names || names.includes(l.name))) delete ledger.leases[port];
    }
  });
}

/** Release the leases that `stale` still says are stale, deciding under the ledger's lock. */
export async function releaseWhere(stale: (port: number, lease: Lease) => boolean): Promise<number[]> {
  return withLedger(async (ledger) => {
    const released: number[] = [];
    for (const [port, l] of Object.entries(ledger.leases)) {
      if (!stale(Number(port), l)) continue;
      delete ledger.leases[port];
      released.push(Number(port));
    }
    return released;
  });
}

/**
 * Give the owner's lease `from` the name `to`, releasing what `to` held: a blue-green promotion,
 * where the new instance's port becomes the service's. Idempotent: a lease already renamed (or
 * gone) is left as it is. Returns the port `to` names afterwards, if any.
 */
export async function renameLease(owner: string, from: string, to: string): Promise<number | undefined> {
  return withLedger(async (ledger) => {
    const entries = Object.entries(ledger.leases);
    const moving = entries.find(([, l]) => l.owner === owner && l.name === from);
    if (moving) {
      for (const [port, l] of entries) if (l.owner === owner && l.name === to) delete ledger.leases[port];
      moving[1].name = to;
    }
    const now = Object.entries(ledger.leases).find(([, l]) => l.owner === owner && l.name === to);
    return now ? Number(now[0]) : undefined;
  });
}
