// What /proc says of processes (Linux): who is alive (pid + start time, so a recycled pid is never
// taken for ours), which group a process is in, which carry a marker in their environment, who holds
// a port; and stopping a process group.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { sleep } from '../common/sleep.js';

interface Stat {
  /** R, S, D, Z (zombie), X (dead)... */
  state: string;
  pgid: number;
  /** start time in clock ticks since boot */
  start: string;
}

/** /proc/PID/stat, the three fields sess reads; undefined when the process is gone. */
function readStat(pid: number | string): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // the command name (field 2) may hold spaces and parentheses: the fields after it are counted from its end
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', pgid: Number(fields[2]), start: fields[19] ?? '' };
}

const running = (stat: Stat | undefined): stat is Stat => !!stat && stat.state !== 'Z' && stat.state !== 'X';

/**
 * Start time of a process (/proc/PID/stat field 22): with the pid it identifies a process for good,
 * so a recycled pid is never taken for ours. null when the process is gone or a zombie.
 */
export function processStartTime(pid: number): string | null {
  const stat = readStat(pid);
  return running(stat) ? stat.start || null : null;
}

/** Process group of a process (/proc/PID/stat field 5), or null when it is gone. */
export function processGroupOf(pid: number): number | null {
  return readStat(pid)?.pgid ?? null;
}

export function isProcessAlive(pid: number, start: string): boolean {
  const now = processStartTime(pid);
  return now !== null && (start === 'unknown' || now === start);
}

function groupAlive(pgid: number): boolean {
  // cheap first: a running leader means a running group
  if (processStartTime(pgid) !== null) return true;
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  // kill(0) succeeds on zombies (an orphan's leader may never be reaped here): only members that
  // still run count, which takes a look through /proc
  return processesInGroup(pgid).length > 0;
}

export function processesInGroup(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(entry);
    if (running(stat) && stat.pgid === pgid) members.push(Number(entry));
  }
  return members;
}

/**
 * Stop a service's process group: `signal`, up to `graceMs` for it to go, then SIGKILL. Does nothing
 * if the pid now belongs to another process.
 */
export async function stopProcessGroup(
  pid: number,
  start: string,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<'stopped' | 'killed' | 'gone'> {
  const now = processStartTime(pid);
  // A live leader with another start time means the pid was recycled: not ours. A dead leader can
  // leave members of its group behind; the kernel does not reuse a pid while its group exists.
  if (now !== null && start !== 'unknown' && now !== start) return 'gone';
  if (!groupAlive(pid)) return 'gone';
  sendToGroup(pid, signal);
  const deadline = Date.now() + graceMs;
  let wait = 2;
  while (Date.now() < deadline) {
    if (!groupAlive(pid)) return 'stopped';
    await sleep(wait);
    wait = Math.min(wait * 2, 50);
  }
  sendToGroup(pid, 'SIGKILL');
  for (let i = 0; i < 100 && groupAlive(pid); i++) await sleep(20);
  return 'killed';
}

function sendToGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* group already gone */
  }
}

/** Processes whose environment carries `NAME=value...` (prefix match): how doctor finds ours. */
export function processesWithEnv(name: string, valuePrefix: string): { pid: number; value: string }[] {
  const found: { pid: number; value: string }[] = [];
  const needle = `${name}=${valuePrefix}`;
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
    } catch {
      continue;
    }
    if (!environ.includes(needle)) continue;
    const item = environ.split('\0').find((kv) => kv.startsWith(needle));
    if (item && processStartTime(Number(entry)) !== null) {
      found.push({ pid: Number(entry), value: item.slice(name.length + 1) });
    }
  }
  return found;
}

/** Which process listens on a TCP port, when /proc lets us see it (for error messages). */
export function findPortHolder(port: number): number | null {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const localPort = parseInt(cols[1]!.split(':')[1]!, 16);
      if (localPort === port && cols[3] === '0A') inodes.add(cols[9]!);
    }
  }
  if (inodes.size === 0) return null;
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    for (const fd of safeReaddir(`/proc/${entry}/fd`)) {
      try {
        const link = readlinkSync(`/proc/${entry}/fd/${fd}`);
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (m && inodes.has(m[1]!)) return Number(entry);
      } catch {
        /* raced */
      }
    }
  }
  return null;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * End processes whose command line holds these arguments in a row (a `compose -p PROJECT ...` that
 * a killed sess left running). Returns how many there were.
 */
export async function killProcessesWithArgs(args: string[]): Promise<number> {
  const needle = args.join('\0');
  const found: number[] = [];
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'latin1');
      if (`\0${cmdline}`.includes(`\0${needle}\0`) && processStartTime(Number(entry)) !== null) found.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  for (const pid of found) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  for (let i = 0; i < 50 && found.some((p) => processStartTime(p) !== null); i++) await sleep(50);
  for (const pid of found) {
    try {
      if (processStartTime(pid) !== null) process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return found.length;
}
