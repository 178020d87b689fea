// The subprocess wrapper gives what execa would: a cap on buffered output, timeouts named in the
// error, commands shown quoted, the last unterminated line of a stream, a missing binary reported.
import { describe, expect, it } from 'vitest';
import { BUFFER_CAP, quoteCommand, run, streamLines } from '../../adapters/process.js';

describe('run', () => {
  it('stops a command whose output passes the cap, with an error that says so', async () => {
    const started = Date.now();
    const error = await run('sh', ['-c', `head -c ${BUFFER_CAP + 1024 * 1024} /dev/zero; sleep 30`]).catch((e) => e);
    expect(error.message).toContain(`its output passed ${BUFFER_CAP / 1024 / 1024} MiB and it was stopped`);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('names the timeout when it kills a command for it', async () => {
    const error = await run('sh', ['-c', 'echo working; sleep 30'], { timeoutMs: 300 }).catch((e) => e);
    expect(error.message).toContain('ran out of its 0.3s and was killed');
    expect(error.message).toContain('working');
  });

  it('shows the command quoted, as a shell would take it', async () => {
    expect(quoteCommand('git', ['commit', '-m', "it's done", 'a b'])).toBe(`git commit -m 'it'\\''s done' 'a b'`);
    const error = await run('sh', ['-c', 'exit 3', 'x y']).catch((e) => e);
    expect(error.message).toContain("`sh -c 'exit 3' 'x y'` exited with 3");
  });

  it('says a missing command is not found', async () => {
    const error = await run('no-such-command-sess', []).catch((e) => e);
    expect(error.message).toContain('no-such-command-sess: command not found');
  });
});

describe('streamLines', () => {
  it('hands over a last line that has no newline', async () => {
    const lines: string[] = [];
    await streamLines('sh', ['-c', 'printf "one\\ntwo"'], (l) => lines.push(l));
    expect(lines).toEqual(['one', 'two']);
  });

  it('rejects when the command is not installed', async () => {
    await expect(streamLines('no-such-command-sess', [], () => undefined)).rejects.toThrow('no-such-command-sess: command not found');
  });
});
