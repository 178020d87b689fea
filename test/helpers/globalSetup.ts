// One machine-wide port ledger for the whole run (as on a real machine: sessions of every test
// repository lease from it), in a folder of its own so the developer's real ledger is untouched.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';

export default function setup() {
  if (!existsSync(join(process.cwd(), 'dist', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  }
  const home = mkdtempSync(join(tmpdir(), 'sess-test-home-'));
  process.env.SESS_HOME = home;
  return () => rmSync(home, { recursive: true, force: true });
}
