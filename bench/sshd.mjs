// A private sshd on a loopback port for the remote bench: the "remote" machine is this one, reached
// as `root@127.0.0.1:<port>` with SESS_SSH_CONFIG set to the client config written here. The same
// steps serve the tests too (test/helpers/sshd.ts gives them types), in plain Node for a bench that loads no TypeScript.
// Needs root (sshd's privilege separation, root's login) and /usr/sbin/sshd.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SSHD = '/usr/sbin/sshd';
const READY_MS = 15_000;

/** Starts the sshd; resolves to `{ port, target, configFile, dir, pid, stop() }`. */
export async function startSshd() {
  // a short dir (/tmp/sess-sshd-XXXXXX): ssh's ControlPath and forwarded sockets have length limits
  const dir = mkdtempSync(join(tmpdir(), 'sess-sshd-'));
  chmodSync(dir, 0o700);
  try {
    return await start(dir);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function start(dir) {
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  for (const key of [hostKey, clientKey]) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'sess-bench', '-f', key]);
  const authorizedKeys = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, readFileSync(`${clientKey}.pub`), { mode: 0o600 });

  const port = await freePort();
  const pidFile = join(dir, 'sshd.pid');
  const sshdConfig = join(dir, 'sshd_config');
  writeFileSync(
    sshdConfig,
    [
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${pidFile}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'AllowTcpForwarding yes',
      'AllowStreamLocalForwarding yes',
      'LogLevel ERROR',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  const configFile = join(dir, 'ssh_config');
  writeFileSync(
    configFile,
    [
      'Host 127.0.0.1',
      `  IdentityFile ${clientKey}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
      '  StrictHostKeyChecking accept-new',
      '  BatchMode yes',
      '  LogLevel ERROR',
      '',
    ].join('\n'),
  );

  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation dir
  const logFile = join(dir, 'sshd.log');
  const log = openSync(logFile, 'a');
  const child = spawn(SSHD, ['-D', '-e', '-f', sshdConfig], { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  const pid = child.pid;
  let exited;
  child.on('exit', (code, signal) => (exited = `sshd exited (${signal ?? code})`));
  child.on('error', (err) => (exited = `sshd did not start: ${err.message}`));
  const stop = () => {
    if (pid !== undefined) killTree(pid);
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + READY_MS;
  let last = '';
  for (;;) {
    if (exited) last = exited;
    else if (!(await accepts(port))) last = `port ${port} refuses connections`;
    else {
      const r = await run('ssh', ['-F', configFile, '-p', String(port), 'root@127.0.0.1', 'true']);
      if (r.ok) break;
      last = `ssh ... true failed: ${r.stderr.trim()}`;
    }
    if (exited || Date.now() > deadline) {
      const sshdLog = readLog(logFile);
      stop();
      throw new Error(`bench sshd on 127.0.0.1:${port} not ready within ${READY_MS / 1000}s: ${last}\n--- sshd log ---\n${sshdLog}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, target: `root@127.0.0.1:${port}`, configFile, dir, pid, stop };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Whether a TCP connection to 127.0.0.1:port is accepted. */
export function accepts(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(false));
  });
}

function run(cmd, args) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 5000 }, (err, _stdout, stderr) => resolve({ ok: !err, stderr: String(stderr || err?.message || '') }));
  });
}

function readLog(file) {
  try {
    return readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '(no log)';
  }
}

export function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // a zombie (exited, not yet reaped by its parent) counts as gone
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The processes below pid (children, their children...), from /proc. */
function descendants(pid) {
  const parents = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      /* gone */
    }
  }
  const found = [];
  const queue = [pid];
  while (queue.length) for (const c of parents.get(queue.shift()) ?? []) (found.push(c), queue.push(c));
  return found;
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** SIGTERM the sshd and its session processes, SIGKILL whatever is left after 3 s. */
function killTree(pid) {
  const all = [pid, ...descendants(pid)];
  for (const p of all) signal(p, 'SIGTERM');
  const deadline = Date.now() + 3000;
  while (all.some(alive) && Date.now() < deadline) sleepSync(50);
  for (const p of all) if (alive(p)) signal(p, 'SIGKILL');
}
