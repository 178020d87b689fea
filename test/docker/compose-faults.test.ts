// Fault injection for the compose steps of `up`, fresh and resumed. Fresh: after each failure no
// container, network or volume of the session is left (nor worktree, lease, process). Resumed: its
// volumes (with their data) and the services that were running stay.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { failpointsOf } from '../../core/up/steps.js';
import { branches, eventually, leasesOf, worktrees, type TestRepo } from '../helpers/sess.js';
import {
  containersOf,
  dockerExec,
  dockerRepo,
  expectNothingInDocker,
  networksOf,
  projectOf,
  runningOf,
  volumesOf,
  startUntilComposeUp,
  expectFreshSessionGone,
} from '../helpers/docker.js';

const COMPOSE_STEPS = failpointsOf({ fresh: true, runtimes: ['compose'], services: ['store', 'app'], hooks: ['post_up'] });

let repo: TestRepo;
dockerRepo('compose-faults', 'each', (r) => (repo = r));

describe('fresh container up, failing at each compose step', () => {
  // the steps of a fresh container up from the overlay on (those before it are the host tests'), from up's own list
  it.each(COMPOSE_STEPS.slice(COMPOSE_STEPS.indexOf('compose-overlay')))('failpoint %s: nothing left', async (step) => {
    const r = await repo.sess(['up', 'f'], { env: { SESS_FAILPOINT: step } });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`failpoint ${step}`);
    expectFreshSessionGone(repo, 'f', expect);
  });

  it('compose up failing on an image that does not exist', async () => {
    const r = await repo.sess(['up', 'f'], { env: { APP_IMAGE: 'sess-test/no-such-image:1' } });
    expect(r.code).toBe(1);
    expect(r.stderr, r.stderr).toContain('compose could not start');
    expect(r.stderr).toMatch(/no-such-image/);
    expectFreshSessionGone(repo, 'f', expect);
  });

  it('--wait timing out on a service that does not become healthy in time', async () => {
    const r = await repo.sess(['up', 'f'], { env: { APP_DELAY: '120' } });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr, r.stderr).toContain('compose could not start');
    expectFreshSessionGone(repo, 'f', expect);
  });

  it('a compose that ends `up --wait` with success at its deadline, a service still starting: caught, nothing left', async () => {
    // Compose 2.26 can do this when its deadline passes while it waits on a dependency (seen in CI
    // under load): this `docker` on PATH plays it, passing everything else to the real one.
    const bin = join(repo.tmp, 'bin');
    mkdirSync(bin);
    const real = execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim();
    writeFileSync(
      join(bin, 'docker'),
      `#!/bin/bash
if [ "$1" = compose ] && [[ " $* " == *" up "* && " $* " == *" --wait "* ]]; then
  args=(); deadline=0; next=
  for a in "$@"; do
    if [ -n "$next" ]; then deadline=$a; next=; continue; fi
    case "$a" in --wait) ;; --wait-timeout) next=1 ;; *) args+=("$a") ;; esac
  done
  ${real} "\${args[@]}" || exit $?
  sleep "$deadline"; exit 0
fi
exec ${real} "$@"
`,
    );
    chmodSync(join(bin, 'docker'), 0o755);
    const r = await repo.sess(['up', 'f'], { env: { APP_DELAY: '120', PATH: `${bin}:${process.env.PATH}` } });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr, r.stderr).toMatch(
      /compose could not start (store, )?app: after 8s \(compose's wait ended without saying so\): (store \([^)]*\), )?app \(health starting\)/,
    );
    expectFreshSessionGone(repo, 'f', expect);
  });

  it('post_up failing', async () => {
    const r = await repo.sess(['up', 'f'], { env: { FAIL: 'post_up' } });
    expect(r.code).toBe(1);
    expectFreshSessionGone(repo, 'f', expect);
  });

  it('SIGINT during compose up: exit 130, nothing left', async () => {
    const { child, done } = await startUntilComposeUp(repo, 'f', { APP_DELAY: '30' });
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    expectFreshSessionGone(repo, 'f', expect);
  });
});

