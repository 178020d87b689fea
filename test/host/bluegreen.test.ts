// Blue-green replacement behind the stable URL, end to end: the real CLI, the real proxy, real HTTP
// services and a client that keeps asking through the session's URL while a release replaces the
// service. The faults (SIGKILL before and after the switch is decided, Ctrl+C in the steady wait
// and in the switch) must each leave one consistent session: blue serving as before, or green
// serving and blue gone; never a candidate process, a green lease or a stale route behind.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  alive,
  eventually,
  isolatedLedger,
  leasesOf,
  makeRepo,
  ourProcesses,
  sleep,
  worktrees,
  editConfig,
  type TestRepo,
} from '../helpers/sess.js';
import { get, quietPort } from '../helpers/http.js';
import { closeServersAfterEach, doc, serve, toolError } from '../helpers/mcp.js';

const home = isolatedLedger();
let proxyPort: number;
beforeAll(async () => {
  proxyPort = await quietPort();
  process.env.SESS_PROXY_PORT = String(proxyPort);
});
afterAll(async () => {
  const r = makeRepo('host-bluegreen');
  await r.sess(['proxy', 'stop']);
  await r.cleanup();
  delete process.env.SESS_PROXY_PORT;
  rmSync(home, { recursive: true, force: true });
});

let repo: TestRepo;
let wt: string;
let apiUrl: string;
beforeEach(async () => {
  repo = makeRepo('host-bluegreen');
  const view = await repo.json(['up', 'bg']);
  wt = view.worktree;
  apiUrl = view.services.find((s: any) => s.name === 'api').url;
  // each test's repository is another `app`: the first one has the label, the others app-<id>
  expect(apiUrl).toMatch(new RegExp(`^http://api\\.bg\\.app(-[0-9a-f]{4})?\\.localhost:${proxyPort}/$`));
  expect(view.url).toBe(apiUrl.replace('//api.', '//'));
});
afterEach(() => repo.cleanup());

const edit = (from: string, to: string) => editConfig(wt, from, to);
const greenUrl = () => apiUrl.replace('//api.', '//green.api.');
const manual = () => edit('replace: blue-green', 'replace: blue-green\n    promote: { gate: manual }');
const pidOf = async (service: string) => (await repo.json(['status', 'bg'])).services.find((s: any) => s.name === service).pid as number;
const body = async (url = apiUrl) => (await get(url)).body;
const lastRelease = async () => (await repo.json(['history', 'bg'])).at(-1);
const greenLeases = () => Object.keys(leasesOf(repo, 'bg')).filter((n) => n.startsWith('green:'));
/** The api instances that run: one process group each (a service's pid leads its group: sh, then node). */
const apiProcesses = () => [
  ...new Set(
    ourProcesses(repo.id(), 'bg/api').map((pid) => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    }),
  ),
];

/** Ask through `url` about 50 times a second until stopped: every status and body, in order. */
function requestLoop(url: string) {
  const seen: { status: number; body: string }[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      try {
        const r = await get(url, { timeoutMs: 5000 });
        seen.push({ status: r.status, body: r.body });
      } catch (error) {
        seen.push({ status: 0, body: String(error) });
      }
      await sleep(20);
    }
  })();
  return {
    seen,
    async stop() {
      running = false;
      await done;
      return seen;
    },
  };
}

/** How many times the answers change from one version to another (a clean switch changes once). */
const switches = (seen: { body: string }[]) =>
  seen.map((s) => /\((v\d)\)/.exec(s.body)?.[1]).filter((v, i, all) => v !== undefined && i > 0 && v !== all[i - 1]).length;

