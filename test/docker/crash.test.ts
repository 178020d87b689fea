// sess killed with SIGKILL during a container-mode up (at compose steps, and in the middle of
// `compose up` itself, whose process goes on without it), then `sess doctor --fix`: no container,
// network or volume of a fresh session is left; a resumed session keeps its volume and data.
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { branches, isolatedLedger, leasesOf, worktrees, type TestRepo } from '../helpers/sess.js';
import {
  containersOf,
  dockerExec,
  dockerRepo,
  expectNothingInDocker,
  projectOf,
  runningOf,
  volumesOf,
  startUntilComposeUp,
  expectFreshSessionGone,
} from '../helpers/docker.js';

const home = isolatedLedger();
afterAll(() => rmSync(home, { recursive: true, force: true }));

let repo: TestRepo;
dockerRepo('compose-faults', 'each', (r) => (repo = r));

async function doctorFix() {
  const found = await repo.sess(['doctor']);
  expect(found.code, found.stdout).toBe(1);
  expect(found.stdout).toContain('unfinished-journal');
  const fixed = await repo.sess(['doctor', '--fix']);
  expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
  expect((await repo.sess(['doctor'])).code).toBe(0);
}

describe('SIGKILL during a fresh container up, then doctor --fix', () => {
  it.each([
    'compose-overlay:kill-before',
    'compose-overlay:kill',
    'compose:store+app:kill-before',
    'service:store:kill',
    'ready:app:kill',
    'post_up:kill',
  ])('%s: nothing left in the engine', async (point) => {
    const r = await repo.sess(['up', 'k'], { env: { SESS_FAILPOINT: point } });
    expect(r.code, r.stderr).toBe(null);
    await doctorFix();
    expectFreshSessionGone(repo, 'k', expect);
  });

  it('killed in the middle of compose up (compose goes on alone): nothing left', async () => {
    const { child, done } = await startUntilComposeUp(repo, 'k', { APP_DELAY: '20' });
    child.kill('SIGKILL');
    await done;
    await doctorFix();
    expectFreshSessionGone(repo, 'k', expect);
  });
});

describe('SIGKILL during a resumed container up', () => {
  it('killed in compose up of a resume: doctor --fix keeps the volume and its data', async () => {
    expect((await repo.sess(['up', 'r'])).code).toBe(0);
    const store = containersOf(repo, 'r').find((c) => c.name.includes('-store-'))!;
    dockerExec(store.name, 'sh', '-c', 'echo precious > /data/precious');
    expect((await repo.sess(['down', 'r'])).code).toBe(0);
    const volumes = volumesOf(projectOf(repo, 'r'));
    const { child, done } = await startUntilComposeUp(repo, 'r', { APP_DELAY: '20' });
    child.kill('SIGKILL');
    await done;
    await doctorFix();
    expect(runningOf(repo, 'r')).toEqual([]);
    expect(volumesOf(projectOf(repo, 'r'))).toEqual(volumes);
    expect((await repo.sess(['up', 'r'])).code).toBe(0);
    const again = containersOf(repo, 'r').find((c) => c.name.includes('-store-'))!;
    expect(dockerExec(again.name, 'cat', '/data/precious')).toBe('precious\n');
  });

  it('doctor removes containers of ours whose session is gone', async () => {
    expect((await repo.sess(['up', 'gone'])).code).toBe(0);
    const { join } = await import('node:path');
    rmSync(join(repo.root, '.git', 'sess', 'sessions', 'gone'), { recursive: true });
    const found = await repo.sess(['doctor', '--json']);
    expect(JSON.parse(found.stdout).findings.map((f: any) => f.kind)).toContain('orphan-container');
    expect((await repo.sess(['doctor', '--fix'])).code).toBe(0);
    expect(containersOf(repo, 'gone')).toEqual([]);
  });
});
