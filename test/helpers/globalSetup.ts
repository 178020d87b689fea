// One machine-wide port ledger for the whole run (as on a real machine: sessions of every test
// repository lease from it), in a folder of its own so the developer's real ledger is untouched.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

export default function setup() {
  if (!existsSync(join(process.cwd(), 'dist', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  }
  const home = mkdtempSync(join(tmpdir(), 'sess-test-home-'));
  process.env.SESS_HOME = home;
  // never the developer's proxy port (7377): a proxy of the run's own
  process.env.SESS_PROXY_PORT = String(10000 + Math.floor(Math.random() * 10000));
  return () => {
    stopTestProxies();
    rmSync(home, { recursive: true, force: true });
  };
}

/** The proxies sess started for the run's test homes (detached, they outlive their tests). */
function stopTestProxies(): void {
  const program = join(process.cwd(), 'dist', 'proxy.js');
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (!cmdline.includes(program)) continue;
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      const home = env.find((kv) => kv.startsWith('SESS_HOME='))?.slice('SESS_HOME='.length) ?? '';
      if (home.startsWith(join(tmpdir(), 'sess-'))) process.kill(Number(entry), 'SIGTERM');
    } catch {
      /* gone, or not ours to read */
    }
  }
}