describe('blue-green', () => {
  it('a request loop through the stable URL sees no failure and switches once; recreate, the same change, fails requests', async () => {
    const blue = await pidOf('api');
    const portsBefore = leasesOf(repo, 'bg');
    edit('GREETING: "v1"', 'GREETING: "v2"');
    const loop = requestLoop(apiUrl);
    await sleep(300);
    const r = await repo.sess(['up', 'bg']);
    await sleep(300);
    const seen = await loop.stop();
    expect(r.code, r.stderr).toBe(0);
    expect(seen.filter((s) => s.status !== 200)).toEqual([]);
    expect(seen.length).toBeGreaterThan(10);
    expect(seen[0]!.body).toContain('(v1)');
    expect(seen.at(-1)!.body).toContain('(v2)');
    expect(switches(seen)).toBe(1);
    // blue is gone, green holds the service's port name, no green lease is left
    expect(alive(blue)).toBe(false);
    const green = await pidOf('api');
    expect(green).not.toBe(blue);
    expect(greenLeases()).toEqual([]);
    expect(leasesOf(repo, 'bg').api).not.toBe(portsBefore.api);
    expect(leasesOf(repo, 'bg').web).toBe(portsBefore.web);
    expect(apiProcesses()).toEqual([green]);
    const release = await lastRelease();
    expect(release.status).toBe('completed');
    expect(release.services.find((s: any) => s.name === 'api')).toMatchObject({ action: 'replaced', strategy: 'blue-green' });
    // the env file: the URL did not move, the port did
    const env = readFileSync(join(wt, '.env.sess'), 'utf8');
    expect(env).toContain(`API_URL=${apiUrl.replace(/\/$/, '')}`);
    expect(env).toContain(`API_PORT=${leasesOf(repo, 'bg').api}`);

    // the same change under recreate: the old one stops before the new one answers
    edit('replace: blue-green', 'replace: recreate');
    expect((await repo.sess(['up', 'bg'])).code).toBe(0); // web reads the moved port: it is replaced now
    edit('GREETING: "v2"', 'GREETING: "v3"');
    const loop2 = requestLoop(apiUrl);
    await sleep(300);
    const r2 = await repo.sess(['up', 'bg']);
    await sleep(300);
    const seen2 = await loop2.stop();
    expect(r2.code, r2.stderr).toBe(0);
    expect(seen2.filter((s) => s.status !== 200).length).toBeGreaterThan(0);
    expect(seen2.at(-1)!.body).toContain('(v3)');
  });

  it('a long answer of the old instance finishes while it drains; the old one stops after', async () => {
    const blue = await pidOf('api');
    const slow = get(`${apiUrl}slow?ms=1500`, { timeoutMs: 10_000 });
    await sleep(200);
    edit('GREETING: "v1"', 'GREETING: "v2"');
    const r = await repo.sess(['up', 'bg']);
    expect(r.code, r.stderr).toBe(0);
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('(v1)');
    expect(alive(blue)).toBe(false);
    expect(await body()).toContain('(v2)');
  });

  it('a manual gate: the candidate waits (its own green URL), up is refused, promote switches; abort keeps blue', async () => {
    manual();
    edit('GREETING: "v1"', 'GREETING: "v2"');
    const blue = await pidOf('api');
    const r = await repo.sess(['up', 'bg', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const view = JSON.parse(r.stdout);
    expect(view.awaiting_promotion).toEqual(['api']);
    expect(r.stderr).toContain(greenUrl());
    expect(await body()).toContain('(v1)');
    expect(await body(greenUrl())).toContain('(v2)');
    expect((await lastRelease()).status).toBe('awaiting_promotion');
    expect(greenLeases()).toEqual(['green:api']);
    expect(apiProcesses()).toHaveLength(2);

    const again = await repo.sess(['up', 'bg']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('sess promote bg');
    const wrong = await repo.sess(['promote', 'bg', 'web']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('waiting: api');

    const p = await repo.sess(['promote', 'bg', '--json']);
    expect(p.code, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout)).toMatchObject({ promoted: ['api'], aborted: [] });
    expect(await body()).toContain('(v2)');
    expect(alive(blue)).toBe(false);
    expect(greenLeases()).toEqual([]);
    expect((await lastRelease()).status).toBe('promoted');
    expect((await repo.json(['status', 'bg'])).awaiting_promotion).toBeUndefined();

    // the next release: aborted
    edit('GREETING: "v2"', 'GREETING: "v3"');
    expect((await repo.sess(['up', 'bg'])).code).toBe(0);
    const serving = await pidOf('api');
    expect(apiProcesses()).toHaveLength(2);
    const a = await repo.sess(['promote', 'bg', '--abort']);
    expect(a.code, a.stderr).toBe(0);
    expect(apiProcesses()).toEqual([serving]);
    expect(greenLeases()).toEqual([]);
    expect(await body()).toContain('(v2)');
    expect((await get(greenUrl())).status).toBe(404);
    expect((await lastRelease()).status).toBe('aborted');
    const nothing = await repo.sess(['promote', 'bg']);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('nothing of session bg waits for promotion');
  });

  it('down takes a waiting candidate away and marks the routes stopped; rm forgets them', async () => {
    manual();
    edit('GREETING: "v1"', 'GREETING: "v2"');
    expect((await repo.sess(['up', 'bg'])).code).toBe(0);
    expect(apiProcesses()).toHaveLength(2);
    const d = await repo.sess(['down', 'bg']);
    expect(d.code, d.stderr).toBe(0);
    expect(ourProcesses(repo.id(), 'bg')).toEqual([]);
    expect(greenLeases()).toEqual([]);
    const page = await get(apiUrl);
    expect(page.status).toBe(502);
    expect(page.body).toContain('status: stopped');
    expect((await lastRelease()).status).toBe('aborted');
    const routes = JSON.parse((await repo.sess(['proxy', 'routes', '--json'])).stdout).filter((r: any) => r.session === 'bg');
    expect([...new Set(routes.map((r: any) => r.service))].sort()).toEqual(['api', 'web']);
    expect(routes.filter((r: any) => r.green)).toEqual([]);
    expect(routes.every((r: any) => r.status?.state === 'stopped')).toBe(true);
    expect((await repo.sess(['rm', 'bg', '--force'])).code).toBe(0);
    const after = await repo.sess(['proxy', 'routes', '--json']);
    expect(JSON.parse(after.stdout).filter((r: any) => r.session === 'bg')).toEqual([]);
    expect((await get(apiUrl)).status).toBe(404);
  });
});

describe('blue-green, interrupted', () => {
  /** After a fault and recovery: one api process, the route serving `version`, no green lease, a consistent record. */
  async function consistent(version: string) {
    const status = await repo.json(['status', 'bg']);
    expect(status.status).toBe('up');
    const api = status.services.find((s: any) => s.name === 'api');
    expect(api.state).toBe('running');
    expect(apiProcesses()).toEqual([api.pid]);
    expect(greenLeases()).toEqual([]);
    expect(leasesOf(repo, 'bg').api).toBe(api.ports.api);
    expect(status.ports.api).toBe(api.ports.api);
    expect(await body()).toContain(`(${version})`);
    const routes = JSON.parse((await repo.sess(['proxy', 'routes', '--json'])).stdout).filter((r: any) => r.session === 'bg');
    expect(routes.filter((r: any) => r.green)).toEqual([]);
    expect(routes.find((r: any) => r.service === 'api').target).toBe(`http://127.0.0.1:${api.ports.api}`);
  }

  it('SIGKILL before the switch is decided: the next command takes the candidate away, blue serves on', async () => {
    const blue = await pidOf('api');
    edit('GREETING: "v1"', 'GREETING: "v2"');
    const r = await repo.sess(['up', 'bg'], { env: { SESS_FAILPOINT: 'promote:api:kill-before' } });
    expect(r.code).toBe(null); // killed
    expect(await body()).toContain('(v1)'); // blue never stopped serving
    const fix = await repo.sess(['doctor', '--fix']);
    expect(fix.stderr + fix.stdout).toContain('interrupted');
    expect(alive(blue)).toBe(true);
    await consistent('v1');
    expect(await pidOf('api')).toBe(blue);
  });

  // every step of the strategy before the decision: green's leases, its start, its readiness, its route
  it.each(['green-ports:api:kill-before', 'green-ports:api:kill', 'service:api:kill', 'ready:api:kill', 'green-route:api:kill-before'])(
    'SIGKILL at %s: the next command takes everything of the candidate away',
    async (step) => {
      const blue = await pidOf('api');
      edit('GREETING: "v1"', 'GREETING: "v2"');
      const r = await repo.sess(['up', 'bg'], { env: { SESS_FAILPOINT: step } });
      expect(r.code).toBe(null);
      expect((await repo.sess(['doctor', '--fix'])).code).toBe(0);
      expect(alive(blue)).toBe(true);
      await consistent('v1');
    },
  );

  it('SIGKILL once the switch is decided: the next command finishes the promotion', async () => {
    const blue = await pidOf('api');
    edit('GREETING: "v1"', 'GREETING: "v2"');
    const r = await repo.sess(['up', 'bg'], { env: { SESS_FAILPOINT: 'switch:api:kill-before' } });
    expect(r.code).toBe(null);
    const fix = await repo.sess(['doctor', '--fix']);
    expect(fix.code, fix.stderr).toBe(0);
    expect(alive(blue)).toBe(false);
    await consistent('v2');
    expect((await repo.sess(['up', 'bg'])).code).toBe(0);
    await consistent('v2');
  });

  it('SIGKILL in `sess promote` after the decision: the next command finishes it', async () => {
    manual();
    edit('GREETING: "v1"', 'GREETING: "v2"');
    expect((await repo.sess(['up', 'bg'])).code).toBe(0);
    const blue = await pidOf('api');
    const r = await repo.sess(['promote', 'bg'], { env: { SESS_FAILPOINT: 'switch:api:kill-before' } });
    expect(r.code).toBe(null);
    const st = await repo.sess(['down', 'bg']); // any command on the session finishes it first
    expect(st.code, st.stderr).toBe(0);
    expect(st.stderr).toContain('interrupted `sess promote`');
    expect(alive(blue)).toBe(false);
    expect(greenLeases()).toEqual([]);
    expect((await lastRelease()).status).toBe('promoted');
    expect((await repo.sess(['up', 'bg'])).code).toBe(0);
    await consistent('v2');
  });

  it('Ctrl+C while the candidate must stay ready: rolled back, blue serves on', async () => {
    edit('replace: blue-green', 'replace: blue-green\n    promote: { delay: 5 }');
    edit('GREETING: "v1"', 'GREETING: "v2"');
    const blue = await pidOf('api');
    const { child, done } = repo.start(['up', 'bg']);
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    await eventually(() => err.includes('must stay ready'), 15_000, 'the steady wait');
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    expect(alive(blue)).toBe(true);
    await consistent('v1');
    expect((await lastRelease()).status).toBe('rolled_back');
  });

  it('Ctrl+C during the switch: the promotion is finished before sess exits', async () => {
    edit('GREETING: "v1"', 'GREETING: "v2"');
    const blue = await pidOf('api');
    const { child, done } = repo.start(['up', 'bg'], { env: { SESS_FAILPOINT: 'switch:api:pause=1000' } });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    await eventually(() => err.includes('failpoint switch:api: pausing'), 15_000, 'the switch');
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    expect(alive(blue)).toBe(false);
    await consistent('v2');
  });

  it('a candidate that fails its readiness leaves blue serving, and nothing of it behind', async () => {
    const blue = await pidOf('api');
    edit('node servers/http.js ${ports.api}', 'node servers/http.js ${ports.api} --needs 127.0.0.1:1'); // exits at once
    const r = await repo.sess(['up', 'bg']);
    expect(r.code).toBe(1);
    expect(alive(blue)).toBe(true);
    expect(await pidOf('api')).toBe(blue);
    await consistent('v1');
    expect((await lastRelease()).status).toBe('rolled_back');
  });
});

describe('the proxy behind the URLs', () => {
  it('killed: doctor reports it down, the next up (a no-op) starts it again; a route of a removed session is stale', async () => {
    const status = JSON.parse((await repo.sess(['proxy', 'status', '--json'])).stdout);
    expect(status.state).toBe('running');
    process.kill(status.pid, 'SIGKILL');
    await eventually(() => !alive(status.pid), 5000, 'the proxy to die');
    const d = await repo.sess(['doctor', '--json']);
    expect(d.code).toBe(1);
    expect(JSON.parse(d.stdout).findings.map((f: any) => f.kind)).toContain('proxy-down');
    const r = await repo.sess(['up', 'bg']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('already up and unchanged');
    expect(r.stderr).toContain('started the local proxy');
    expect(await body()).toContain('(v1)');
    expect((await repo.sess(['doctor'])).code).toBe(0);

    // a route left behind by hand (a session that is not there): found, and removed with --fix
    const { openRepo } = await import('../../core/state/repo.js');
    const proxy = await import('../../core/proxy/index.js');
    const opened = await openRepo(repo.root);
    await proxy.setSessionRoutes({
      repoId: opened.id,
      repoName: opened.name,
      session: 'ghost',
      routes: [{ service: 'api', target: 'http://127.0.0.1:1' }],
    });
    const found = await repo.sess(['doctor', '--json']);
    expect(JSON.parse(found.stdout).findings).toEqual([expect.objectContaining({ kind: 'stale-route', subject: 'routes of ghost' })]);
    expect((await repo.sess(['doctor', '--fix'])).code).toBe(0);
    expect(proxy.routesOf({ repoId: opened.id, session: 'ghost' })).toEqual([]);
  });
});

describe('blue-green over MCP', () => {
  closeServersAfterEach();
  it('an agent sees the waiting release in up, and promotes it with the promote tool; nothing waits: a usage error', async () => {
    manual();
    edit('GREETING: "v1"', 'GREETING: "v2"');
    const s = await serve(repo);
    const view = doc(await s.call('up', { branch: 'bg' }));
    expect(view.awaiting_promotion).toEqual(['api']);
    const progress: string[] = [];
    const done = doc(await s.call('promote', { session: 'bg' }, { progress }));
    expect(done.promoted).toEqual(['api']);
    expect(progress.join('\n')).toContain('route goes to the new instance');
    expect(await body()).toContain('(v2)');
    const err = toolError(await s.call('promote', { session: 'bg' }));
    expect(err).toMatchObject({ kind: 'usage', exitCode: 2 });
  });
});

describe('blue-green, refused up front', () => {
  const base = readFileSync(join(import.meta.dirname, '../../fixtures/host-bluegreen/sess.yaml'), 'utf8');
  it.each([
    [
      'a service without a stable URL',
      base.replace('    ready: { http: "http://127.0.0.1:${ports.api}/health", timeout: 10 }\n    stop', '    proxy: false\n    stop'),
      'services.api',
      'needs a route',
    ],
    [
      'a service placed in compose',
      base.replace('  api:\n    ports', '  api:\n    compose: api\n    ports'),
      'services.api.replace',
      'compose',
    ],
  ])('%s: exit 2 naming the key, nothing created', async (_what, text, key, words) => {
    const other = makeRepo('host-bluegreen', {
      files: { 'sess.yaml': text, 'compose.yaml': 'services:\n  api:\n    image: sess-test-busybox\n' },
    });
    try {
      const args = key === 'services.api.replace' ? ['up', 'x', '--container', 'api'] : ['up', 'x'];
      const r = await other.sess(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(key);
      expect(r.stderr).toContain(words);
      expect(worktrees(other)).toEqual([]);
      expect(leasesOf(other, 'x')).toEqual({});
    } finally {
      await other.cleanup();
    }
  });
});
