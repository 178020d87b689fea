// The proxy's view of routes.json: a write is seen at once, a replaced folder is watched again,
// a file that is not a table leaves the last good one in place.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RouteWatch } from '../../proxy/routeWatch.js';

const table = (generation: number, target: string) =>
  JSON.stringify({
    version: 1,
    generation,
    repos: {
      r: { name: 'app', label: 'app', sessions: { s: { label: 's', routes: [{ service: 'web', label: 'web', target, primary: true }] } } },
    },
  });

/** Written as the API writes it: whole, then renamed over the old file. */
function write(file: string, text: string) {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

async function until(check: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return Date.now() - t0;
}

describe('RouteWatch', () => {
  let watch: RouteWatch | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'sess-watch-'));
  afterEach(() => watch?.stop());

  it('sees a write at once, keeps the last good table through garbage, and watches a replaced folder', async () => {
    const folder = join(dir, 'proxy');
    const file = join(folder, 'routes.json');
    mkdirSync(folder, { recursive: true });
    write(file, table(1, 'http://127.0.0.1:1'));
    const lines: string[] = [];
    watch = new RouteWatch(file, (line) => lines.push(line));
    watch.start();
    const target = () => watch!.current.hosts.get('web.s.app.localhost')?.target;
    expect(target()).toBe('http://127.0.0.1:1');

    write(file, table(2, 'http://127.0.0.1:2'));
    expect(await until(() => target() === 'http://127.0.0.1:2', 100)).toBeLessThan(100);

    write(file, '{"version": 1, "rep');
    await until(() => watch!.current.error !== undefined, 100);
    expect(target()).toBe('http://127.0.0.1:2');
    expect(watch.current.table.generation).toBe(2);
    expect(lines.some((l) => l.includes('still serving generation 2'))).toBe(true);

    // the folder removed and made again (someone cleared $SESS_HOME): seen by the safety look
    rmSync(folder, { recursive: true });
    mkdirSync(folder);
    write(file, table(3, 'http://127.0.0.1:3'));
    await until(() => target() === 'http://127.0.0.1:3', 2500);
    expect(watch.current.error).toBeUndefined();
    // and from then on watched again: the next write is seen at once
    write(file, table(4, 'http://127.0.0.1:4'));
    expect(await until(() => target() === 'http://127.0.0.1:4', 100)).toBeLessThan(100);
  });
});
