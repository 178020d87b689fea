// A secret rotated across a stack whose new value breaks every service: the replacements of the
// three fail at once and their previous definitions are restored at once. Compose operations of one
// project run one at a time (two `compose up`s at once recreate the shared dependency together), each
// restore has files of its own, and what runs afterwards is what sess says: the previous definition.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { containersOf, dockerExec, dockerRepo } from '../helpers/docker.js';
import { get } from '../helpers/http.js';
import type { TestRepo } from '../helpers/sess.js';

let repo: TestRepo;
dockerRepo('compose-rotate', 'each', (r) => (repo = r));

/** A `docker` on PATH that logs when each `compose` call begins and ends, passing it to the real one. */
function loggingDocker(): { env: Record<string, string>; calls: () => { start: number; end: number; args: string }[] } {
  const bin = join(repo.tmp, 'bin');
  const log = join(repo.tmp, 'compose-calls.log');
  mkdirSync(bin, { recursive: true });
  writeFileSync(log, '');
  const real = execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim();
  writeFileSync(
    join(bin, 'docker'),
    `#!/bin/bash
if [ "$1" = compose ] && [[ " $* " == *" up "* ]]; then
  echo "start $$ $(date +%s%N) $*" >> ${log}
  ${real} "$@"; rc=$?
  echo "end $$ $(date +%s%N)" >> ${log}
  exit $rc
fi
exec ${real} "$@"
`,
  );
  chmodSync(join(bin, 'docker'), 0o755);
  return {
    env: { PATH: `${bin}:${process.env.PATH}` },
    calls: () => {
      const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
      const open = new Map<string, { start: number; args: string }>();
      const out: { start: number; end: number; args: string }[] = [];
      for (const l of lines) {
        const [what, pid, ns, ...args] = l.split(' ');
        if (what === 'start') open.set(pid!, { start: Number(BigInt(ns!) / 1_000_000n), args: args.join(' ') });
        else out.push({ ...open.get(pid!)!, end: Number(BigInt(ns!) / 1_000_000n) });
      }
      return out.sort((a, b) => a.start - b.start);
    },
  };
}

describe('rotating a secret that breaks every service of a stack', () => {
  it('the three failed replacements are restored one compose call at a time, each to its previous definition', async () => {
    const docker = loggingDocker();
    expect((await repo.sess(['up', 'rot'], { env: docker.env })).code).toBe(0);
    const before = Object.fromEntries(containersOf(repo, 'rot').map((c) => [c.name, c.id]));
    // compose reads the project's .env for ${...}: every service's definition changes
    writeFileSync(join(repo.tmp, 'app.sess', 'rot', '.env'), 'SECRET=two\nBAD=1\n');
    const r = await repo.sess(['up', 'rot'], { env: docker.env });
    expect(r.code, r.stderr).toBe(1);
    // never two compose ups of the project at once
    const calls = docker.calls();
    expect(calls.length).toBeGreaterThanOrEqual(5); // the first up, the replacement, three restores
    for (let i = 1; i < calls.length; i++) expect(calls[i]!.start, JSON.stringify(calls)).toBeGreaterThanOrEqual(calls[i - 1]!.end);
    // what runs is the previous definition, as sess says, and it serves
    const status = await repo.json(['status', 'rot']);
    for (const name of ['s1', 's2', 's3']) {
      const container = containersOf(repo, 'rot').find((c) => c.name.includes(`-${name}-`))!;
      expect(container.state).toBe('running');
      expect(dockerExec(container.name, 'sh', '-c', 'echo $SECRET')).toBe('one\n');
      const svc = status.services.find((s: { name: string }) => s.name === name);
      expect(svc, JSON.stringify(svc)).toMatchObject({ state: 'running', ready: true });
      expect((await get(`http://127.0.0.1:${svc.ports[name]}/`)).body).toBe('one\n');
    }
    // the database the three share was not recreated
    const db = containersOf(repo, 'rot').find((c) => c.name.includes('-db-'))!;
    expect(before[db.name]).toBe(db.id);
    const last = (await repo.json(['history', 'rot'])).at(-1);
    expect(last.status).toBe('rolled_back');
  });

  it('a change to the compose-only database is applied and recorded, the services on it left alone', async () => {
    expect((await repo.sess(['up', 'db'])).code).toBe(0);
    const before = Object.fromEntries(containersOf(repo, 'db').map((c) => [c.name.replace(/-\d+$/, ''), c.id]));
    const file = join(repo.tmp, 'app.sess', 'db', 'compose.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        '    command: ["sh", "-c", "exec httpd -f -p 80 -h /var/www"]',
        '    environment: { TUNING: "2" }\n    command: ["sh", "-c", "exec httpd -f -p 80 -h /var/www"]',
      ),
    );
    const r = await repo.sess(['up', 'db']);
    expect(r.code, r.stderr).toBe(0);
    const db = containersOf(repo, 'db').find((c) => c.name.includes('-db-'))!;
    expect(dockerExec(db.name, 'sh', '-c', 'echo $TUNING')).toBe('2\n');
    const last = (await repo.json(['history', 'db'])).at(-1);
    expect(last.status).toBe('completed');
    expect(last.services.map((s: { name: string }) => s.name).sort(), JSON.stringify(last)).toEqual(['db', 's1', 's2', 's3']);
    expect(last.services.find((s: { name: string }) => s.name === 'db').action).toBe('replaced');
    // s1..s3 did not change: compose may restart a dependent of a recreated service, sess must say what ran
    for (const name of ['s1', 's2', 's3']) {
      const container = containersOf(repo, 'db').find((c) => c.name.includes(`-${name}-`))!;
      const action = last.services.find((s: { name: string }) => s.name === name).action;
      expect(action === 'unchanged' ? before[container.name.replace(/-\d+$/, '')] : 'changed').toBe(
        action === 'unchanged' ? container.id : 'changed',
      );
    }
  });
});
