// The cross-process lock: its file appears whole or not at all. A waiter that found it empty (its
// holder stalled between creating and writing it, as under heavy load) took it for a dead holder's
// after 2 s and broke it: two commands then ran on one session at once.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { buildSync } from 'esbuild';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FS = fileURLToPath(new URL('../../adapters/fs.ts', import.meta.url));

describe('lock file', () => {
  it('is never seen empty or half written by a reader, however often it is taken', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sess-lock-'));
    const path = join(dir, 'x.lock');
    // another process takes and releases the lock as fast as it can
    // (the lock code, bundled for a plain node process)
    buildSync({ entryPoints: [FS], bundle: true, platform: 'node', format: 'esm', outfile: join(dir, 'fs.mjs'), logLevel: 'silent' });
    writeFileSync(
      join(dir, 'taker.mjs'),
      `
      import { acquireLock } from './fs.mjs';
      const end = Date.now() + 3000;
      while (Date.now() < end) (await acquireLock(${JSON.stringify(path)}, { timeoutMs: 1000, what: 'x' })).release();
    `,
    );
    const taker = spawn(process.execPath, [join(dir, 'taker.mjs')], { stdio: 'inherit' });
    const done = new Promise((r) => taker.on('close', r));
    let reads = 0;
    let partial = 0;
    let exited = false;
    void done.then(() => (exited = true));
    while (!exited) {
      try {
        const text = readFileSync(path, 'utf8');
        reads++;
        try {
          JSON.parse(text);
        } catch {
          partial++;
        }
      } catch {
        /* not held right now */
      }
      await new Promise((r) => setImmediate(r));
    }
    rmSync(dir, { recursive: true, force: true });
    expect(reads).toBeGreaterThan(100);
    expect(partial).toBe(0);
  });
});
