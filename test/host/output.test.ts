// Colour is decided per stream: escape codes only where a terminal reads them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT, eventually, makeRepo, type TestRepo } from '../helpers/sess.js';

describe('colour per stream', () => {
  let repo: TestRepo;
  beforeAll(async () => {
    repo = makeRepo('host-basic');
    expect((await repo.sess(['up', 'c'])).code).toBe(0);
  });
  afterAll(() => repo.cleanup());

  /** Run a shell line under a pseudo-terminal (`script`): what is not redirected goes to a terminal. */
  const inTerminal = (line: string) => {
    const env = { ...process.env, TERM: 'xterm' } as NodeJS.ProcessEnv;
    delete env.NO_COLOR;
    return execFileSync('script', ['-qec', line, '/dev/null'], { cwd: repo.root, env, encoding: 'utf8' });
  };
  const ESC = '\x1b[';

  it('stdout into a file gets no escape codes while stderr is a terminal', () => {
    const file = join(repo.tmp, 'status.txt');
    inTerminal(`node ${BIN} status c > ${file}`);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('running');
    expect(text).not.toContain(ESC);
  });

  it('stdout on a terminal is coloured while stderr goes to a file', () => {
    const shown = inTerminal(`node ${BIN} status c 2> ${join(repo.tmp, 'err.txt')}`);
    expect(shown).toContain(`${ESC}32mrunning`);
  });

  it('stderr into a file gets no escape codes while stdout is a terminal', () => {
    const file = join(repo.tmp, 'progress.txt');
    inTerminal(`node ${BIN} down c 2> ${file}`);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('is down');
    expect(text).not.toContain(ESC);
  });
});

describe('sess exec at a terminal', () => {
  let repo: TestRepo;
  beforeAll(async () => {
    repo = makeRepo('host-basic');
    expect((await repo.sess(['up', 'x'])).code).toBe(0);
  });
  afterAll(() => repo.cleanup());

  it('a Ctrl+C reaches the command once, as it reaches any program run from the shell', async () => {
    // the command counts the SIGINTs it gets for a moment after the first one, then says how many
    const counter = join(repo.tmp, 'count-sigint');
    execFileSync('cc', ['-o', counter, join(ROOT, 'fixtures', '_tools', 'count-sigint.c')]);
    const env = { ...process.env, TERM: 'xterm' } as NodeJS.ProcessEnv;
    // a pseudo-terminal: what we write to script is typed at its keyboard
    const term = spawn('script', ['-qec', `node ${BIN} exec x -- ${counter}`, '/dev/null'], { cwd: repo.root, env });
    let shown = '';
    term.stdout.on('data', (d) => (shown += d));
    await eventually(() => shown.includes('READY'), 15_000, 'the command to start');
    await new Promise((r) => setTimeout(r, 200)); // the command waits in pause(): no delivery can merge
    term.stdin.write('\x03');
    await new Promise((r) => term.on('close', r));
    expect(shown, shown).toContain('SIGINTS=1');
  });
});
