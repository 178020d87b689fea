// What a remote engine cannot run, or a machine that is not one, is refused with exit 2 before
// anything exists: no worktree, lease, session, connection or ssh process (no ssh is needed here;
// test/docker/remote.test.ts runs the sessions it can).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isolatedLedger, leasesOf, makeRepo, worktrees, type TestRepo } from '../helpers/sess.js';

// a home of its own: no other test's connection in $SESS_HOME/remote
const home = isolatedLedger();
afterAll(() => rmSync(home, { recursive: true, force: true }));

let repo: TestRepo;
beforeEach(() => {
  repo = makeRepo('host-basic');
});
afterEach(() => repo.cleanup());

function nothingOf(session: string) {
  expect(leasesOf(repo, session)).toEqual({});
  expect(worktrees(repo)).toEqual([]);
  expect(existsSync(join(repo.root, '.git', 'sess', 'sessions', session, 'session.json'))).toBe(false);
  expect(existsSync(join(process.env.SESS_HOME!, 'remote'))).toBe(false); // no connection was ever made
}

function commitConfig(change: (text: string) => string) {
  const file = join(repo.root, 'sess.yaml');
  writeFileSync(file, change(readFileSync(file, 'utf8')));
  repo.git('commit', '-qam', 'config');
}

/** `sess <args>` exits 2 saying `says`, and nothing of the session exists. */
async function refused(args: string[], says: string | RegExp) {
  const r = await repo.sess(args);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(says);
  expect(existsSync('/tmp/sess-remote-pwned')).toBe(false);
  nothingOf('feat');
}

describe('refused before anything exists (exit 2)', () => {
  it('host mode on a remote engine', async () => {
    await refused(['up', 'feat', '--remote-host', 'dev@box'], 'a remote engine runs container mode only: this session is in host mode');
  });

  it('hybrid mode on a remote engine', async () => {
    await refused(['up', 'feat', '--mode', 'hybrid', '--remote-host', 'dev@box'], 'container mode only');
  });

  it('container mode with services that would run on this machine', async () => {
    commitConfig((t) => t.replace('mode: host', 'mode: container\nremote: { host: dev@box }'));
    await refused(['up', 'feat'], /services\.db.*runs on this machine/s);
  });

  it.each([
    ['-oProxyCommand=touch /tmp/sess-remote-pwned'],
    ['dev@box;touch /tmp/sess-remote-pwned'],
    ['dev@-box'],
    ['dev@box:99999'],
    ['$(touch /tmp/sess-remote-pwned)@box'],
  ])('--remote-host %s: not a machine, never handed to ssh', async (host) => {
    await refused(['up', 'feat', '--mode', 'container', '--remote-host', host], 'not user@box or user@box:port');
  });

  it('remote.host in sess.yaml that is an ssh option', async () => {
    commitConfig((t) => t.replace('mode: host', 'mode: container\nremote: { host: "-oProxyCommand=touch /tmp/sess-remote-pwned" }'));
    await refused(['up', 'feat'], 'remote.host');
  });

  it('remote.dir with .. or a shell word', async () => {
    for (const dir of ['/srv/../etc', '/srv/$(id)', 'relative/dir']) {
      commitConfig((t) => t.replace(/mode: \w+(\nremote: .*)?/, `mode: container\nremote: { host: dev@box, dir: "${dir}" }`));
      await refused(['up', 'feat'], 'remote.dir');
    }
  });

  it('--remote-host and --context together', async () => {
    const r = await repo.sess(['up', 'feat', '--remote-host', 'dev@box', '--context', 'x']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('name one');
    expect(worktrees(repo)).toEqual([]);
  });
});
