// A session on a remote Docker engine over ssh. The "remote" is this machine behind a private
// loopback sshd (test/helpers/sshd.ts): its engine is the local one, reached only through the ssh
// master's forwarded socket, and its copy of the worktree lives in another folder (~/.cache/sess/
// worktrees/...), so a bind mount that still named the local worktree would be caught.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addOrigin, eventually, leasesOf, pushPullRequest, sleep, testProxyPort, worktrees, type TestRepo } from '../helpers/sess.js';
import { containersOf, dockerExec, dockerRepo, runningOf, volumeExists } from '../helpers/docker.js';
import { get as viaProxy } from '../helpers/http.js';
import { accepts, alive, startSshd, type TestSshd } from '../helpers/sshd.js';

const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
};

let sshd: TestSshd;
beforeAll(async () => {
  sshd = await startSshd();
  process.env.SESS_SSH_CONFIG = sshd.configFile;
  // sess's own local engine answers nowhere: every docker and compose call of a remote session must
  // go through the connection (the "remote" engine is this machine's, reached only over ssh)
  process.env.SESS_TEST_DOCKER_HOST = 'unix:///nonexistent/docker.sock';
});
afterAll(() => {
  sshd?.stop();
  delete process.env.SESS_SSH_CONFIG;
  delete process.env.SESS_TEST_DOCKER_HOST;
});

/** The ssh masters sess runs to the test sshd (its client connections, by command line). */
function masters(): number[] {
  const out: number[] = [];
  for (const line of execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (m && m[2]!.startsWith('ssh ') && m[2]!.includes(' -M ') && m[2]!.includes(`-p ${sshd.port} `)) out.push(Number(m[1]));
  }
  return out;
}

