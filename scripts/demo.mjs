// npm run demo: the main job on a throwaway repository made from scripts/demo. Two branches up
// side by side in host mode, their URLs printed and fetched, then both torn down.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'sess.js');
const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'sess-demo-')));
const repo = join(tmp, 'shop');
const env = {
  ...process.env,
  GIT_AUTHOR_NAME: 'demo',
  GIT_AUTHOR_EMAIL: 'demo@sess.dev',
  GIT_COMMITTER_NAME: 'demo',
  GIT_COMMITTER_EMAIL: 'demo@sess.dev',
};

function sh(title, file, args) {
  process.stdout.write(`\n\x1b[1m$ ${title}\x1b[0m\n`);
  const r = spawnSync(file, args, { cwd: repo, env, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${title} exited with ${r.status}`);
}
const sess = (...args) => sh(`sess ${args.join(' ')}`, process.execPath, [BIN, ...args]);

try {
  cpSync(join(ROOT, 'scripts', 'demo'), repo, { recursive: true });
  cpSync(join(ROOT, 'fixtures', '_servers'), join(repo, 'servers'), { recursive: true });
  for (const args of [
    ['init', '-q', '-b', 'main'],
    ['add', '-A'],
    ['commit', '-qm', 'demo app'],
  ]) {
    execFileSync('git', args, { cwd: repo, env });
  }
  console.log(`demo repository: ${repo}`);
  sess('up', 'feature/login');
  sess('up', 'fix/cart');
  sess('ls');
  for (const name of ['feature-login', 'fix-cart']) {
    const view = JSON.parse(execFileSync(process.execPath, [BIN, 'status', name, '--json'], { cwd: repo, env, encoding: 'utf8' }));
    const url = `http://127.0.0.1:${view.ports.web}/`;
    const body = await (await fetch(url)).text();
    console.log(`GET ${url} -> ${body.trim()}`);
  }
  sess('down', 'fix-cart');
  sess('up', 'fix-cart');
  sess('rm', 'feature-login');
  sess('rm', 'fix-cart');
  sess('ls');
  console.log('\ndemo done: both sessions came up side by side on their own ports and are gone again.');
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
