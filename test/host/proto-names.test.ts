// Ports and services named after properties of every JavaScript object (`constructor`, `toString`,
// `valueOf`, `hasOwnProperty`) work end to end: a name from sess.yaml is never looked up where an
// inherited property could answer for it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { branches, leasesOf, makeRepo, ourProcesses, worktrees, type TestRepo } from '../helpers/sess.js';

const NAMES = ['constructor', 'toString', 'valueOf', 'hasOwnProperty'];

describe('names that are properties of every object', () => {
  let repo: TestRepo;
  beforeAll(() => {
    repo = makeRepo('host-proto-names');
  });
  afterAll(() => repo.cleanup());

  let ports: Record<string, number>;
  it('up starts every service and leases every port', async () => {
    const r = await repo.sess(['up', 'feat', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    ports = doc.ports;
    expect(Object.keys(ports).sort()).toEqual([...NAMES].sort());
    for (const p of Object.values(ports)) expect(p).toEqual(expect.any(Number));
    expect(new Set(Object.values(ports)).size).toBe(4);
    expect(leasesOf(repo, 'feat')).toEqual(ports);
  });

  it('status --json shows each service running with its own ports', async () => {
    const status = await repo.json(['status', 'feat']);
    expect(status.status).toBe('up');
    expect(status.services.map((s: any) => [s.name, s.state])).toEqual(NAMES.map((n) => [n, 'running']));
    const byName = Object.fromEntries(status.services.map((s: any) => [s.name, s]));
    expect(byName.constructor.ports).toEqual({ constructor: ports.constructor });
    expect(byName.valueOf.ports).toEqual({ valueOf: ports.valueOf, hasOwnProperty: ports.hasOwnProperty });
    expect(byName.hasOwnProperty.ports).toEqual({});
  });

  it('env, logs and the services see the right values', async () => {
    const env = JSON.parse((await repo.sess(['env', 'feat', '--format', 'json'])).stdout);
    expect(env).toMatchObject({
      SESS_PORT_CONSTRUCTOR: String(ports.constructor),
      SESS_PORT_TOSTRING: String(ports.toString),
      SESS_PORT_VALUEOF: String(ports.valueOf),
      SESS_PORT_HASOWNPROPERTY: String(ports.hasOwnProperty),
      DB: `127.0.0.1:${ports.constructor}`,
    });
    const logs = await repo.sess(['logs', 'feat', 'valueOf']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain(`valueOf up on ${ports.valueOf} and ${ports.hasOwnProperty}`);
  });

  it('a resume of the unchanged session is a no-op; a changed service is replaced', async () => {
    const again = await repo.sess(['up', 'feat']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('already up and unchanged');
    const wt = join(repo.tmp, 'app.sess', 'feat');
    const file = join(wt, 'sess.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('command: "sleep 600"', 'command: "sleep 601"'));
    const changed = await repo.sess(['up', 'feat']);
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stderr).toContain('replacing hasOwnProperty');
    const history = await repo.json(['history', 'feat']);
    expect(history.at(-1).services.map((s: any) => ({ name: s.name, action: s.action }))).toEqual([
      { name: 'constructor', action: 'unchanged' },
      { name: 'toString', action: 'unchanged' },
      { name: 'valueOf', action: 'unchanged' },
      { name: 'hasOwnProperty', action: 'replaced' },
    ]);
  });

  it('sessions named __proto__ and constructor (from their branches) are listed and inspected like any other', async () => {
    for (const branch of ['__proto__', 'constructor']) {
      const r = await repo.sess(['up', branch]);
      expect(r.code, r.stderr).toBe(0);
    }
    const ls = await repo.json(['ls', '--size']);
    expect(ls.map((s: any) => [s.name, s.status, typeof s.disk?.worktree])).toEqual([
      ['__proto__', 'up', 'number'],
      ['constructor', 'up', 'number'],
      ['feat', 'up', 'number'],
    ]);
    expect((await repo.json(['status', '__proto__'])).services).toHaveLength(4);
    for (const session of ['__proto__', 'constructor']) {
      const rm = await repo.sess(['rm', session, '--force']);
      expect(rm.code, rm.stderr).toBe(0);
      expect(ourProcesses(repo.id(), session)).toEqual([]);
      expect(leasesOf(repo, session)).toEqual({});
    }
  });

  it('down keeps the leases, up brings back the same ports, rm leaves nothing', async () => {
    expect((await repo.sess(['down', 'feat'])).code).toBe(0);
    expect(ourProcesses(repo.id(), 'feat')).toEqual([]);
    expect(leasesOf(repo, 'feat')).toEqual(ports);
    const up = await repo.json(['up', 'feat']);
    expect(up.ports).toEqual(ports);
    const rm = await repo.sess(['rm', 'feat', '--force']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(ourProcesses(repo.id(), 'feat')).toEqual([]);
    expect(leasesOf(repo, 'feat')).toEqual({});
    expect(worktrees(repo)).toEqual([]);
    expect(branches(repo)).toEqual(['main']);
  });
});
