// Ready probes: an http probe accepts what curl accepts (headers ended by a bare LF), a timeout names
// what the last attempt found, and a log regex that backtracks for ever neither outlives its timeout
// nor keeps Ctrl+C or SIGTERM from rolling back.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { branches, eventually, leasesOf, makeRepo, ourProcesses, worktrees, type TestRepo } from '../helpers/sess.js';

let repo: TestRepo | undefined;
afterEach(async () => {
  await repo?.cleanup();
  repo = undefined;
});

/** A repository whose sess.yaml has one service `web` (port `web`) with this command and probe. */
function oneService(command: string, ready: string): TestRepo {
  const yaml = [
    'version: 1',
    'ports:',
    '  web: {}',
    'services:',
    '  web:',
    '    ports: { web: 8080 }',
    '    host:',
    `      command: ${JSON.stringify(command)}`,
    `    ready: ${ready}`,
    '    stop: { grace: 2 }',
  ].join('\n');
  repo = makeRepo('host-probes', { files: { 'sess.yaml': yaml + '\n' } });
  return repo;
}

function expectNothingLeft(r: TestRepo) {
  expect(ourProcesses(r.id(), 'feat')).toEqual([]);
  expect(worktrees(r)).toEqual([]);
  expect(branches(r)).toEqual(['main']);
  expect(leasesOf(r, 'feat')).toEqual({});
  expect(existsSync(join(r.root, '.git', 'sess', 'sessions', 'feat'))).toBe(false);
}

describe('http probes parse leniently', () => {
  it('a server whose headers end with a bare LF (a CGI script) becomes ready', async () => {
    const r = oneService('node servers/lf-http.js ${ports.web}', '{ http: "http://127.0.0.1:${ports.web}/", timeout: 5, interval: 0.05 }');
    const started = Date.now();
    const up = await r.sess(['up', 'feat']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toContain('web is ready');
    expect(Date.now() - started).toBeLessThan(4000);
    const status = await r.json(['status', 'feat']);
    expect(status.services[0]).toMatchObject({ name: 'web', state: 'running' });
  });
});

describe('a probe that times out names what its last attempt found', () => {
  it.each([
    [
      'http, nothing listening',
      'sleep 600',
      '{ http: "http://127.0.0.1:${ports.web}/health", timeout: 1, interval: 0.05 }',
      ['last attempt: connection refused', 'its log is empty'],
    ],
    [
      'http 503',
      'node servers/lf-http.js ${ports.web} --status 503',
      '{ http: "http://127.0.0.1:${ports.web}/", timeout: 1, interval: 0.05 }',
      ['last attempt: HTTP 503', 'lf-http listening on'],
    ],
    [
      'http, not HTTP',
      'node servers/lf-http.js ${ports.web} --garbage',
      '{ http: "http://127.0.0.1:${ports.web}/", timeout: 1, interval: 0.05 }',
      ['last attempt: parse error: Expected HTTP/'],
    ],
    [
      'http, no answer',
      'node servers/lf-http.js ${ports.web} --silent',
      '{ http: "http://127.0.0.1:${ports.web}/", timeout: 1, interval: 0.05 }',
      ['last attempt: no answer in 2s'],
    ],
    [
      'tcp, nothing listening',
      'echo booting; sleep 600',
      '{ tcp: "${ports.web}", timeout: 1, interval: 0.05 }',
      ['last attempt: connection refused', 'last lines of its log:\n    booting'],
    ],
    [
      'cmd failing',
      'sleep 600',
      '{ cmd: "echo not yet >&2; echo details >&2; exit 3", timeout: 1, interval: 0.05 }',
      ['last attempt: exited with 3:\n    not yet\n    details'],
    ],
    [
      'log, no match',
      'echo starting; sleep 600',
      '{ log: "^ready$", timeout: 1, interval: 0.05 }',
      ['last attempt: /^ready$/ matched nothing in 1 line of output', 'last lines of its log:\n    starting'],
    ],
    [
      'log, no output',
      'sleep 600',
      '{ log: "ready", timeout: 1, interval: 0.05 }',
      ['last attempt: /ready/ has no output to match yet', 'its log is empty'],
    ],
  ])('%s', async (_what, command, ready, expected) => {
    const r = oneService(command, ready);
    const up = await r.sess(['up', 'feat']);
    expect(up.code, up.stderr).toBe(1);
    expect(up.stderr).toContain('service web was not ready after 1s');
    for (const text of expected) expect(up.stderr).toContain(text);
    expectNothingLeft(r);
  });
});

describe('a log regex with catastrophic backtracking', () => {
  // forty `a` and a `!`: ^(a+)+$ tries every way to split the a's before it gives up (2^40)
  const COMMAND = `printf '%s!\\n' ${'a'.repeat(40)}; sleep 600`;
  const PATTERN = '^(a+)+$';

  it('fails within its timeout with a message that says why, and leaves nothing', async () => {
    const r = oneService(COMMAND, `{ log: "${PATTERN}", timeout: 2, interval: 0.05 }`);
    const started = Date.now();
    const up = await r.sess(['up', 'feat']);
    const took = Date.now() - started;
    expect(up.code, up.stderr).toBe(1);
    expect(took).toBeLessThan(10_000);
    // within the time the probe had left: 2 s, less what the start of the service took
    expect(up.stderr).toMatch(/the regex \/\^\(a\+\)\+\$\/ did not finish within (2|1\.\d)s/);
    expect(up.stderr).toContain('catastrophic backtracking');
    expectNothingLeft(r);
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('%s while it runs rolls back and exits 130 promptly', async (sig) => {
    const r = oneService(COMMAND, `{ log: "${PATTERN}", timeout: 60, interval: 0.05 }`);
    const { child, done } = r.start(['up', 'feat']);
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    await eventually(() => err.includes('started web'), 15_000, 'web to start');
    // the regex is running now (the first attempts come 10 and 20 ms after the start)
    await new Promise((res) => setTimeout(res, 500));
    const signalled = Date.now();
    child.kill(sig);
    const result = await done;
    expect(result.code, result.stderr).toBe(130);
    expect(Date.now() - signalled).toBeLessThan(5000);
    expect(result.stderr).toContain('interrupted');
    expectNothingLeft(r);
  });
});
