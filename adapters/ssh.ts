// ssh and rsync to another machine, through one connection per machine: an ssh master
// (ControlMaster) that the other calls share (`-S <control socket>`). Argument arrays only; the
// one command line the remote shell reads (`sshRun`) is quoted here, argument by argument.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { WorkError } from '../common/errors.js';
import { debug } from './log.js';
import { quoteCommand, run, type RunResult } from './process.js';

export interface SshTarget {
  user?: string;
  host: string;
  port?: number;
}

/** One machine through its master: the target, the master's control socket, the ssh config (`SESS_SSH_CONFIG`). */
export interface SshLink {
  target: SshTarget;
  control: string;
  config?: string;
}

const USER = /^[A-Za-z0-9._][A-Za-z0-9._-]{0,63}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*|\[[0-9A-Fa-f:.]+\])$/;

/**
 * `user@box`, `box`, `user@box:2222`, `user@[::1]:2222`: anything else is undefined. Never a word
 * ssh would take for an option (`-oProxyCommand=...`) or a shell would take apart.
 */
export function parseSshTarget(text: string): SshTarget | undefined {
  const m = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:@]+)(?::(\d{1,5}))?$/.exec(text);
  if (!m) return undefined;
  const [, user, host, port] = m;
  if (user !== undefined && !USER.test(user)) return undefined;
  if (!HOST.test(host!)) return undefined;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return undefined;
  return { ...(user ? { user } : {}), host: host!.replace(/^\[|\]$/g, ''), ...(port ? { port: Number(port) } : {}) };
}

export function targetText(t: SshTarget): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `${t.user ? `${t.user}@` : ''}${host}${t.port ? `:${t.port}` : ''}`;
}

const destination = (t: SshTarget) => (t.user ? `${t.user}@${t.host}` : t.host);

/** The options every ssh call of a link takes: its config, its master's socket, its port, no prompts. */
function sshOptions(link: SshLink): string[] {
  return [
    ...(link.config ? ['-F', link.config] : []),
    '-S',
    link.control,
    ...(link.target.port ? ['-p', String(link.target.port)] : []),
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=10',
  ];
}

function ssh(link: SshLink, args: string[], options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<RunResult> {
  return run('ssh', [...sshOptions(link), ...args, '--', destination(link.target)], {
    allowFailure: true,
    timeoutMs: options.timeoutMs ?? 15_000,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/** The pid of the link's master, if one answers on its socket. */
export async function masterPid(link: SshLink): Promise<number | undefined> {
  const r = await ssh(link, ['-O', 'check'], { timeoutMs: 5_000 });
  const m = /pid=(\d+)/.exec(r.stderr + r.stdout);
  return r.exitCode === 0 && m ? Number(m[1]) : undefined;
}

/**
 * Start the link's master: authenticated, its socket forwards in place (`local` unix socket ->
 * `remote` one), then in the background (`-f`), outliving this process (`ControlPersist`), in a
 * process group of its own (a Ctrl+C of sess's group does not reach it). Its output goes to `log`.
 */
export async function startMaster(
  link: SshLink,
  socket: { local: string; remote: string },
  log: string,
  timeoutMs = 30_000,
): Promise<void> {
  const args = [
    ...sshOptions(link),
    '-M',
    '-f',
    '-N',
    '-o',
    'ControlPersist=yes',
    '-o',
    'ExitOnForwardFailure=yes',
    '-o',
    'StreamLocalBindUnlink=yes',
    '-o',
    'ServerAliveInterval=15',
    '-o',
    'ServerAliveCountMax=3',
    '-L',
    `${socket.local}:${socket.remote}`,
    '--',
    destination(link.target),
  ];
  debug(`spawn ${quoteCommand('ssh', args)} (master)`);
  const fd = openSync(log, 'a', 0o600);
  try {
    // the backgrounded master keeps what it inherits: never a pipe of ours (we would wait for it)
    const child = spawn('ssh', args, { stdio: ['ignore', fd, fd], detached: true });
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGTERM');
        } catch {
          /* gone */
        }
        reject(new WorkError(`ssh to ${targetText(link.target)} did not connect within ${timeoutMs / 1000}s`, { hint: `see ${log}` }));
      }, timeoutMs);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new WorkError(`cannot run ssh: ${error.message}`, { hint: 'install openssh-client' }));
      });
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    if (code !== 0) {
      const said = readFileSync(log, 'utf8').trim().split('\n').slice(-5).join('\n');
      throw new WorkError(`ssh to ${targetText(link.target)} failed (exit ${code})${said ? `: ${said}` : ''}`, {
        hint: 'check that `ssh` reaches it without a prompt (a key in the agent or in SESS_SSH_CONFIG), and that Docker runs there',
      });
    }
  } finally {
    closeSync(fd);
  }
}

/** Ask the master to end (its forwards end with it). */
export async function stopMaster(link: SshLink): Promise<void> {
  await ssh(link, ['-O', 'exit'], { timeoutMs: 5_000 });
}

const tcpSpec = (local: number, remote: number) => `127.0.0.1:${local}:127.0.0.1:${remote}`;

/** Forward a local port (on 127.0.0.1) to a port of the remote's loopback, through the master. */
export async function forwardPort(link: SshLink, local: number, remote: number): Promise<void> {
  const r = await ssh(link, ['-O', 'forward', '-L', tcpSpec(local, remote)]);
  if (r.exitCode !== 0) {
    throw new WorkError(`ssh could not forward 127.0.0.1:${local} to port ${remote} of ${targetText(link.target)}: ${r.stderr.trim()}`);
  }
}

export async function cancelForward(link: SshLink, local: number, remote: number): Promise<void> {
  await ssh(link, ['-O', 'cancel', '-L', tcpSpec(local, remote)], { timeoutMs: 5_000 });
}

/** Single quotes for the remote shell. */
const shellQuote = (a: string) => `'${a.replaceAll("'", `'\\''`)}'`;

/** Run a command of ours on the remote (argv, each argument quoted for its shell), through the master. */
export async function sshRun(
  link: SshLink,
  argv: string[],
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<RunResult> {
  return run('ssh', [...sshOptions(link), '--', destination(link.target), argv.map(shellQuote).join(' ')], {
    allowFailure: true,
    timeoutMs: options.timeoutMs ?? 30_000,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/**
 * rsync a local folder's content into a remote folder (made if missing), through the master:
 * `filters` are rsync filter rules, in order; what they exclude is neither sent nor deleted there.
 */
export async function rsyncTo(
  link: SshLink,
  from: string,
  to: string,
  filters: string[],
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  // rsync splits -e on spaces, keeping what single quotes hold together
  const e = ['ssh', ...sshOptions(link)].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : shellQuote(a))).join(' ');
  const r = await run(
    'rsync',
    [
      '--archive',
      '--delete',
      '--mkpath',
      '--protect-args',
      '-e',
      e,
      ...filters.map((f) => `--filter=${f}`),
      `${from.replace(/\/$/, '')}/`,
      `${destination(link.target)}:${to}/`,
    ],
    { allowFailure: true, timeoutMs: options.timeoutMs ?? 600_000, ...(options.signal ? { signal: options.signal } : {}) },
  );
  if (r.exitCode !== 0) {
    throw new WorkError(`rsync to ${targetText(link.target)}:${to} failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`, {
      hint: 'sess needs rsync on both machines',
    });
  }
}
