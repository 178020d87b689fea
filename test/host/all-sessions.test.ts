// All sessions at once: `sess ls --all` (what holds ports on this machine, from the machine-wide
// ledger, for every repository) and `sess down --all` (every session of this repository; one that
// fails is reported and the others still go down). Two repositories share this file's own ledger.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { closeServersAfterEach, doc, serve, toolError } from '../helpers/mcp.js';
import { isolatedLedger, leasesOf, makeRepo, ourProcesses, type TestRepo } from '../helpers/sess.js';

const home = isolatedLedger(); // ls --all reads the whole ledger: only this file's repositories in it
afterAll(() => rmSync(home, { recursive: true, force: true }));
const ledgerFile = join(home, 'ports.json');
closeServersAfterEach();

async function ok(repo: TestRepo, args: string[], cwd?: string) {
  const r = await repo.sess(args, cwd ? { cwd } : {});
  expect(r.code, `sess ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r;
}

const recordFile = (repo: TestRepo, session: string) => join(repo.root, '.git', 'sess', 'sessions', session, 'session.json');

describe('ls --all and down --all over two repositories', () => {
  let a: TestRepo;
  let b: TestRepo;
  beforeAll(async () => {
    a = makeRepo('host-basic');
    b = makeRepo('host-basic');
    await ok(a, ['up', 'feat/one']);
    await ok(a, ['up', 'feat/two']);
    await ok(b, ['up', 'other']);
  });
  afterAll(async () => {
    await a?.cleanup();
    await b?.cleanup();
  });

  it('ls --all lists every session of every repository with its status and leased ports, from any folder', async () => {
    // outside any repository: the ledger is the machine's, no checkout is needed
    const r = await ok(a, ['ls', '--all', '--json'], a.tmp);
    const listed = JSON.parse(r.stdout) as any[];
    const rows = listed.map((s) => [s.repo, s.name, s.status]);
    expect(rows).toEqual(
      [
        [a.root, 'feat-one', 'up'],
        [a.root, 'feat-two', 'up'],
        [b.root, 'other', 'up'],
      ].sort((x, y) => (x.join('\0') < y.join('\0') ? -1 : 1)),
    );
    for (const s of listed) {
      const repo = s.repo === a.root ? a : b;
      expect(s.repoId).toBe(repo.id());
      expect(s.ports).toEqual(leasesOf(repo, s.name));
      expect(Object.keys(s.ports).sort()).toEqual(['db', 'web']);
      expect(s.branch).toBeTruthy();
      expect(s.lastUp).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
    const text = (await ok(b, ['ls', '--all'])).stdout;
    expect(text).toMatch(/^REPOSITORY\s+SESSION\s+STATUS\s+BRANCH\s+LAST UP\s+PORTS$/m);
    const other = listed.find((s) => s.name === 'other');
    expect(text).toMatch(
      new RegExp(`^${b.root}\\s+other\\s+up\\s+other\\s+\\d+s ago\\s+db=${other.ports.db} web=${other.ports.web}$`, 'm'),
    );
    expect(text).toContain(`${a.root} `);
  });

  it('the MCP ls tool with `all` answers the same document as ls --all --json', async () => {
    const cli = await b.json(['ls', '--all']);
    const s = await serve(b);
    expect(doc(await s.call('ls', { all: true }), 'sessions')).toEqual(cli);
    expect(toolError(await s.call('ls', { all: true, size: true }))).toMatchObject({ kind: 'usage', exitCode: 2 });
  });

  it('ls --all shows a lease whose session is gone as stale (doctor releases it)', async () => {
    const before = readFileSync(ledgerFile, 'utf8');
    const ledger = JSON.parse(before);
    ledger.leases['1'] = {
      owner: 'deadbeef0000/ghost',
      name: 'web',
      stateDir: join(a.tmp, 'gone', '.git', 'sess'),
      since: new Date().toISOString(),
    };
    writeFileSync(ledgerFile, JSON.stringify(ledger));
    try {
      const listed = await a.json(['ls', '--all']);
      expect(listed.find((s: any) => s.name === 'ghost')).toEqual({
        repo: join(a.tmp, 'gone'),
        repoId: 'deadbeef0000',
        name: 'ghost',
        status: 'stale',
        ports: { web: 1 },
      });
      expect((await ok(a, ['ls', '--all'])).stdout).toMatch(/ghost\s+stale \(sess doctor --fix\)\s+-\s+-\s+web=1/);
    } finally {
      writeFileSync(ledgerFile, before);
    }
  });

  it('down --all takes every session of this repository down and leaves the other repository alone', async () => {
    const r = await a.sess(['down', '--all', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.failed).toEqual([]);
    expect(doc.sessions.map((s: any) => [s.name, s.status])).toEqual([
      ['feat-one', 'down'],
      ['feat-two', 'down'],
    ]);
    expect(ourProcesses(a.id())).toEqual([]);
    expect(ourProcesses(b.id()).length).toBeGreaterThan(0);
    // leases stay, as with down of each
    expect(Object.keys(leasesOf(a, 'feat-one')).sort()).toEqual(['db', 'web']);
    const listed = await b.json(['ls', '--all']);
    expect(listed.map((s: any) => [s.name, s.status])).toEqual(
      expect.arrayContaining([
        ['feat-one', 'down'],
        ['feat-two', 'down'],
        ['other', 'up'],
      ]),
    );
    // down --all again: every session is down already, nothing fails
    const again = await a.sess(['down', '--all']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('down: feat-one, feat-two');
  });

  it('down --all: a session that cannot be taken down is reported, the others still go down, exit 1', async () => {
    await ok(a, ['up', 'feat-one']);
    await ok(a, ['up', 'feat-two']);
    const file = recordFile(a, 'feat-one');
    const good = readFileSync(file, 'utf8');
    // a record this sess cannot read (written by a newer one): its down fails
    writeFileSync(file, JSON.stringify({ ...JSON.parse(good), version: 99 }));
    try {
      const r = await a.sess(['down', '--all', '--json']);
      expect(r.code, r.stderr).toBe(1);
      const doc = JSON.parse(r.stdout); // one document, both outcomes in it
      expect(doc.sessions.map((s: any) => [s.name, s.status])).toEqual([['feat-two', 'down']]);
      expect(doc.failed).toEqual([
        { name: 'feat-one', error: expect.objectContaining({ exitCode: 1, message: expect.stringContaining('newer sess') }) },
      ]);
      expect(ourProcesses(a.id(), 'feat-two')).toEqual([]);
      expect(ourProcesses(a.id(), 'feat-one').length).toBeGreaterThan(0); // untouched
      const text = await a.sess(['down', '--all']);
      expect(text.code).toBe(1);
      expect(text.stderr).toMatch(/could not take feat-one down: .*newer sess/);
      expect(text.stderr).toContain('failed: feat-one');
    } finally {
      writeFileSync(file, good);
    }
    await ok(a, ['down', 'feat-one']);
    expect(ourProcesses(a.id())).toEqual([]);
  });

  it('down --all with a session named too is bad usage; with no sessions it has nothing to do', async () => {
    const r = await a.sess(['down', 'feat-one', '--all', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toContain('not both');
    const empty = makeRepo('host-basic');
    try {
      const none = await empty.sess(['down', '--all', '--json']);
      expect(none.code, none.stderr).toBe(0);
      expect(JSON.parse(none.stdout)).toEqual({ sessions: [], failed: [] });
      expect((await empty.sess(['down', '--all'])).stderr).toContain('no sessions in this repository');
    } finally {
      await empty.cleanup();
    }
  });
});
