// Filesystem helpers: atomic writes, a cross-process lock, copy-on-write copies.
import {
  closeSync,
  linkSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
  statSync,
} from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LockTimeoutError, CancelledError } from '../common/errors.js';
import { run } from './process.js';
import { processStartTime } from './proc.js';
import { sleep } from '../common/sleep.js';

/**
 * Write via a temp file in the same folder and rename: readers see the old or the new file, never half.
 * `durable` also flushes the data to disk before the rename, and the folder after it.
 */
export function writeFileAtomic(path: string, data: string, mode = 0o644, options: { durable?: boolean } = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}`);
  const fd = openSync(tmp, 'w', mode);
  try {
    // No fsync by default: what we guard against is a killed sess (SIGKILL, Ctrl+C), not a power
    // cut, and the page cache survives the former. It would cost milliseconds on every journal entry.
    // Only state that cannot be rebuilt cheaply asks for it (the machine-wide port ledger): after a
    // power cut, a renamed file whose data never reached the disk reads as empty or NUL bytes.
    writeSync(fd, data);
    if (options.durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  if (options.durable) fsyncFolder(dirname(path));
}

/**
 * Make a rename in this folder survive a power cut. Best effort, and never an error: the rename
 * has happened, and a caller must be able to rely on "it threw, so nothing was written".
 */
function fsyncFolder(folder: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(folder, 'r');
    fsyncSync(fd);
  } catch {
    /* some filesystems refuse fsync on a folder */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function readJson<T>(path: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    // no such file, or a name that cannot be one (too long, or under a file): nothing there
    if (['ENOENT', 'ENAMETOOLONG', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw error;
  }
  return JSON.parse(text) as T;
}

export function writeJsonAtomic(path: string, value: unknown, mode = 0o600, options: { durable?: boolean } = {}): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', mode, options);
}

export function readTextIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function removePath(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

export interface LockHolder {
  pid: number;
  start: string | null;
  command: string;
  since: string;
}

export interface LockOptions {
  timeoutMs: number;
  /** What the lock protects, for messages ("session feature-login", "the port ledger"). */
  what: string;
  command?: string;
  onWait?: (holder: LockHolder | undefined) => void;
  signal?: AbortSignal;
  /** Longest pause between two looks (ms): short for a lock that is only ever held briefly. */
  maxPollMs?: number;
}

export interface Lock {
  release(): void;
}

/**
 * An exclusive lock between processes: a file created with O_EXCL that records its holder's pid and
 * start time. A lock whose holder is gone (crashed, killed with SIGKILL) is taken over.
 */
export async function acquireLock(path: string, options: LockOptions): Promise<Lock> {
  mkdirSync(dirname(path), { recursive: true });
  const me: LockHolder = {
    pid: process.pid,
    start: processStartTime(process.pid),
    command: options.command ?? process.argv.slice(2).join(' '),
    since: new Date().toISOString(),
  };
  const deadline = Date.now() + options.timeoutMs;
  let warned = false;
  let wait = 2;
  for (;;) {
    if (options.signal?.aborted) throw CancelledError.from(options.signal);
    if (takeLockFile(path, me)) {
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          try {
            const holder = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
            if (holder.pid === me.pid) unlinkSync(path);
          } catch {
            /* already gone */
          }
        },
      };
    }
    const holder = readHolder(path);
    if (holder === 'stale') {
      breakStaleLock(path);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new LockTimeoutError(
        `${options.what} is busy: ${describeHolder(holder)} still holds it after ${Math.round(options.timeoutMs / 1000)}s`,
        { hint: 'wait for that command to finish, or stop it' },
      );
    }
    if (!warned) {
      warned = true;
      options.onWait?.(holder);
    }
    await sleep(wait, options.signal);
    wait = Math.min(wait * 2, options.maxPollMs ?? 100);
  }
}

/**
 * Put the lock file in place whole: written under a name of its own, then linked to the lock's
 * name (which fails if it exists). A file created empty and written afterwards could be read
 * empty by a waiter; one whose holder stalled there (heavy load) was taken for a dead holder's.
 */
function takeLockFile(path: string, me: LockHolder): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, JSON.stringify(me));
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  } finally {
    unlinkSync(tmp);
  }
}

function readHolder(path: string): LockHolder | 'stale' | undefined {
  let holder: LockHolder;
  try {
    holder = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
  } catch (error) {
    // sess puts a lock file in place whole (takeLockFile): one that does not read is damaged (a
    // power cut, an old sess mid-write). Given a moment, it is taken for a dead holder's.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return lockFileAgeMs(path) > 2000 ? 'stale' : undefined;
  }
  const start = processStartTime(holder.pid);
  if (start === null || (holder.start !== null && start !== holder.start)) return 'stale';
  return holder;
}

function lockFileAgeMs(path: string): number {
  try {
    const { mtimeMs } = statSync(path);
    return Date.now() - mtimeMs;
  } catch {
    return 0;
  }
}

function breakStaleLock(path: string): void {
  // Only one of several waiters may break it: rename is atomic, the losers get ENOENT.
  const aside = `${path}.stale.${process.pid}.${randomBytes(3).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch {
    return;
  }
  // If what we moved aside is a live holder's lock (it was re-created between our read and the
  // rename), put it back.
  const moved = readHolder(aside);
  if (moved !== 'stale' && moved !== undefined && !existsSync(path)) {
    try {
      renameSync(aside, path);
      return;
    } catch {
      /* fall through */
    }
  }
  rmSync(aside, { force: true });
}

function describeHolder(holder: LockHolder | undefined): string {
  return holder ? `\`sess ${holder.command}\` (pid ${holder.pid}, since ${holder.since})` : 'another sess command';
}

export { describeHolder };

/** Copy a file or folder, copy-on-write where the filesystem allows (reflinks on btrfs/xfs, clones on APFS). */
export async function copyTreeCow(from: string, to: string): Promise<void> {
  mkdirSync(dirname(to), { recursive: true });
  if (process.platform === 'darwin') {
    await run('cp', ['-cR', from, to]);
  } else {
    await run('cp', ['-a', '--reflink=auto', from, to]);
  }
}

/** Bytes a folder takes on disk (`du`), 0 when it is gone. */
export async function diskUsage(path: string): Promise<number> {
  const r = await run('du', ['-sk', path], { allowFailure: true });
  const kb = parseInt(r.stdout.split('\t')[0] ?? '', 10);
  return Number.isNaN(kb) ? 0 : kb * 1024;
}