describe('resumed container up, failing', () => {
  async function sessionWithData() {
    expect((await repo.sess(['up', 'r'])).code).toBe(0);
    const store = containersOf(repo, 'r').find((c) => c.name.includes('-store-'))!;
    dockerExec(store.name, 'sh', '-c', 'echo precious > /data/precious');
    return { store, volumes: volumesOf(projectOf(repo, 'r')), leases: leasesOf(repo, 'r') };
  }

  function expectKept(volumes: string[], leases: Record<string, number>) {
    expect(volumesOf(projectOf(repo, 'r'))).toEqual(volumes);
    expect(leasesOf(repo, 'r')).toEqual(leases);
    expect(worktrees(repo)).toHaveLength(1);
  }

  it.each([
    ['an image that does not exist', { APP_IMAGE: 'sess-test/no-such-image:1' }],
    ['failpoint ready:app', { SESS_FAILPOINT: 'ready:app' }],
  ])('rm keeps volumes; a failed fresh up under the same name (%s) keeps them too, data and all', async (_what, env) => {
    const { volumes } = await sessionWithData();
    expect((await repo.sess(['rm', 'r', '--force'])).code).toBe(0);
    expect(volumesOf(projectOf(repo, 'r'))).toEqual(volumes);
    const r = await repo.sess(['up', 'r'], { env });
    expect(r.code, r.stderr).toBe(1);
    expect(volumesOf(projectOf(repo, 'r'))).toEqual(volumes);
    expect(worktrees(repo)).toEqual([]);
    expect((await repo.sess(['up', 'r'])).code).toBe(0);
    const store = containersOf(repo, 'r').find((c) => c.name.includes('-store-'))!;
    expect(dockerExec(store.name, 'cat', '/data/precious')).toBe('precious\n');
  });

  it('a failing replacement of app keeps store running and the volume with its data', async () => {
    const { store, volumes, leases } = await sessionWithData();
    const app = containersOf(repo, 'r').find((c) => c.name.includes('-app-'))!;
    dockerExec(app.name, 'kill', '1'); // app is down: the next up starts it
    await eventually(() => containersOf(repo, 'r').find((c) => c.id === app.id)?.state === 'exited', 15_000, 'app to exit');
    const r = await repo.sess(['up', 'r'], { env: { APP_DELAY: '120' } });
    expect(r.code, r.stderr).toBe(1);
    expectKept(volumes, leases);
    const now = containersOf(repo, 'r');
    expect(now.find((c) => c.id === store.id)?.state).toBe('running');
    expect(dockerExec(store.name, 'cat', '/data/precious')).toBe('precious\n');
    expect((await repo.json(['history', 'r'])).at(-1).status).toBe('rolled_back');
  });

  it.each(['compose-overlay', 'service:app', 'post_up'])('failpoint %s after down: volume and data kept, nothing running', async (step) => {
    const { volumes, leases } = await sessionWithData();
    expect((await repo.sess(['down', 'r'])).code).toBe(0);
    // down keeps the containers (stopped) and their network: the rollback leaves them as down left them
    const stopped = containersOf(repo, 'r');
    const networks = networksOf(projectOf(repo, 'r'));
    const r = await repo.sess(['up', 'r'], { env: { SESS_FAILPOINT: step } });
    expect(r.code, r.stderr).toBe(1);
    expectKept(volumes, leases);
    expect(containersOf(repo, 'r')).toEqual(stopped);
    expect(networksOf(projectOf(repo, 'r'))).toEqual(networks);
    expect((await repo.sess(['up', 'r'])).code).toBe(0);
    const store = containersOf(repo, 'r').find((c) => c.name.includes('-store-'))!;
    expect(dockerExec(store.name, 'cat', '/data/precious')).toBe('precious\n');
  });

  it('SIGINT during compose up of a resume keeps the volume', async () => {
    const { volumes, leases } = await sessionWithData();
    expect((await repo.sess(['down', 'r'])).code).toBe(0);
    const { child, done } = await startUntilComposeUp(repo, 'r', { APP_DELAY: '30' });
    child.kill('SIGINT');
    expect((await done).code).toBe(130);
    expectKept(volumes, leases);
    expect(runningOf(repo, 'r')).toEqual([]);
  });

  it('what compose reads besides its files counts: a changed .env, or an image rebuilt under its tag, is no no-op', async () => {
    execFileSync('docker', ['tag', 'sess-test/busybox:1', 'sess-test/retag:1']);
    try {
      const env = { APP_IMAGE: 'sess-test/retag:1' };
      expect((await repo.sess(['up', 'n'], { env })).code).toBe(0);
      const noop = await repo.sess(['up', 'n'], { env });
      expect(noop.stderr).toContain('already up and unchanged');
      // compose reads the project's .env for ${...}: app's command changes
      writeFileSync(join(repo.tmp, 'app.sess', 'n', '.env'), 'APP_DELAY=1\n');
      let r = await repo.sess(['up', 'n'], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('already up and unchanged');
      let release = (await repo.json(['history', 'n'])).at(-1);
      expect(release.services.find((x: any) => x.name === 'app').action).toBe('replaced');
      // the same tag, another image
      const store = containersOf(repo, 'n').find((c) => c.name.includes('-store-'))!;
      execFileSync('docker', ['commit', '--pause=false', store.name, 'sess-test/retag:1']);
      r = await repo.sess(['up', 'n'], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('already up and unchanged');
      release = (await repo.json(['history', 'n'])).at(-1);
      expect(release.services.find((x: any) => x.name === 'app').action).toBe('replaced');
      expect((await repo.sess(['up', 'n'], { env })).stderr).toContain('already up and unchanged');
      expect((await repo.sess(['rm', 'n', '--force', '--volumes'])).code).toBe(0);
    } finally {
      execFileSync('docker', ['rmi', '--force', 'sess-test/retag:1']);
    }
  });

  it('SIGINT while a running service is being replaced: its previous definition is back and stays', async () => {
    const { store, volumes, leases } = await sessionWithData();
    const wt = join(repo.tmp, 'app.sess', 'r');
    const file = join(wt, 'sess.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('    compose: app\n', '    compose: app\n    env: { X: "2" }\n'));
    const { child, done } = await startUntilComposeUp(repo, 'r', { APP_DELAY: '30' });
    await eventually(
      () => containersOf(repo, 'r').some((c) => c.name.includes('-app-') && c.state === 'running'),
      20_000,
      'the new app to start',
    );
    child.kill('SIGINT');
    const r = await done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain('previous app is back');
    expectKept(volumes, leases);
    const st = await repo.json(['status', 'r']);
    expect(st.status, JSON.stringify(st)).toBe('up');
    expect(containersOf(repo, 'r').find((c) => c.id === store.id)?.state).toBe('running');
    const app = containersOf(repo, 'r').find((c) => c.name.includes('-app-'))!;
    expect(dockerExec(app.name, 'sh', '-c', 'echo "${X:-unset}"')).toBe('unset\n');
  });
});
