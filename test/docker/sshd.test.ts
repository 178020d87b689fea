// The test sshd of the remote-engine tests (test/helpers/sshd.ts), and the ssh and rsync command
// lines sess uses against a remote machine: a ControlMaster that forwards the remote Docker socket,
// its check, extra port forwards and exit through the master, rsync over the master. The "remote"
// machine is this one (root@127.0.0.1), so its engine is the local one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import getPort from 'get-port';
import { accepts, alive, startSshd, type TestSshd } from '../helpers/sshd.js';

function sh(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** Runs with stdio 'ignore' and resolves on exit: `ssh -f` leaves a background master behind. */
function detachedExit(cmd: string, args: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

describe('test sshd', () => {
  let sshd: TestSshd;
  let ssh: string[]; // ssh -F cfg -p port
  let ctl: string;
  const remoteDir = `/tmp/sess-sshd-rsync-${process.pid}`;

  beforeAll(async () => {
    sshd = await startSshd();
    ssh = ['-F', sshd.configFile, '-p', String(sshd.port)];
    ctl = join(sshd.dir, 'ctl');
  });
  afterAll(() => {
    if (ctl && existsSync(ctl)) spawnSync('ssh', ['-S', ctl, '-O', 'exit', 'root@127.0.0.1'], { stdio: 'ignore' });
    sshd?.stop();
    rmSync(remoteDir, { recursive: true, force: true });
  });

  it('runs a command as root@127.0.0.1 with the client config', async () => {
    expect(sshd.target).toBe(`root@127.0.0.1:${sshd.port}`);
    const r = await sh('ssh', [...ssh, 'root@127.0.0.1', 'echo', 'hi']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('hi\n');
  });

  it('carries a ControlMaster that forwards the remote Docker socket', async () => {
    const sock = join(sshd.dir, 'docker.sock');
    const started = Date.now();
    const code = await detachedExit('ssh', [
      ...ssh,
      '-M',
      '-S',
      ctl,
      '-o',
      'ControlPersist=yes',
      '-o',
      'StreamLocalBindUnlink=yes',
      '-f',
      '-N',
      '-L',
      `${sock}:/var/run/docker.sock`,
      'root@127.0.0.1',
    ]);
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(existsSync(sock)).toBe(true);

    const version = await sh('docker', ['-H', `unix://${sock}`, 'version', '--format', '{{.Server.Version}}']);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+/);

    const check = await sh('ssh', ['-S', ctl, '-O', 'check', 'root@127.0.0.1']);
    expect(check.code, check.stderr).toBe(0);
    const pid = Number(/pid=(\d+)/.exec(check.stderr)?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(true);

    // an extra forward through the running master: a local port to the sshd's own port
    const local = await getPort({ host: '127.0.0.1' });
    const fwd = await sh('ssh', ['-S', ctl, '-O', 'forward', '-L', `127.0.0.1:${local}:127.0.0.1:${sshd.port}`, 'root@127.0.0.1']);
    expect(fwd.code, fwd.stderr).toBe(0);
    expect(await accepts(local)).toBe(true);
    const cancel = await sh('ssh', ['-S', ctl, '-O', 'cancel', '-L', `127.0.0.1:${local}:127.0.0.1:${sshd.port}`, 'root@127.0.0.1']);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(await accepts(local)).toBe(false);

    // rsync over the master (its -e is ssh with the same config, port and control socket)
    const src = join(sshd.dir, 'src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'a.txt'), 'A');
    writeFileSync(join(src, 'sub', 'b.txt'), 'B');
    const rsync = await sh('rsync', [
      '-a',
      '-e',
      `ssh -F ${sshd.configFile} -p ${sshd.port} -S ${ctl}`,
      `${src}/`,
      `root@127.0.0.1:${remoteDir}/`,
    ]);
    expect(rsync.code, rsync.stderr).toBe(0);
    expect(readFileSync(join(remoteDir, 'sub', 'b.txt'), 'utf8')).toBe('B');

    const exit = await sh('ssh', ['-S', ctl, '-O', 'exit', 'root@127.0.0.1']);
    expect(exit.code, exit.stderr).toBe(0);
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    expect(alive(pid)).toBe(false);
    expect(existsSync(ctl)).toBe(false);
    const after = await sh('ssh', ['-S', ctl, '-O', 'check', 'root@127.0.0.1']);
    expect(after.code).not.toBe(0);
  });

  it('stop() ends the sshd and frees its port', async () => {
    // a session open while stopping: its per-connection sshd goes too
    const session = spawn('ssh', [...ssh, 'root@127.0.0.1', 'sleep', '60'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 1000));
    const { pid, port, dir } = sshd;
    sshd.stop();
    expect(alive(pid)).toBe(false);
    expect(await accepts(port)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    const code = await new Promise((r) => (session.exitCode !== null ? r(session.exitCode) : session.once('exit', r)));
    expect(code).not.toBe(0);
  });
});
