// The main job in host mode: up, a second session beside it, down, up again, inspect, rm.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { alive, branches, eventually, leasesOf, makeRepo, ourProcesses, worktrees, type TestRepo } from '../helpers/sess.js';

async function get(url: string): Promise<string> {
  const res = await fetch(url);
  return res.text();
}

describe('host mode lifecycle', () => {
  let repo: TestRepo;
  beforeAll(() => {
    repo = makeRepo('host-basic');
  });
  afterAll(() => repo.cleanup());

  let first: any;
  it('up creates the worktree, leases ports, starts both services and prints where they are', async () => {
    const r = await repo.sess(['up', 'feature/login']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('feature-login is up');
    expect(r.stdout).toMatch(/web\s+http:\/\/127\.0\.0\.1:\d+\//);
    first = await repo.json(['status', 'feature-login']);
    expect(first).toMatchObject({
      name: 'feature-login',
      branch: 'feature/login',
      mode: 'host',
      status: 'up',
      worktree: join(repo.tmp, 'app.sess', 'feature-login'),
    });
    expect(Object.keys(first.ports).sort()).toEqual(['db', 'web']);
    expect(first.services.map((s: any) => [s.name, s.runtime, s.state])).toEqual([
      ['db', 'host', 'running'],
      ['web', 'host', 'running'],
    ]);
    expect(await get(`http://127.0.0.1:${first.ports.web}/`)).toContain('hello from feature-login');
    expect(branches(repo)).toContain('feature/login');
    const envFile = join(first.worktree, '.env.sess');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(envFile, 'utf8')).toContain(`DB_ADDR=127.0.0.1:${first.ports.db}`);
  });

  it('up --json prints exactly one document with the SPEC shape', async () => {
    const r = await repo.sess(['up', 'feature/login', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    // SPEC's shape, and `url` (the stable URLs: web has an http probe, so it is routed; db is not)
    expect(Object.keys(doc)).toEqual(['name', 'branch', 'mode', 'status', 'worktree', 'ports', 'services', 'url']);
    expect(doc.url).toMatch(/^http:\/\/feature-login\.app(-[0-9a-f]{4})?\.localhost:\d+\/$/);
    expect(doc.services[1]).toEqual({
      name: 'web',
      runtime: 'host',
      state: 'running',
      pid: expect.any(Number),
      ports: { web: first.ports.web },
      url: doc.url.replace('//', '//web.'),
    });
    expect(doc.services[0].url).toBeUndefined();
  });

  let second: any;
  it('a second branch gets its own worktree and other ports', async () => {
    second = await repo.json(['up', 'other']);
    expect(second.worktree).not.toBe(first.worktree);
    const mine = Object.values(first.ports);
    for (const p of Object.values(second.ports)) expect(mine).not.toContain(p);
    expect(await get(`http://127.0.0.1:${second.ports.web}/`)).toContain('hello from other');
  });

  it('works from inside a worktree: ls, status, env, exec, logs', async () => {
    const inside = { cwd: first.worktree };
    const ls = JSON.parse((await repo.sess(['ls', '--json'], inside)).stdout);
    expect(ls.map((s: any) => s.name).sort()).toEqual(['feature-login', 'other']);
    const env = await repo.sess(['env', 'other', '--format', 'json'], inside);
    expect(JSON.parse(env.stdout)).toMatchObject({ SESS_SESSION: 'other', SESS_PORT_WEB: String(second.ports.web) });
    const shell = await repo.sess(['env', 'feature-login', '--format', 'shell']);
    expect(shell.stdout).toContain(`export SESS_BRANCH='feature/login'`);
    const ex = await repo.sess(['exec', 'feature-login', '--', 'sh', '-c', 'echo "$PWD $SESS_PORT_DB"; exit 3'], { cwd: second.worktree });
    expect(ex.code).toBe(3);
    expect(ex.stdout.trim()).toBe(`${first.worktree} ${first.ports.db}`);
    // as a shell reports them: 128 + the signal's number, 127 for a command that is not there
    expect((await repo.sess(['exec', 'other', '--', 'sh', '-c', 'kill -KILL $$'])).code).toBe(137);
    expect((await repo.sess(['exec', 'other', '--', 'sh', '-c', 'kill -HUP $$'])).code).toBe(129);
    const missing = await repo.sess(['exec', 'other', '--', 'no-such-command-here']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('no-such-command-here: command not found');
    const logs = await repo.sess(['logs', 'feature-login', 'web', '--tail', '1'], inside);
    expect(logs.stdout.trim()).toBe(`web | listening on ${first.ports.web}`);
    const all = await repo.sess(['logs', 'feature-login']);
    expect(all.stdout).toMatch(/^db  \| tcp ready on \d+$/m);
    // a last line without its newline yet is shown too
    const logFile = join(repo.root, '.git', 'sess', 'sessions', 'feature-login', 'logs', 'web.log');
    writeFileSync(logFile, readFileSync(logFile, 'utf8') + 'partial line');
    const tail = await repo.sess(['logs', 'feature-login', 'web', '--tail', '2']);
    expect(tail.stdout).toBe(`web | listening on ${first.ports.web}\nweb | partial line\n`);
  });

  it('logs -f follows new output until interrupted', async () => {
    const { child, done } = repo.start(['logs', 'feature-login', 'web', '-f', '--tail', '0']);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    const logFile = join(repo.root, '.git', 'sess', 'sessions', 'feature-login', 'logs', 'web.log');
    // a line appended until it is shown: then it follows (however long this machine took to start it)
    await eventually(
      () => {
        appendFileSync(logFile, 'followed line\n');
        return out.includes('web | followed line');
      },
      20_000,
      'logs -f to show a new line',
    );
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130); // ended by Ctrl+C
  });

  it('down stops the services and keeps worktree and ports; up brings back the same', async () => {
    const pids = first.services.map((s: any) => s.pid);
    const down = await repo.json(['down', 'feature-login']);
    expect(down.status).toBe('down');
    expect(down.services.map((s: any) => s.state)).toEqual(['stopped', 'stopped']);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(ourProcesses(repo.id(), 'feature-login')).toEqual([]);
    expect(existsSync(first.worktree)).toBe(true);
    expect(leasesOf(repo, 'feature-login')).toEqual(first.ports);

    const again = await repo.json(['up', 'feature/login']);
    expect(again.status).toBe('up');
    expect(again.ports).toEqual(first.ports);
    expect(again.worktree).toBe(first.worktree);
    expect(await get(`http://127.0.0.1:${first.ports.web}/`)).toContain('hello from feature-login');
  });

  it('up of a running, unchanged session is a no-op: same pids, history says unchanged', async () => {
    const before = await repo.json(['status', 'feature-login']);
    const r = await repo.sess(['up', 'feature-login']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('already up and unchanged');
    const after = await repo.json(['status', 'feature-login']);
    expect(after.services.map((s: any) => s.pid)).toEqual(before.services.map((s: any) => s.pid));
    const history = await repo.json(['history', 'feature-login']);
    expect(history.at(-1)).toMatchObject({
      trigger: 'resume',
      status: 'completed',
      services: [
        { name: 'db', action: 'unchanged' },
        { name: 'web', action: 'unchanged' },
      ],
    });
  });

  it('a service that died is reported as exited and restarted by up', async () => {
    const before = await repo.json(['status', 'other']);
    process.kill(-before.services[1].pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const st = await repo.json(['status', 'other']);
    expect(st.status).toBe('partial');
    expect(st.services[1].state).toBe('exited');
    const up = await repo.json(['up', 'other']);
    expect(up.status).toBe('up');
    expect(up.services[0].pid).toBe(before.services[0].pid);
  });

  it('every service died: failed, and up brings them all back', async () => {
    const before = await repo.json(['status', 'other']);
    for (const s of before.services) process.kill(-s.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const st = await repo.json(['status', 'other']);
    expect(st.status).toBe('failed');
    expect(st.services.map((s: any) => s.state)).toEqual(['exited', 'exited']);
    expect((await repo.json(['ls'])).find((s: any) => s.name === 'other').status).toBe('failed');
    const up = await repo.json(['up', 'other']);
    expect(up.status).toBe('up');
  });

  it('rm refuses uncommitted changes and unpushed commits, then --force removes everything', async () => {
    writeFileSync(join(second.worktree, 'notes.txt'), 'wip\n');
    let r = await repo.sess(['rm', 'other']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('uncommitted changes: notes.txt');
    expect(existsSync(second.worktree)).toBe(true);
    expect((await repo.json(['status', 'other'])).status).toBe('up');

    repo.git('-C', second.worktree, 'add', 'notes.txt');
    repo.git('-C', second.worktree, 'commit', '-qm', 'notes');
    r = await repo.sess(['rm', 'other']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('1 commit(s) on other that no other branch or remote has');
    expect(leasesOf(repo, 'other')).toEqual(second.ports);

    r = await repo.sess(['rm', 'other', '--force']);
    expect(r.code).toBe(0);
    expect(ourProcesses(repo.id(), 'other')).toEqual([]);
    expect(worktrees(repo)).toEqual([first.worktree]);
    expect(leasesOf(repo, 'other')).toEqual({});
    // its commit is not thrown away with the worktree: the branch stays
    expect(branches(repo)).toContain('other');
  });

  it('rm of a clean session removes services, worktree, the branch it created and the leases', async () => {
    const r = await repo.sess(['rm', 'feature-login']);
    expect(r.code, r.stderr).toBe(0);
    expect(worktrees(repo)).toEqual([]);
    expect(branches(repo)).not.toContain('feature/login');
    expect(leasesOf(repo, 'feature-login')).toEqual({});
    expect(ourProcesses(repo.id())).toEqual([]);
    expect(await repo.json(['ls'])).toEqual([]);
  });
});

describe('hooks are interpolated like commands', () => {
  let repo: TestRepo;
  afterAll(() => repo.cleanup());

  it('${ports.*}, ${svc.*} and ${session.*} in hooks; branch text reaches the shell only through the env', async () => {
    repo = makeRepo('host-hooks');
    const branch = 'evil$(touch${IFS}pwned)';
    const r = await repo.sess(['up', '--json', '--', branch]);
    expect(r.code, r.stderr).toBe(0);
    const view = JSON.parse(r.stdout);
    const out = join(repo.root, '.git', 'sess', 'sessions', view.name, 'hooks.out');
    const line = (hook: string) => `${hook} ${view.ports.web} 127.0.0.1:${view.ports.db} ${branch} ${view.worktree}`;
    expect(readFileSync(out, 'utf8').trim().split('\n')).toEqual([line('post_create'), line('pre_spawn'), line('post_up')]);
    // the env file, sourced by a shell, gives the branch back as text and runs nothing
    const sourced = execFileSync('sh', ['-c', 'set -a; . ./.env.sess; printf %s "$SESS_BRANCH"'], { cwd: view.worktree, encoding: 'utf8' });
    expect(sourced).toBe(branch);
    expect((await repo.sess(['down', view.name])).code).toBe(0);
    expect(readFileSync(out, 'utf8').trim().split('\n').at(-1)).toBe(line('pre_down'));
    expect(existsSync(join(view.worktree, 'pwned'))).toBe(false);
    expect(existsSync(join(repo.root, 'pwned'))).toBe(false);
  });
});
