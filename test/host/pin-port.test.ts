// `sess up --port NAME=N`: exactly that port for the session, sticky like --host; a port leased
// by another session or bound by another process is exit 1 naming the holder, an unknown name exit 2.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import getPort from 'get-port';
import { leasesOf, makeRepo, ourProcesses, worktrees, type TestRepo } from '../helpers/sess.js';

let repo: TestRepo;
beforeEach(() => {
  repo = makeRepo('host-basic');
});
afterEach(() => repo.cleanup());

const free = () => getPort({ host: '127.0.0.1' });
const health = async (port: number) => (await fetch(`http://127.0.0.1:${port}/health`)).text();
/** nothing of a session that failed to start is left */
async function nothingOf(session: string) {
  expect(ourProcesses(repo.id(), session)).toEqual([]);
  expect(leasesOf(repo, session)).toEqual({});
  expect(worktrees(repo).filter((w) => w.endsWith(`/${session}`))).toEqual([]);
  expect(existsSync(join(repo.root, '.git', 'sess', 'sessions', session, 'session.json'))).toBe(false);
  expect((await repo.json(['ls'])).map((s: any) => s.name)).not.toContain(session);
}

describe('sess up --port', () => {
  it('leases exactly that port, and it sticks: down and a plain up keep it; a new pin moves it', async () => {
    const port = await free();
    const view = await repo.json(['up', 'pin', '--port', `web=${port}`]);
    expect(view.ports.web).toBe(port);
    expect(view.services.find((s: any) => s.name === 'web').ports.web).toBe(port);
    expect(await health(port)).toBe('ok\n');
    expect(leasesOf(repo, 'pin').web).toBe(port);
    expect((await repo.sess(['down', 'pin'])).code).toBe(0);
    const again = await repo.json(['up', 'pin']);
    expect(again.ports.web).toBe(port);
    expect(await health(port)).toBe('ok\n');
    // pinned again to another port: the service moves there, the old lease goes
    const other = await free();
    const moved = await repo.json(['up', 'pin', '--port', `web=${other}`]);
    expect(moved.ports.web).toBe(other);
    expect(await health(other)).toBe('ok\n');
    expect(leasesOf(repo, 'pin')).toEqual({ web: other, db: moved.ports.db });
    const plain = await repo.json(['up', 'pin']);
    expect(plain.ports.web).toBe(other);
  });

  it('a pin that fails after its lease gives the name its earlier port back', async () => {
    const view = await repo.json(['up', 'pin']);
    const target = await free();
    const r = await repo.sess(['up', 'pin', '--port', `web=${target}`], { env: { SESS_FAILPOINT: 'ports' } });
    expect(r.code).toBe(1);
    expect(leasesOf(repo, 'pin')).toEqual(view.ports);
    const st = await repo.json(['status', 'pin']);
    expect(st.ports).toEqual(view.ports);
    expect(await health(view.ports.web)).toBe('ok\n');
    // and the pin did not stick
    expect((await repo.json(['up', 'pin'])).ports.web).toBe(view.ports.web);
  });

  it('a pin whose replacement fails: the previous instance serves on its port, which stays leased until an up completes', async () => {
    const view = await repo.json(['up', 'pin']);
    const earlier = view.ports.web;
    const target = await free();
    const r = await repo.sess(['up', 'pin', '--port', `web=${target}`], { env: { SESS_FAILPOINT: 'ready:web' } });
    expect(r.code).toBe(1);
    // db was replaced too (every service gets SESS_PORT_WEB): it keeps its new definition
    expect(r.stderr).toContain('ended partially_failed');
    expect(await health(earlier)).toBe('ok\n');
    // no other session can lease the port the previous web still listens on
    expect(leasesOf(repo, 'pin')).toMatchObject({ web: target, 'moved:web': earlier });
    const after = await repo.json(['up', 'pin']);
    expect(after.ports.web).toBe(target);
    expect(await health(target)).toBe('ok\n');
    expect(leasesOf(repo, 'pin')).toEqual({ web: target, db: view.ports.db });
  });

  it('a port another session leases: exit 1 naming that session, nothing left behind', async () => {
    const port = await free();
    expect((await repo.sess(['up', 'first', '--port', `db=${port}`])).code).toBe(0);
    const r = await repo.sess(['up', 'second', '--port', `web=${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`port ${port} is leased by session first (db) of ${repo.root}`);
    await nothingOf('second');
    const json = await repo.sess(['up', 'second', '--port', `web=${port}`, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).error.message).toContain('session first');
  });

  let server: Server | undefined;
  afterAll(() => server?.close());
  it('a port some other process listens on: exit 1 naming it, nothing left behind', async () => {
    const port = await free();
    server = createServer();
    await new Promise<void>((res) => server!.listen(port, '127.0.0.1', res));
    const r = await repo.sess(['up', 'third', '--port', `web=${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`port ${port} is in use by pid ${process.pid}`);
    await nothingOf('third');
  });

  it('an unknown port name or a malformed pin: exit 2, nothing made', async () => {
    const r = await repo.sess(['up', 'fourth', '--port', 'nope=3000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--port: no such named port: nope');
    for (const bad of ['web', 'web=0', 'web=70000', 'web=x']) {
      const b = await repo.sess(['up', 'fourth', '--port', bad]);
      expect(b.code, bad).toBe(2);
    }
    await nothingOf('fourth');
  });
});