/** The TCP ports ssh listens on here (the forwards of its masters). */
function forwardedPorts(): number[] {
  const out = execFileSync('ss', ['-Hltnp'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes('"ssh"'))
    .map((l) => Number(/127\.0\.0\.1:(\d+)/.exec(l)?.[1]))
    .filter(Boolean);
}

const BASE = '/root/.cache/sess/worktrees';
const clientOf = (home = process.env.SESS_HOME!) => readFileSync(join(home, 'client-id'), 'utf8').trim();
/** Where the session's copy is there: `<dir>/<client id>/<repo id>/<session>`. */
const remoteCopy = (repo: TestRepo, session: string, home?: string) => join(BASE, clientOf(home), repo.id(), session);
/** A copy of the session there, of any client. */
const anyCopy = (repo: TestRepo, session: string) =>
  existsSync(BASE) && readdirSync(BASE).some((client) => existsSync(join(BASE, client, repo.id(), session)));
const up = (repo: TestRepo, session: string, ...extra: string[]) => repo.sess(['up', session, '--remote-host', sshd.target, ...extra]);

describe('a container session on a remote engine', () => {
  let repo: TestRepo;
  let view: any;
  dockerRepo('remote', 'all', (r) => (repo = r));
  const web = () => `http://127.0.0.1:${view.ports.web}`;
  const store = () => `http://127.0.0.1:${view.ports.store}`;

  it('comes up through the connection: services answer on local forwarded ports and through their stable URL', async () => {
    const r = await up(repo, 'feat-a');
    expect(r.code, r.stderr).toBe(0);
    view = await repo.json(['status', 'feat-a']);
    expect(view.services.map((s: any) => [s.name, s.state])).toEqual([
      ['web', 'running'],
      ['store', 'running'],
    ]);
    expect((await get(`${web()}/index.html`)).text).toBe('v1\n');
    expect((await get(`${store()}/id`)).status).toBe(200);
    const url = view.services.find((s: any) => s.name === 'web').url;
    expect((await viaProxy(`${url}index.html`)).body).toBe('v1\n');
    // the ports are the local ends: ssh listens on them, and nothing is published off the remote's loopback
    expect(forwardedPorts()).toEqual(expect.arrayContaining([view.ports.web, view.ports.store]));
    const c = containersOf(repo, 'feat-a').find((x) => x.name.includes('-web-'))!;
    const inspect = JSON.parse(execFileSync('docker', ['inspect', c.id], { encoding: 'utf8' }))[0];
    expect(inspect.Config.Labels['dev.sess.client']).toMatch(/^[0-9a-f]{16}$/);
    expect(Object.values(inspect.HostConfig.PortBindings).flat()).toEqual([{ HostIp: '127.0.0.1', HostPort: '' }]);
    // the bind mount is of the copy there, not of the worktree here
    const bind = inspect.Mounts.find((m: any) => m.Type === 'bind');
    expect(bind.Source).toBe(join(remoteCopy(repo, 'feat-a'), 'site'));
    expect(masters()).toHaveLength(1);
  });

  it('the container sees the copy: a local change shows only after the next up syncs it', async () => {
    const worktree = join(repo.tmp, 'app.sess', 'feat-a');
    writeFileSync(join(worktree, 'site', 'index.html'), 'v2\n');
    await sleep(300);
    expect((await get(`${web()}/index.html`)).text).toBe('v1\n');
    const r = await up(repo, 'feat-a');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('already up and unchanged'); // a no-op up: still synced
    expect((await get(`${web()}/index.html`)).text).toBe('v2\n');
  });

  it('an env change replaces one service; the other keeps its container', async () => {
    const worktree = join(repo.tmp, 'app.sess', 'feat-a');
    const storeBefore = containersOf(repo, 'feat-a').find((c) => c.name.includes('-store-'))!.id;
    const file = join(worktree, 'sess.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('GREETING: hello', 'GREETING: bonjour'));
    const r = await repo.sess(['up', 'feat-a']); // the machine sticks: no flag this time
    expect(r.code, r.stderr).toBe(0);
    const last = (await repo.json(['history', 'feat-a'])).at(-1);
    expect(last.services.filter((s: any) => s.action === 'replaced').map((s: any) => s.name)).toEqual(['web']);
    const webNow = containersOf(repo, 'feat-a').find((c) => c.name.includes('-web-'))!;
    expect(dockerExec(webNow.name, 'cat', '/tmp/greeting')).toBe('bonjour\n');
    const logs = await repo.sess(['logs', 'feat-a', 'web']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('web says bonjour');
    expect(containersOf(repo, 'feat-a').find((c) => c.name.includes('-store-'))!.id).toBe(storeBefore);
    view = await repo.json(['status', 'feat-a']);
    expect((await get(`${web()}/index.html`)).text).toBe('v2\n'); // forwarded to its new container's port
  });

  it('down closes the connection of its last session; up keeps the volume', async () => {
    const id = (await get(`${store()}/id`)).text;
    const down = await repo.sess(['down', 'feat-a']);
    expect(down.code, down.stderr).toBe(0);
    expect(runningOf(repo, 'feat-a')).toEqual([]);
    await eventually(() => masters().length === 0, 5_000, 'the ssh master to end');
    expect(forwardedPorts()).not.toContain(view.ports.web);
    const again = await repo.sess(['up', 'feat-a']);
    expect(again.code, again.stderr).toBe(0);
    view = await repo.json(['status', 'feat-a']);
    expect((await get(`${store()}/id`)).text).toBe(id);
  });

  it('a master killed by hand: doctor says so, the next up connects again', async () => {
    const [pid] = masters();
    process.kill(pid!, 'SIGKILL');
    await eventually(() => !alive(pid!), 5_000, 'the master to die');
    const doctor = await repo.sess(['doctor', '--json']);
    expect(doctor.code).toBe(1);
    const findings = JSON.parse(doctor.stdout).findings;
    expect(findings.map((f: any) => f.kind)).toContain('dead-connection');
    expect(await accepts(view.ports.web)).toBe(false); // its forward died with it
    const r = await repo.sess(['up', 'feat-a']);
    expect(r.code, r.stderr).toBe(0);
    expect(masters()).toHaveLength(1);
    view = await repo.json(['status', 'feat-a']);
    expect((await get(`${web()}/index.html`)).text).toBe('v2\n');
    expect((await repo.sess(['doctor'])).code).toBe(0);
  });

  it('a session whose state was lost: doctor finds its containers on the remote, --fix removes them, its copy and forwards', async () => {
    const r = await up(repo, 'feat-o');
    expect(r.code, r.stderr).toBe(0);
    const lost = await repo.json(['status', 'feat-o']);
    expect(runningOf(repo, 'feat-o')).toHaveLength(2);
    rmSync(join(repo.root, '.git', 'sess', 'sessions', 'feat-o'), { recursive: true, force: true });
    const found = await repo.sess(['doctor', '--json']);
    const findings = JSON.parse(found.stdout).findings;
    expect(findings.filter((f: any) => f.kind === 'orphan-container').map((f: any) => f.subject)).toEqual([
      expect.stringContaining(`on ${sshd.target}`),
    ]);
    const fix = await repo.sess(['doctor', '--fix']);
    expect(fix.code, fix.stderr).toBe(0);
    expect(containersOf(repo, 'feat-o')).toEqual([]);
    expect(anyCopy(repo, 'feat-o')).toBe(false);
    expect(forwardedPorts()).not.toContain(lost.ports.web);
    expect(runningOf(repo, 'feat-a')).toHaveLength(2); // the other session there is untouched
  });

  it('rm --volumes removes the containers, the volume, the copy there, the forwards and the connection', async () => {
    const storeId = containersOf(repo, 'feat-a').find((c) => c.name.includes('-store-'))!.id;
    const volume = execFileSync('docker', ['inspect', '--format', '{{range .Mounts}}{{.Name}}{{end}}', storeId], {
      encoding: 'utf8',
    }).trim();
    expect(volumeExists(volume)).toBe(true);
    const r = await repo.sess(['rm', 'feat-a', '--volumes', '--force']);
    expect(r.code, r.stderr).toBe(0);
    expect(containersOf(repo, 'feat-a')).toEqual([]);
    expect(anyCopy(repo, 'feat-a')).toBe(false);
    expect(existsSync(join(BASE, clientOf(), repo.id()))).toBe(false); // the repository's folder there went with its last copy
    expect(masters()).toEqual([]);
    expect(forwardedPorts()).not.toContain(view.ports.web);
    expect(volumeExists(volume)).toBe(false);
    expect(leasesOf(repo, 'feat-a')).toEqual({});
  });
});

describe('remote failures leave nothing behind', () => {
  let repo: TestRepo;
  dockerRepo('remote', 'each', (r) => (repo = r));

  const nothingLeft = (session: string) => {
    expect(containersOf(repo, session)).toEqual([]);
    expect(anyCopy(repo, session)).toBe(false);
    expect(masters()).toEqual([]);
    expect(worktrees(repo)).toEqual([]);
    expect(leasesOf(repo, session)).toEqual({});
  };

  /** Commit a change of one of the fixture's files. */
  const commitChange = (name: string, from: string, to: string) => {
    const file = join(repo.root, name);
    writeFileSync(file, readFileSync(file, 'utf8').replace(from, to));
    repo.git('commit', '-qam', `change ${name}`);
  };

  it('a bind source outside the worktree is refused with exit 2 before anything starts', async () => {
    commitChange('compose.yaml', '["./site:/www:ro"]', '["./site:/www:ro", "/etc:/host-etc:ro"]');
    const r = await up(repo, 'feat-bind');
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('/etc is not in the worktree');
    nothingLeft('feat-bind');
  });

  it('a failing fresh up (a service that never gets ready) is rolled back on the remote and here', async () => {
    commitChange('sess.yaml', '/id", timeout: 60', '/nothing-here", timeout: 3');
    const r = await up(repo, 'feat-fail');
    expect(r.code, r.stderr).toBe(1);
    nothingLeft('feat-fail');
  });

  it('Ctrl+C during the compose up leaves nothing on the remote or in the forwards', async () => {
    const run = repo.start(['up', 'feat-int', '--remote-host', sshd.target]);
    let err = '';
    run.child.stderr!.on('data', (d) => (err += d));
    await eventually(() => err.includes('compose up'), 30_000, 'compose up to start');
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    nothingLeft('feat-int');
  });

  it('a host given as an ssh option is refused (exit 2), never run', async () => {
    const r = await repo.sess(['up', 'feat-x', '--remote-host', '-oProxyCommand=touch /tmp/sess-pwned']);
    expect(r.code, r.stderr).toBe(2);
    expect(existsSync('/tmp/sess-pwned')).toBe(false);
  });
});

describe('SIGKILL during a fresh remote up, then doctor --fix', () => {
  let repo: TestRepo;
  dockerRepo('remote', 'each', (r) => (repo = r));

  it.each(['remote-connect:kill', 'remote-sync:kill', 'compose-overlay:kill', 'remote-forwards:kill', 'ready:web:kill'])(
    '%s: nothing left on the remote, in the forwards or here',
    async (point) => {
      const r = await repo.sess(['up', 'k', '--remote-host', sshd.target], { env: { SESS_FAILPOINT: point } });
      expect(r.code, r.stderr).toBe(null);
      const fix = await repo.sess(['doctor', '--fix']);
      expect(fix.stderr).not.toContain('could not');
      expect(containersOf(repo, 'k')).toEqual([]);
      expect(anyCopy(repo, 'k')).toBe(false);
      expect(masters()).toEqual([]);
      expect(worktrees(repo)).toEqual([]);
      expect(leasesOf(repo, 'k')).toEqual({});
    },
  );
});

describe('a pull request sandbox on a remote engine', () => {
  let repo: TestRepo;
  dockerRepo('remote', 'all', (r) => (repo = r));

  it('sess up --pr N --remote-host runs the pull request there, and rm takes it all away', async () => {
    addOrigin(repo);
    pushPullRequest(repo, 7, 'site/index.html', 'pr 7\n');
    const r = await repo.sess(['up', '--pr', '7', '--remote-host', sshd.target]);
    expect(r.code, r.stderr).toBe(0);
    const view = await repo.json(['status', 'pr-7']);
    expect((await get(`http://127.0.0.1:${view.ports.web}/index.html`)).text).toBe('pr 7\n');
    expect(existsSync(join(remoteCopy(repo, 'pr-7'), 'site', 'index.html'))).toBe(true);
    const rm = await repo.sess(['rm', 'pr-7', '--force', '--volumes']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(containersOf(repo, 'pr-7')).toEqual([]);
    expect(anyCopy(repo, 'pr-7')).toBe(false);
    expect(masters()).toEqual([]);
  });
});

describe('two clients of one repository on the same remote', () => {
  let repo: TestRepo;
  dockerRepo('remote', 'all', (r) => (repo = r));

  it('never share a project, a copy there or a look at what runs', async () => {
    // the same repository (its id too) on a second client: a copy of the folder, another $SESS_HOME
    const ra = await up(repo, 'feat-c');
    expect(ra.code, ra.stderr).toBe(0);
    // copied with the repository's id, without A's sessions and worktrees
    const other = join(repo.tmp, 'b', 'app');
    const skip = [join(repo.root, '.git', 'sess', 'sessions'), join(repo.root, '.git', 'worktrees')];
    cpSync(repo.root, other, { recursive: true, filter: (src) => !skip.some((p) => src.startsWith(p)) });
    const home = mkdtempSync(join(tmpdir(), 'sess-client-b-'));
    const b = { cwd: other, env: { SESS_HOME: home, SESS_PROXY_PORT: String(testProxyPort()) } };
    try {
      const rb = await repo.sess(['up', 'feat-c', '--remote-host', sshd.target], b);
      expect(rb.code, rb.stderr).toBe(0);
      expect(clientOf(home)).not.toBe(clientOf());
      const clients = containersOf(repo, 'feat-c').map((c) =>
        execFileSync('docker', ['inspect', '--format', '{{index .Config.Labels "dev.sess.client"}}', c.id], { encoding: 'utf8' }).trim(),
      );
      expect(
        clients.sort(),
        `${rb.stderr}\n${execFileSync('docker', ['ps', '-a', '--format', '{{.Names}} {{.Labels}}'], { encoding: 'utf8' })}`,
      ).toEqual([clientOf(), clientOf(), clientOf(home), clientOf(home)].sort());
      expect(existsSync(remoteCopy(repo, 'feat-c'))).toBe(true);
      expect(existsSync(remoteCopy(repo, 'feat-c', home))).toBe(true);
      // B's down stops B's containers only; A still runs, and A's status sees only its own
      const down = await repo.sess(['down', 'feat-c'], b);
      expect(down.code, down.stderr).toBe(0);
      expect(runningOf(repo, 'feat-c')).toHaveLength(2);
      const view = await repo.json(['status', 'feat-c']);
      expect(view.services.map((s: any) => s.state)).toEqual(['running', 'running']);
      expect((await get(`http://127.0.0.1:${view.ports.web}/index.html`)).text).toBe('v1\n');
      expect(masters()).toHaveLength(1); // B's connection closed with its last session, A's stays
    } finally {
      await repo.sess(['rm', 'feat-c', '--force', '--volumes'], b);
      rmSync(home, { recursive: true, force: true });
    }
    expect(anyCopy(repo, 'feat-c')).toBe(true); // A's
    expect(containersOf(repo, 'feat-c')).toHaveLength(2);
  });
});

describe('a Docker context, and two ups at once', () => {
  let repo: TestRepo;
  dockerRepo('remote', 'all', (r) => (repo = r));

  it('--context NAME reaches the machine of an ssh:// context; two ups at once share one connection', async () => {
    const config = mkdtempSync(join(tmpdir(), 'sess-docker-config-'));
    const env = { DOCKER_CONFIG: config };
    try {
      execFileSync('docker', ['context', 'create', 'sess-remote', '--docker', `host=ssh://root@127.0.0.1:${sshd.port}`], {
        env: { ...process.env, ...env },
        stdio: 'ignore',
      });
      const [a, b] = await Promise.all([
        repo.sess(['up', 'ctx-a', '--context', 'sess-remote'], { env }),
        repo.sess(['up', 'ctx-b', '--context', 'sess-remote'], { env }),
      ]);
      expect(a.code, a.stderr).toBe(0);
      expect(b.code, b.stderr).toBe(0);
      expect(masters()).toHaveLength(1);
      for (const s of ['ctx-a', 'ctx-b']) {
        const view = await repo.json(['status', s]);
        expect((await get(`http://127.0.0.1:${view.ports.web}/index.html`)).text).toBe('v1\n');
        expect(existsSync(remoteCopy(repo, s))).toBe(true);
      }
      // a context that is not ssh:// is refused
      execFileSync('docker', ['context', 'create', 'sess-tcp', '--docker', 'host=tcp://127.0.0.1:1'], {
        env: { ...process.env, ...env },
        stdio: 'ignore',
      });
      const tcp = await repo.sess(['up', 'ctx-c', '--context', 'sess-tcp'], { env });
      expect(tcp.code, tcp.stderr).toBe(2);
      expect(tcp.stderr).toContain('over ssh only');
      const [ra, rb] = await Promise.all([
        repo.sess(['rm', 'ctx-a', '--force', '--volumes']),
        repo.sess(['rm', 'ctx-b', '--force', '--volumes']),
      ]);
      expect(ra.code, ra.stderr).toBe(0);
      expect(rb.code, rb.stderr).toBe(0);
      expect(masters()).toEqual([]);
      expect(containersOf(repo)).toEqual([]);
    } finally {
      rmSync(config, { recursive: true, force: true });
    }
  });
});
