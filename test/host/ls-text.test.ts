// `sess ls` for people: one line per session with the age of its last up and, service by service,
// its stable URL (or its ports), a mark on a service that is not running while it should be.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, eventually, makeRepo, type TestRepo } from '../helpers/sess.js';

describe('sess ls, the table', () => {
  let repo: TestRepo;
  let a: any;
  let b: any;
  beforeAll(async () => {
    repo = makeRepo('host-basic');
    a = await repo.json(['up', 'feat/a']);
    b = await repo.json(['up', 'feat/b']);
  });
  afterAll(() => repo.cleanup());

  const lineOf = (table: string, session: string) => table.split('\n').find((l) => l.startsWith(`${session} `)) ?? '';

  it('one line per session: status, branch, how long ago it was last up, each service at its URL or port', async () => {
    const r = await repo.sess(['ls']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^SESSION\s+STATUS\s+MODE\s+BRANCH\s+LAST UP\s+SERVICES$/);
    expect(lines).toHaveLength(3);
    // db has no stable URL (a tcp probe): its port; web is routed: its URL
    expect(lineOf(r.stdout, 'feat-a')).toMatch(
      new RegExp(
        `^feat-a\\s+up\\s+host\\s+feat/a\\s+\\d+s ago\\s+db=${a.ports.db}  web=http://web\\.feat-a\\.app(-[0-9a-f]{4})?\\.localhost:\\d+/$`,
      ),
    );
    expect(lineOf(r.stdout, 'feat-a')).not.toContain('✗');
    // --json is what it was: the SPEC shape plus lastUp (an ISO time), url per routed service
    const [listed] = await repo.json(['ls']);
    expect(listed.lastUp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
    expect(listed.services.find((s: any) => s.name === 'web').url).toMatch(/^http:\/\/web\.feat-a\.app(-[0-9a-f]{4})?\.localhost:\d+\/$/);
  });

  it('a service that died is marked with its state; a session that is down marks nothing', async () => {
    const web = b.services.find((s: any) => s.name === 'web');
    process.kill(-web.pid, 'SIGKILL');
    await eventually(() => !alive(web.pid), 5000, 'web of feat-b to die');
    expect((await repo.sess(['down', 'feat-a'])).code).toBe(0);
    const table = (await repo.sess(['ls'])).stdout;
    expect(lineOf(table, 'feat-b')).toMatch(
      new RegExp(
        `^feat-b\\s+partial\\s+host\\s+feat/b\\s+\\d+s ago\\s+db=${b.ports.db}  ✗web=http://web\\.feat-b\\.app(-[0-9a-f]{4})?\\.localhost:\\d+/ \\(exited\\)$`,
      ),
    );
    expect(lineOf(table, 'feat-a')).toMatch(/^feat-a\s+down\s+host\s+feat\/a\s+\d+s ago\s+db=\d+  web=http:\/\/\S+$/);
  });
});
