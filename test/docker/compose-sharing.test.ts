// What two sessions of one set of compose files cannot share is refused at the second `up`, before a
// container of it starts (exit 2, naming the key and the other side), and nothing of it is left; the
// first session keeps running.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { subnetsOverlap } from '../../modes/compose/sharing.js';
import { containersOf, dockerRepo, expectNothingInDocker } from '../helpers/docker.js';
import { get } from '../helpers/http.js';
import { leasesOf, type TestRepo } from '../helpers/sess.js';

let repo: TestRepo;

function expectSecondGone(session: string) {
  expectNothingInDocker(repo, session, expect);
  expect(leasesOf(repo, session)).toEqual({});
  expect(
    repo
      .git('worktree', 'list')
      .split('\n')
      .some((l) => l.includes(`app.sess/${session}`)),
  ).toBe(false);
}

describe('a network with a fixed subnet', () => {
  dockerRepo('compose-subnet', 'each', (r) => (repo = r));

  it('the second session is refused with exit 2 naming the network; the first keeps serving', async () => {
    expect((await repo.sess(['up', 'one'])).code).toBe(0);
    const r = await repo.sess(['up', 'two']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('networks.backend.ipam');
    expect(r.stderr).toMatch(/172\.31\.251\.0\/24 overlaps network sess-app-one-[0-9a-f]+_backend/);
    expectSecondGone('two');
    const one = await repo.json(['status', 'one']);
    expect((await get(`http://127.0.0.1:${one.services[0].ports.web}/`)).status).toBe(200);
  });

  it('subnets overlap when one holds an address of the other', () => {
    expect(subnetsOverlap('172.31.251.0/24', '172.31.251.128/25')).toBe(true);
    expect(subnetsOverlap('172.31.0.0/16', '172.31.251.0/24')).toBe(true);
    expect(subnetsOverlap('172.31.251.0/24', '172.31.252.0/24')).toBe(false);
    expect(subnetsOverlap('10.0.0.0/8', '11.0.0.0/8')).toBe(false);
    expect(subnetsOverlap('fd00::/64', 'fd00::/64')).toBe(true);
  });
});

describe('an external volume', () => {
  const VOLUME = 'sess-test-external-data';
  dockerRepo('compose-external', 'each', (r) => (repo = r));
  // made fresh for each test, after the previous test's sessions are gone (the hooks of dockerRepo
  // run after a test's own), and removed after the last
  const removeVolume = () => {
    const users = execFileSync('docker', ['ps', '-aq', '--filter', `volume=${VOLUME}`], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    if (users.length) execFileSync('docker', ['rm', '--force', ...users], { stdio: 'ignore' });
    execFileSync('docker', ['volume', 'rm', '--force', VOLUME], { stdio: 'ignore' });
  };
  beforeEach(() => {
    removeVolume();
    execFileSync('docker', ['volume', 'create', VOLUME]);
  });
  afterAll(() => removeVolume());

  it('a second session that would write to it beside the first is refused, naming the volume and the session', async () => {
    expect((await repo.sess(['up', 'one'])).code).toBe(0);
    const r = await repo.sess(['up', 'two']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('volumes.data');
    expect(r.stderr).toMatch(/sess-test-external-data is mounted by db of the running session one/);
    expect(r.stderr).toContain('compose.shared_volumes');
    expectSecondGone('two');
    // once the first is down, the second may have it
    expect((await repo.sess(['down', 'one'])).code).toBe(0);
    expect((await repo.sess(['up', 'two'])).code).toBe(0);
    expect(containersOf(repo, 'two').map((c) => c.state)).toEqual(['running']);
  });

  it('compose.shared_volumes lets two sessions mount it', async () => {
    const file = join(repo.root, 'sess.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('mode: container\n', 'mode: container\ncompose:\n  shared_volumes: [data]\n'));
    repo.git('commit', '-qam', 'the volume is shared on purpose');
    expect((await repo.sess(['up', 'one'])).code).toBe(0);
    const r = await repo.sess(['up', 'two']);
    expect(r.code, r.stderr).toBe(0);
    const owners = execFileSync('docker', ['run', '--rm', '-v', `${VOLUME}:/data`, 'sess-test/busybox:1', 'cat', '/data/owners'], {
      encoding: 'utf8',
    });
    expect(owners.trim().split('\n')).toHaveLength(2);
  });
});
