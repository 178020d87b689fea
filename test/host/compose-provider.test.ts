// Which compose sess uses, and the error when none is usable (Compose v1, or a v2 too old for
// !override). A fake `docker` on PATH plays the old versions: no engine needed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { branches, makeRepo, worktrees, type TestRepo } from '../helpers/sess.js';

let repo: TestRepo;
let bin: string;
beforeEach(() => {
  repo = makeRepo('compose-fixed');
  bin = join(repo.tmp, 'bin');
  mkdirSync(bin);
  symlinkSync(execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim(), join(bin, 'git'));
});
afterEach(() => repo.cleanup());

function fake(name: string, version: string | null) {
  const body =
    version === null ? 'exit 1' : `[ "$1 $2" = "compose version" ] || [ "$1" = "version" ] && { echo ${version}; exit 0; }; exit 1`;
  writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
  chmodSync(join(bin, name), 0o755);
}

describe('compose provider', () => {
  it('refuses Compose v1 and a v2 older than 2.24.4, naming what it found, with nothing left', async () => {
    fake('docker', '2.20.3');
    fake('docker-compose', '1.29.2');
    const home = join(repo.tmp, 'home');
    const r = await repo.sess(['up', 'feat'], { env: { PATH: bin, SESS_HOME: home } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no usable compose: found docker compose 2.20.3, docker-compose 1.29.2');
    expect(r.stderr).toContain('Compose v2.24.4 or newer');
    expect(worktrees(repo)).toEqual([]);
    expect(branches(repo)).toEqual(['main']);
    // container mode asks compose for its services before it leases anything: no ledger, or an empty one
    const ledger = join(home, 'ports.json');
    expect(existsSync(ledger) ? JSON.parse(readFileSync(ledger, 'utf8')).leases : {}).toEqual({});
  });

  it('says so when there is no compose at all', async () => {
    const r = await repo.sess(['up', 'feat'], { env: { PATH: bin, SESS_HOME: join(repo.tmp, 'home') } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no compose found');
  });
});

describe('compose files that are not there', () => {
  it('config validate names them; up refuses before making anything (exit 2)', async () => {
    await repo.cleanup(); // this scenario has a fixture of its own
    repo = makeRepo('compose-missing-file');
    const v = await repo.sess(['config', 'validate']);
    expect(v.code).toBe(2);
    expect(v.stderr).toContain('compose.files');
    expect(v.stderr).toContain('no such file: nope.yaml');
    const home = join(repo.tmp, 'home');
    const r = await repo.sess(['up', 'feat', '--json'], { env: { SESS_HOME: home } });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toContain('nope.yaml');
    expect(worktrees(repo)).toEqual([]);
    expect(branches(repo)).toEqual(['main']);
    expect(existsSync(join(home, 'ports.json')) ? JSON.parse(readFileSync(join(home, 'ports.json'), 'utf8')).leases : {}).toEqual({});
  });
});
