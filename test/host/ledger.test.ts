// The machine-wide port ledger: a corrupt ports.json is refused before anything changes and
// rebuilt by `doctor --fix` from the sessions' records; its lock honours SESS_LOCK_TIMEOUT; leases
// of ports taken out of sess.yaml go with the next completed up.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLock } from '../../adapters/fs.js';
import { branches, isolatedLedger, leasesOf, makeRepo, ourProcesses, worktrees, type TestRepo } from '../helpers/sess.js';

const home = isolatedLedger(); // this file's own: doctor --fix repairs it, and a test holds its lock
afterAll(() => rmSync(home, { recursive: true, force: true }));
const ledgerFile = join(home, 'ports.json');

/** port -> who holds it, as doctor must rebuild it (`since` aside) */
function fullLedger(): Record<string, { owner: string; name: string; stateDir: string }> {
  const leases = JSON.parse(readFileSync(ledgerFile, 'utf8')).leases as Record<string, any>;
  return Object.fromEntries(Object.entries(leases).map(([p, l]) => [p, { owner: l.owner, name: l.name, stateDir: l.stateDir }]));
}

function sessionDir(repo: TestRepo, session: string) {
  return join(repo.root, '.git', 'sess', 'sessions', session);
}

async function ok(repo: TestRepo, args: string[], env?: Record<string, string>) {
  const r = await repo.sess(args, { env: env ?? {} });
  expect(r.code, `sess ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r;
}

function expectCorruptLedgerMessage(r: { code: number | null; stderr: string }) {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).toContain(ledgerFile);
  expect(r.stderr).toContain('sess doctor --fix');
  expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
}

const CORRUPTIONS: [string, (good: string) => string][] = [
  ['truncated', (good) => good.slice(0, Math.floor(good.length / 2))],
  ['garbage', () => 'this is not a ledger {'],
  ['empty', () => ''],
  ['NUL bytes', () => '\0'.repeat(256)],
  ['an array', () => '[]'],
  ['null', () => 'null'],
  ['leases of the wrong shape', () => JSON.stringify({ version: 1, leases: { '40000': { owner: 42 } } })],
  ['no leases', () => JSON.stringify({ version: 1 })],
];

describe('a corrupt ledger', () => {
  let repo: TestRepo;
  let good: string;
  beforeAll(async () => {
    repo = makeRepo('host-ledger');
    await ok(repo, ['up', 'feat/a']);
    await ok(repo, ['down', 'feat-a']);
    good = readFileSync(ledgerFile, 'utf8');
  });
  afterAll(async () => {
    writeFileSync(ledgerFile, good);
    await repo.cleanup();
  });

  it.each(CORRUPTIONS)('%s: commands that need it exit 1 with the hint, change nothing; doctor reports it', async (_kind, corrupt) => {
    writeFileSync(ledgerFile, corrupt(good));
    const wtA = join(repo.tmp, 'app.sess', 'feat-a');

    expectCorruptLedgerMessage(await repo.sess(['up', 'feat/new']));
    expect(worktrees(repo)).toEqual([wtA]);
    expect(branches(repo)).not.toContain('feat/new');
    expect(existsSync(sessionDir(repo, 'feat-new'))).toBe(false);

    expectCorruptLedgerMessage(await repo.sess(['up', 'feat-a']));
    expect(ourProcesses(repo.id())).toEqual([]);

    // rm must refuse before it acts: not half way, with the worktree gone and the leases kept
    expectCorruptLedgerMessage(await repo.sess(['rm', 'feat-a', '--force']));
    expect(existsSync(wtA)).toBe(true);
    expect(existsSync(join(sessionDir(repo, 'feat-a'), 'session.json'))).toBe(true);
    expect(existsSync(join(sessionDir(repo, 'feat-a'), 'journal.json'))).toBe(false);

    expectCorruptLedgerMessage(await repo.sess(['gc', '--older-than', '0']));
    expect(existsSync(wtA)).toBe(true);

    const doctor = await repo.sess(['doctor', '--json']);
    expect(doctor.code, doctor.stderr).toBe(1);
    expect(doctor.stderr).not.toMatch(/^\s+at /m);
    const finding = JSON.parse(doctor.stdout).findings.find((f: any) => f.kind === 'corrupt-ledger');
    expect(finding?.subject).toBe(ledgerFile);
    expect(readFileSync(ledgerFile, 'utf8')).toBe(corrupt(good)); // doctor without --fix changes nothing

    // commands that do not need the ledger still work
    expect((await repo.json(['ls'])).map((s: any) => s.name)).toEqual(['feat-a']);
    writeFileSync(ledgerFile, good);
  });
});

describe('doctor --fix rebuilds a corrupt ledger from the sessions of every repository it knew', () => {
  let a: TestRepo;
  let b: TestRepo;
  let before: ReturnType<typeof fullLedger>;
  let good: string;
  beforeEach(async () => {
    rmSync(home, { recursive: true, force: true });
    a = makeRepo('host-ledger');
    b = makeRepo('host-ledger');
    await ok(a, ['up', 'feat/a1']);
    await ok(a, ['up', 'feat/a2']);
    await ok(a, ['down', 'feat-a2']);
    await ok(b, ['up', 'feat/b1']);
    good = readFileSync(ledgerFile, 'utf8');
    before = fullLedger();
    expect(Object.keys(before)).toHaveLength(6);
  });
  afterEach(async () => {
    await a.cleanup();
    await b.cleanup();
  });

  async function fixAndCheck(corruptText: string) {
    writeFileSync(ledgerFile, corruptText);
    const fixed = await a.sess(['doctor', '--fix']);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain('corrupt-ledger');
    // the corrupt file is kept for the user, and the message says where
    const aside = readdirSync(home).filter((f) => f.startsWith('ports.json.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(fixed.stdout + fixed.stderr).toContain(join(home, aside[0]!));
    expect(readFileSync(join(home, aside[0]!), 'utf8')).toBe(corruptText);
    expect(fullLedger()).toEqual(before);
    expect((await a.sess(['doctor'])).code).toBe(0);
    expect((await b.sess(['doctor'])).code).toBe(0);
  }

  async function stillWorks() {
    // a resumed session keeps its ports; rm takes its leases away
    const leases = leasesOf(a, 'feat-a2');
    const up = await a.json(['up', 'feat-a2']);
    expect(up.ports).toEqual(leases);
    expect(leasesOf(a, 'feat-a2')).toEqual(leases);
    await ok(a, ['rm', 'feat-a1', '--force']);
    expect(leasesOf(a, 'feat-a1')).toEqual({});
    expect(worktrees(a)).toEqual([join(a.tmp, 'app.sess', 'feat-a2')]);
    await ok(b, ['up', 'feat-b1']);
    expect(leasesOf(b, 'feat-b1')).toEqual(
      Object.fromEntries(
        Object.entries(before)
          .filter(([, l]) => l.owner.endsWith('/feat-b1'))
          .map(([p, l]) => [l.name, Number(p)]),
      ),
    );
  }

  it('nothing salvageable (garbage): the repository index names both repositories', async () => {
    await fixAndCheck('\0\0\0garbage');
    await stillWorks();
  });

  it('no repository index: what the truncated text still names is salvaged, and the current repository is always in', async () => {
    rmSync(join(home, 'repos'), { recursive: true, force: true });
    const bDir = JSON.stringify(join(b.root, '.git', 'sess'));
    const cut = good.indexOf(bDir) + bDir.length;
    expect(cut).toBeGreaterThan(bDir.length);
    await fixAndCheck(good.slice(0, cut));
    await stillWorks();
  });

  it('a record written before sessions kept their leases: its named ports are rebuilt', async () => {
    const file = join(sessionDir(a, 'feat-a2'), 'session.json');
    const record = JSON.parse(readFileSync(file, 'utf8'));
    expect(record.leases).toEqual(record.ports); // today's records hold every lease
    delete record.leases;
    writeFileSync(file, JSON.stringify(record));
    await fixAndCheck('{"version":1,"leases":');
    await stillWorks();
  });
});

describe('the ledger lock', () => {
  let repo: TestRepo;
  beforeEach(() => {
    repo = makeRepo('host-ledger');
  });
  afterEach(() => repo.cleanup());

  it('honours SESS_LOCK_TIMEOUT, and a lease that never happened is not waited for again', async () => {
    // held by a live process (this one), as a sess that hangs holding it would
    const held = await acquireLock(join(home, 'ports.lock'), { timeoutMs: 5000, what: 'the port ledger', command: 'up hung' });
    let r;
    const t0 = Date.now();
    try {
      r = await repo.sess(['up', 'feat/x'], { env: { SESS_LOCK_TIMEOUT: '2' } });
    } finally {
      held.release();
    }
    const seconds = (Date.now() - t0) / 1000;
    expect(r.code, r.stderr).toBe(1);
    expect(seconds).toBeLessThan(10);
    expect(r.stderr).toContain('the port ledger is busy');
    expect(r.stderr).not.toContain('doctor');
    expect(worktrees(repo)).toEqual([]);
    expect(branches(repo)).toEqual(['main']);
    expect(existsSync(sessionDir(repo, 'feat-x'))).toBe(false);
    expect(leasesOf(repo, 'feat-x')).toEqual({});
  }, 180_000);
});

describe('leases of ports taken out of sess.yaml', () => {
  let repo: TestRepo;
  beforeEach(() => {
    repo = makeRepo('host-ledger');
  });
  afterEach(() => repo.cleanup());

  it('go with the next up that completes, not with one that rolls back', async () => {
    await ok(repo, ['up', 'feat/p']);
    const leases = leasesOf(repo, 'feat-p');
    expect(Object.keys(leases).sort()).toEqual(['a', 'b']);
    // sess reads a resumed session's sess.yaml from its worktree
    const file = join(repo.tmp, 'app.sess', 'feat-p', 'sess.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('  b: {}\n', ''));

    const failed = await repo.sess(['up', 'feat-p'], { env: { FAIL: 'pre_spawn' } });
    expect(failed.code, failed.stderr).toBe(1);
    expect(leasesOf(repo, 'feat-p')).toEqual(leases); // a rollback never takes a resumed session's leases

    const up = await repo.json(['up', 'feat-p']);
    expect(up.ports).toEqual({ a: leases.a });
    expect(leasesOf(repo, 'feat-p')).toEqual({ a: leases.a });
    expect(Object.keys(fullLedger())).not.toContain(String(leases.b));
    const record = JSON.parse(readFileSync(join(sessionDir(repo, 'feat-p'), 'session.json'), 'utf8'));
    expect(record.leases).toEqual({ a: leases.a });
  });
});
