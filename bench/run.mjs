// npm run bench: sess against the raw commands it replaces, measured in the same run, reported as
// ratios of medians (these machines are noisy: absolute times are context, not results).
// Plain Node, nothing outside the repository. Set BENCH_ROUNDS to change the number of rounds.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'sess.js');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'sess-bench-')));
const env = {
  ...process.env,
  SESS_HOME: join(tmp, 'home'),
  NO_COLOR: '1',
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@sess.dev',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@sess.dev',
};

function makeRepo(fixture, name, { from = join(ROOT, 'bench', 'fixtures'), servers = true } = {}) {
  const root = join(tmp, name);
  cpSync(join(from, fixture), root, { recursive: true });
  if (servers) cpSync(join(ROOT, 'fixtures', '_servers'), join(root, 'servers'), { recursive: true });
  const git = (...args) => execFileSync('git', args, { cwd: root, env, encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-qm', 'fixture');
  return { root, git };
}

/** Wall time of one command, in ms; it must succeed. */
function time(cmd, args, cwd) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return ms;
}
const sess = (args, cwd) => time(process.execPath, [BIN, ...args], cwd);

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A free port below the ranges of outgoing connections and of sess's leases (nothing else takes it meanwhile). */
async function quietPort() {
  for (;;) {
    const port = 10000 + Math.floor(Math.random() * 10000);
    const free = await new Promise((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const results = [];
function report(name, sessTimes, baseTimes, target, baseline) {
  const ratio = median(sessTimes) / median(baseTimes);
  results.push({ name, baseline, sess: median(sessTimes), base: median(baseTimes), ratio, target });
  process.stderr.write(`  ${name}: ratio ${ratio.toFixed(2)} (target <= ${target})\n`);
}
/** A result that is not a ratio of times: `at least` (a throughput ratio) or `at most` (added ms). */
function reportValue(name, value, { atLeast, atMost }, base, sess, baseline) {
  results.push({ name, baseline, sess, base, ratio: value, target: atLeast ?? atMost, atLeast: atLeast !== undefined });
  process.stderr.write(`  ${name}: ${value.toFixed(2)} (target ${atLeast !== undefined ? `>= ${atLeast}` : `<= ${atMost}`})\n`);
}

async function freshHostUp(bootMs) {
  const { root, git } = makeRepo('host', `fresh-${bootMs}`);
  env.BOOT_MS = String(bootMs);
  const sessTimes = [];
  const rawTimes = [];
  // one warm-up of each, not counted: first runs pay for cold caches
  for (let i = -1; i < ROUNDS; i++) {
    const logs = join(tmp, `raw-logs-${i}`);
    mkdirSync(logs, { recursive: true });
    const wt = join(tmp, 'raw', `r${i}`);
    const [db, web] = [await freePort(), await freePort()];
    const raw = time('bash', [join(ROOT, 'bench', 'raw-host-up.sh'), root, wt, `raw-${i}`, String(db), String(web), logs], root);
    spawnSync('sh', ['-c', `pkill -KILL -f "servers/(tcp|http).js ($db|$web)"; true`]);
    git('worktree', 'remove', '--force', wt);
    git('branch', '-D', `raw-${i}`);
    rmSync(logs, { recursive: true, force: true });

    const s = sess(['up', `fresh-${i}`], root);
    sess(['rm', `fresh-${i}`], root);
    if (i >= 0) {
      rawTimes.push(raw);
      sessTimes.push(s);
    }
  }
  delete env.BOOT_MS;
  const label = bootMs ? `fresh host up, 2 x ${bootMs} ms boot` : 'fresh host up, 2 services';
  report(label, sessTimes, rawTimes, 1.25, 'git worktree add + 2 spawns + same probes (bash)');
}

function noopUp() {
  const { root } = makeRepo('host', 'noop');
  sess(['up', 'steady'], root);
  const sessTimes = [];
  const nodeTimes = [];
  for (let i = -1; i < ROUNDS * 2; i++) {
    const n = time(process.execPath, ['-e', '0'], root);
    const s = sess(['up', 'steady'], root);
    if (i >= 0) {
      nodeTimes.push(n);
      sessTimes.push(s);
    }
  }
  sess(['rm', 'steady'], root);
  report('no-op up of a running session', sessTimes, nodeTimes, 3, 'node -e 0');
}

function ls50() {
  const { root } = makeRepo('host', 'ls');
  for (let i = 0; i < 50; i++) {
    sess(['up', `s${i}`], root);
    if (i >= 5) sess(['down', `s${i}`], root);
  }
  const sessTimes = [];
  const nodeTimes = [];
  for (let i = -1; i < ROUNDS * 2; i++) {
    const n = time(process.execPath, ['-e', '0'], root);
    const s = sess(['ls'], root);
    if (i >= 0) {
      nodeTimes.push(n);
      sessTimes.push(s);
    }
  }
  for (let i = 0; i < 50; i++) sess(['rm', `s${i}`], root);
  report('ls with 50 sessions', sessTimes, nodeTimes, 2.5, 'node -e 0');
}

function freshContainerUp() {
  const { root, git } = makeRepo('container', 'container');
  const sessTimes = [];
  const rawTimes = [];
  for (let i = -1; i < Math.ceil(ROUNDS / 2); i++) {
    const wt = join(tmp, 'raw-c', `r${i}`);
    const project = `sess-bench-raw-${process.pid}-${i + 1}`;
    const t0 = process.hrtime.bigint();
    git('worktree', 'add', '--quiet', '-b', `rawc-${i}`, wt, 'HEAD');
    time('docker', ['compose', '-p', project, 'up', '-d', '--wait', '--quiet-pull'], wt);
    const raw = Number(process.hrtime.bigint() - t0) / 1e6;
    time('docker', ['compose', '-p', project, 'down', '--volumes'], wt);
    git('worktree', 'remove', '--force', wt);
    git('branch', '-D', `rawc-${i}`);

    const s = sess(['up', `c-${i}`], root);
    sess(['rm', `c-${i}`, '--volumes'], root);
    if (i >= 0) {
      rawTimes.push(raw);
      sessTimes.push(s);
    }
  }
  report('fresh container up, 2 services', sessTimes, rawTimes, 1.2, 'git worktree add + docker compose up -d --wait');
}

function noopContainerUp() {
  const { root } = makeRepo('container', 'container-noop');
  sess(['up', 'steady'], root);
  const state = JSON.parse(readFileSync(join(root, '.git', 'sess', 'sessions', 'steady', 'session.json'), 'utf8'));
  const { project, files, projectDir } = state.compose;
  const fileArgs = files.flatMap((f) => ['-f', f]);
  const sessTimes = [];
  const rawTimes = [];
  for (let i = -1; i < ROUNDS * 2; i++) {
    const raw = time('docker', ['compose', '-p', project, '--project-directory', projectDir, ...fileArgs, 'up', '-d'], root);
    const s = sess(['up', 'steady'], root);
    if (i >= 0) {
      rawTimes.push(raw);
      sessTimes.push(s);
    }
  }
  sess(['rm', 'steady', '--volumes'], root);
  report('no-op container up', sessTimes, rawTimes, 3, 'no-op docker compose up -d, same project');
}

/** Re-up after changing the env of one service out of four (web), against restarting it by hand. */
async function reupHost(bootMs) {
  const { root } = makeRepo('reup', `reup-${bootMs}`);
  env.BOOT_MS = String(bootMs);
  sess(['up', 'rel'], root);
  const wt = JSON.parse(
    spawnSync(process.execPath, [BIN, 'status', 'rel', '--json'], { cwd: root, env, encoding: 'utf8' }).stdout,
  ).worktree;
  const file = join(wt, 'sess.yaml');
  const text = readFileSync(file, 'utf8');
  // the raw baseline: the same web, started by hand beside it, restarted by hand
  const port = await freePort();
  const log = join(tmp, 'raw-web.log');
  const first = spawnSync(
    'sh',
    [
      '-c',
      `cd ${wt} && (WEB_VERSION=1 setsid sh -c "node servers/http.js ${port}" >>${log} 2>&1 </dev/null & echo $!) && until curl -fs -o /dev/null http://127.0.0.1:${port}/health; do sleep 0.05; done`,
    ],
    { encoding: 'utf8', env },
  );
  let pgid = first.stdout.trim().split('\n')[0];
  const sessTimes = [];
  const rawTimes = [];
  for (let i = -2; i < ROUNDS; i++) {
    const version = String(2 + (i & 1));
    const t0 = process.hrtime.bigint();
    const r = spawnSync('bash', [join(ROOT, 'bench', 'raw-host-restart.sh'), pgid, wt, String(port), log, version], {
      encoding: 'utf8',
      env,
    });
    const raw = Number(process.hrtime.bigint() - t0) / 1e6;
    pgid = r.stdout.trim();
    writeFileSync(file, text.replace('WEB_VERSION: "1"', `WEB_VERSION: "${version}"`));
    const s = sess(['up', 'rel'], root);
    // two rounds of warm-up: the two versions of sess.yaml are validated once each
    if (i >= 0) {
      rawTimes.push(raw);
      sessTimes.push(s);
    }
  }
  // the by-hand web and its group (sh's own kill takes no `--`: Node's does the job)
  try {
    process.kill(-Number(pgid), 'SIGKILL');
  } catch {
    /* already gone */
  }
  sess(['rm', 'rel', '--force'], root);
  delete env.BOOT_MS;
  const label = bootMs ? `re-up, 1 of 4 host, ${bootMs} ms boot` : 're-up, 1 of 4 host services changed';
  report(label, sessTimes, rawTimes, 1.5, 'restart that service by hand (bash)');
}

function reupContainer() {
  const { root } = makeRepo('reup-container', 'reup-c');
  sess(['up', 'rel'], root);
  const wt = JSON.parse(
    spawnSync(process.execPath, [BIN, 'status', 'rel', '--json'], { cwd: root, env, encoding: 'utf8' }).stdout,
  ).worktree;
  const file = join(wt, 'sess.yaml');
  const text = readFileSync(file, 'utf8');
  const project = `sess-bench-reup-${process.pid}`;
  const override = join(tmp, 'raw-override.yaml');
  const compose = (...args) => time('docker', ['compose', '-p', project, '-f', join(wt, 'compose.yaml'), '-f', override, ...args], wt);
  writeFileSync(override, 'services:\n  web:\n    environment:\n      WEB_VERSION: "1"\n');
  compose('up', '-d', '--wait');
  const sessTimes = [];
  const rawTimes = [];
  for (let i = -2; i < Math.ceil(ROUNDS / 2); i++) {
    const version = String(2 + (i & 1));
    writeFileSync(override, `services:\n  web:\n    environment:\n      WEB_VERSION: "${version}"\n`);
    const raw = compose('up', '-d', '--wait', 'web');
    writeFileSync(file, text.replace('WEB_VERSION: "1"', `WEB_VERSION: "${version}"`));
    const s = sess(['up', 'rel'], root);
    if (i >= 0) {
      rawTimes.push(raw);
      sessTimes.push(s);
    }
  }
  compose('down', '--volumes');
  sess(['rm', 'rel', '--force', '--volumes'], root);
  report('re-up, 1 of 4 compose services changed', sessTimes, rawTimes, 1.5, 'docker compose up -d --wait <that service>');
}

/**
 * The machine's proxy against a direct connection to the same backend (the tests' tiny server, a
 * 40-byte answer), alternating in one run, driven by autocannon with keep-alive connections:
 * throughput at 50 connections (ratio, at least 0.7), the p99 latency the proxy adds there (ms,
 * at most 2), and for context the p99 it adds at 1 connection (no queueing: its own cost per
 * request) and the CPU each process spends per request (why the ratio is what it is on a small
 * machine: load generator, proxy and backend share its cores).
 */
async function proxyBench() {
  const { default: autocannon } = await import('autocannon');
  const home = join(tmp, 'proxy-home');
  const [backendPort, proxyPort] = [await freePort(), await quietPort()];
  // the tests' tiny server, copied out of the package (whose "type": "module" would make it ESM)
  cpSync(join(ROOT, 'fixtures', '_servers'), join(tmp, 'servers'), { recursive: true });
  const backend = spawn(process.execPath, [join(tmp, 'servers', 'http.js'), String(backendPort)], { stdio: 'ignore', env });
  const penv = { ...env, SESS_HOME: home, SESS_PROXY_PORT: String(proxyPort) };
  let bare;
  try {
    // the route table as the API writes it (core/proxy/table.ts); a bench cannot load the TypeScript API
    mkdirSync(join(home, 'proxy'), { recursive: true });
    const route = { service: 'web', label: 'web', target: `http://127.0.0.1:${backendPort}`, primary: true };
    const table = {
      version: 1,
      generation: 1,
      repos: { bench: { name: 'app', label: 'app', sessions: { bench: { label: 'bench', routes: [route], updated: '' } } } },
    };
    writeFileSync(join(home, 'proxy', 'routes.json'), JSON.stringify(table));
    const started = spawnSync(process.execPath, [BIN, 'proxy', 'start', '--json'], { env: penv, encoding: 'utf8' });
    if (started.status !== 0) throw new Error(`sess proxy start failed:\n${started.stderr}`);
    const proxyPid = JSON.parse(started.stdout).pid;
    const direct = { url: `http://127.0.0.1:${backendPort}/`, pid: backend.pid };
    const proxied = { url: `http://127.0.0.1:${proxyPort}/`, headers: { host: `web.bench.app.localhost:${proxyPort}` }, pid: proxyPid };
    for (let i = 0; i < 100 && !((await answers(direct)) && (await answers(proxied))); i++) await new Promise((r) => setTimeout(r, 50));

    /** CPU time (ms) a process has used so far, from /proc (Linux). */
    const cpuMs = (pid) => {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) * 10;
    };
    /** One autocannon run; every answer's latency kept exactly (autocannon's histogram has 1 ms steps). */
    const cannon = (target, connections, seconds) =>
      new Promise((resolve, reject) => {
        const latencies = [];
        const before = { backend: cpuMs(backend.pid), proxy: cpuMs(target.pid), self: process.cpuUsage() };
        const options = { url: target.url, headers: target.headers ?? {}, connections, duration: seconds };
        const instance = autocannon(options, (error, result) => {
          if (error) return reject(error);
          if (result.non2xx || result.errors || result.timeouts)
            return reject(new Error(`${target.url}: ${result.non2xx} non-2xx, ${result.errors} errors`));
          const n = result.requests.total;
          const self = process.cpuUsage(before.self);
          latencies.sort((a, b) => a - b);
          resolve({
            rps: n / seconds,
            p99: latencies[Math.floor(latencies.length * 0.99)],
            // microseconds of CPU per request
            cpu: {
              backend: ((cpuMs(backend.pid) - before.backend) * 1000) / n,
              proxy: target.pid === backend.pid ? 0 : ((cpuMs(target.pid) - before.proxy) * 1000) / n,
              loadgen: (self.user + self.system) / n,
            },
          });
        });
        instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
      });

    // the yardstick, in the same rounds: the least a Node proxy does (bench/bare-proxy.mjs)
    const barePort = await freePort();
    bare = spawn(process.execPath, [join(ROOT, 'bench', 'bare-proxy.mjs'), String(barePort), String(backendPort)], { stdio: 'ignore' });
    const bareTarget = { url: `http://127.0.0.1:${barePort}/`, pid: bare.pid };
    for (let i = 0; i < 100 && !(await answers(bareTarget)); i++) await new Promise((r) => setTimeout(r, 50));

    const rounds = Math.max(3, Math.ceil(ROUNDS / 3));
    const seconds = Number(process.env.BENCH_PROXY_SECONDS ?? 3);
    for (const target of [direct, proxied, bareTarget]) await cannon(target, 50, 1);
    const runs = { direct: [], proxy: [], bare: [] };
    const added = [];
    for (let i = 0; i < rounds; i++) {
      const d = await cannon(direct, 50, seconds);
      const p = await cannon(proxied, 50, seconds);
      runs.direct.push(d);
      runs.proxy.push(p);
      runs.bare.push(await cannon(bareTarget, 50, seconds));
      added.push(p.p99 - d.p99);
    }
    const rps = (side) => median(runs[side].map((r) => r.rps));
    const p99 = (side) => median(runs[side].map((r) => r.p99));
    reportValue(
      'proxy keep-alive req/s, 50 conns',
      rps('proxy') / rps('direct'),
      { atLeast: 0.7 },
      rps('direct'),
      rps('proxy'),
      'direct to the backend; columns: req/s',
    );
    reportValue(
      'proxy p99 added ms, 50 conns',
      median(added),
      { atMost: 2 },
      p99('direct'),
      p99('proxy'),
      'direct to the backend; columns: p99 ms',
    );
    reportValue(
      '(context) bare node:http proxy req/s',
      rps('bare') / rps('direct'),
      { atLeast: 0.7 },
      rps('direct'),
      rps('bare'),
      'bench/bare-proxy.mjs, the least a Node proxy does',
    );
    const cpu = (side, who) => median(runs[side].map((r) => r.cpu[who])).toFixed(0);
    process.stderr.write(
      `  CPU per request (us): direct: backend ${cpu('direct', 'backend')}, load generator ${cpu('direct', 'loadgen')}; ` +
        `proxied: backend ${cpu('proxy', 'backend')}, proxy ${cpu('proxy', 'proxy')}, load generator ${cpu('proxy', 'loadgen')}; ` +
        `bare: backend ${cpu('bare', 'backend')}, proxy ${cpu('bare', 'proxy')}, load generator ${cpu('bare', 'loadgen')}\n`,
    );

    // one connection: nothing queues, so the difference is the proxy's own time per request
    const single = [];
    const singleP99 = { direct: [], proxy: [] };
    for (let i = 0; i < rounds; i++) {
      const d = await cannon(direct, 1, 2);
      const p = await cannon(proxied, 1, 2);
      singleP99.direct.push(d.p99);
      singleP99.proxy.push(p.p99);
      single.push(p.p99 - d.p99);
    }
    reportValue(
      '(context) p99 added ms, 1 conn',
      median(single),
      { atMost: 2 },
      median(singleP99.direct),
      median(singleP99.proxy),
      'direct to the backend; columns: p99 ms',
    );
  } finally {
    spawnSync(process.execPath, [BIN, 'proxy', 'stop'], { env: penv });
    bare?.kill();
    backend.kill();
  }
}

function answers(target) {
  return new Promise((resolve) => {
    const req = httpRequest(target.url, { headers: target.headers ?? {}, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * Blue-green against recreate, the same change of the same host service (web, of the re-up
 * fixture), in two sessions of one repository, alternating in each round: the time from the start
 * of `sess up` until the stable URL answers with the new version, and the requests that failed
 * meanwhile (a client asks through the URL about 50 times a second during every up).
 */
async function blueGreenBench() {
  const { root } = makeRepo('reup', 'bluegreen');
  const proxyPort = Number(env.SESS_PROXY_PORT);
  const sessions = { recreate: 'rc', 'blue-green': 'bg' };
  const files = {};
  const urls = {};
  try {
    for (const [strategy, name] of Object.entries(sessions)) {
      sess(['up', name], root);
      const view = JSON.parse(spawnSync(process.execPath, [BIN, 'status', name, '--json'], { cwd: root, env, encoding: 'utf8' }).stdout);
      files[strategy] = join(view.worktree, 'sess.yaml');
      urls[strategy] = view.services.find((sv) => sv.name === 'web').url;
      const text = readFileSync(files[strategy], 'utf8');
      // the tiny server says its GREETING: the answer tells which version serves
      writeFileSync(
        files[strategy],
        text.replace('env: { WEB_VERSION: "1" }', `env: { WEB_VERSION: "1", GREETING: "v1" }\n    replace: ${strategy}`),
      );
      sess(['up', name], root); // the strategy is no change of the service: nothing restarts
    }
    const served = { recreate: [], 'blue-green': [] };
    const failed = { recreate: 0, 'blue-green': 0 };
    for (let i = -1; i < ROUNDS; i++) {
      const version = String(2 + (i & 1));
      for (const [strategy, name] of Object.entries(sessions)) {
        const file = files[strategy];
        writeFileSync(file, readFileSync(file, 'utf8').replace(/GREETING: "v\d+"/, `GREETING: "v${version}"`));
        const { ms, failures } = await untilServing(root, name, urls[strategy], proxyPort, version);
        if (i >= 0) {
          served[strategy].push(ms);
          failed[strategy] += failures;
        }
      }
    }
    report('blue-green up until the URL serves it', served['blue-green'], served.recreate, 1.5, 'recreate, same change (until served)');
    reportValue(
      'failed requests during blue-green ups',
      failed['blue-green'],
      { atMost: 0 },
      failed.recreate,
      failed['blue-green'],
      `(recreate: ${failed.recreate}); columns: failed requests in all rounds`,
    );
  } finally {
    for (const name of Object.values(sessions)) spawnSync(process.execPath, [BIN, 'rm', name, '--force'], { cwd: root, env });
  }
}

/** Run `sess up name` while asking through `url`; ms from its start until the URL answers the new version. */
async function untilServing(root, name, url, proxyPort, version) {
  const host = new URL(url).host;
  const ask = () =>
    new Promise((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port: proxyPort, path: '/', headers: { host }, agent: false, timeout: 5000 }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ ok: res.statusCode === 200, body }));
      });
      req.on('error', () => resolve({ ok: false, body: '' }));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  let failures = 0;
  let servedAt;
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [BIN, 'up', name], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  let exited = false;
  const done = new Promise((resolve) => child.on('close', (code) => ((exited = true), resolve(code))));
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  while (!exited || servedAt === undefined) {
    const r = await ask();
    if (!r.ok) failures++;
    else if (servedAt === undefined && r.body.includes(`(v${version})`)) servedAt = Number(process.hrtime.bigint() - t0) / 1e6;
    if (Number(process.hrtime.bigint() - t0) / 1e6 > 60_000) throw new Error(`sess up ${name}: the new version never answered`);
    await sleep(20);
  }
  const code = await done;
  if (code !== 0) throw new Error(`sess up ${name} failed (${code}):\n${stderr}`);
  return { ms: servedAt, failures };
}

/**
 * A container session on a remote engine over ssh (modes/remote) against the same session on the
 * local socket, alternating in each round: the remote is this machine behind a private loopback
 * sshd (bench/sshd.mjs), so the difference is what the remote path adds (ssh master, forwarded
 * docker.sock, rsync of the worktree, port forwards), not a network. Two repositories of
 * fixtures/remote, one per side. A no-op up of a running session, then a fresh up (rm --force
 * --volumes between rounds, not timed: a fresh remote up also opens the ssh master, as the rm of a
 * machine's last session closes it). Ratios remote/local: of medians in the table, each round's on
 * stderr. BENCH_REMOTE_DEBUG=1 adds one no-op remote up with SESS_DEBUG=1 and prints its slowest spawns.
 */
async function remoteBench() {
  const { startSshd } = await import('./sshd.mjs');
  const fixtures = { from: join(ROOT, 'fixtures'), servers: false };
  const remote = makeRepo('remote', 'remote-r', fixtures);
  const local = makeRepo('remote', 'remote-l', fixtures);
  const sshd = await startSshd();
  env.SESS_SSH_CONFIG = sshd.configFile;
  const toRemote = ['--remote-host', sshd.target];
  const made = { remote: new Set(), local: new Set() };
  let place;
  const upRemote = (name) => (made.remote.add(name), sess(['up', name, ...toRemote], remote.root));
  const upLocal = (name) => (made.local.add(name), sess(['up', name], local.root));
  const rm = (side, name) => {
    sess(['rm', name, '--force', '--volumes'], side === 'remote' ? remote.root : local.root);
    made[side].delete(name);
  };
  const roundRatios = (label, r, l) => {
    const each = r.map((x, i) => x / l[i]);
    process.stderr.write(
      `  ${label}: remote/local each round: ${each.map((x) => x.toFixed(2)).join(' ')}; median of rounds ${median(each).toFixed(2)}` +
        ` (medians: remote ${median(r).toFixed(0)} ms, local ${median(l).toFixed(0)} ms)\n`,
    );
  };
  try {
    // no-op up of a running session; the local side also against the raw no-op compose up of its project
    upRemote('steady');
    upLocal('steady');
    place = findPlace(JSON.parse(readFileSync(join(remote.root, '.git', 'sess', 'sessions', 'steady', 'session.json'), 'utf8')));
    const state = JSON.parse(readFileSync(join(local.root, '.git', 'sess', 'sessions', 'steady', 'session.json'), 'utf8'));
    const { project, files, projectDir } = state.compose;
    const rawArgs = ['compose', '-p', project, '--project-directory', projectDir, ...files.flatMap((f) => ['-f', f]), 'up', '-d'];
    // for context: one command run there over the session's ssh master (what each remote exec, rsync's included, costs at least)
    const control = join(tmpdir(), `sess-${process.getuid?.() ?? 0}`, place.key, 'c');
    const exec = ['-F', sshd.configFile, '-S', control, '-p', String(sshd.port), '-o', 'BatchMode=yes', 'root@127.0.0.1', 'true'];
    const noop = { remote: [], local: [], raw: [], exec: [] };
    for (let i = -1; i < ROUNDS; i++) {
      const raw = time('docker', rawArgs, local.root);
      const l = upLocal('steady');
      const r = upRemote('steady');
      const x = time('ssh', exec, remote.root);
      if (i >= 0) {
        noop.raw.push(raw);
        noop.local.push(l);
        noop.remote.push(r);
        noop.exec.push(x);
      }
    }
    if (process.env.BENCH_REMOTE_DEBUG) debugRemoteNoop(remote.root, toRemote);
    report('no-op container up, remote engine', noop.remote, noop.local, 1.3, 'no-op up of the same fixture, local socket');
    roundRatios('no-op', noop.remote, noop.local);
    process.stderr.write(
      `  (context) one remote command over the master (ssh -S ... true): median ${median(noop.exec).toFixed(0)} ms; ` +
        `remote minus local no-op up: median ${median(noop.remote.map((r, i) => r - noop.local[i])).toFixed(0)} ms\n`,
    );
    report('(context) no-op container up, local', noop.local, noop.raw, 3, 'no-op docker compose up -d, same project');
    rm('remote', 'steady');
    rm('local', 'steady');

    // fresh up, then rm --force --volumes (not timed)
    const fresh = { remote: [], local: [] };
    for (let i = -1; i < Math.ceil(ROUNDS / 2); i++) {
      const l = upLocal(`f-${i}`);
      rm('local', `f-${i}`);
      const r = upRemote(`f-${i}`);
      rm('remote', `f-${i}`);
      if (i >= 0) {
        fresh.local.push(l);
        fresh.remote.push(r);
      }
    }
    report('fresh container up, remote engine', fresh.remote, fresh.local, 1.5, 'fresh up of the same fixture, local socket');
    roundRatios('fresh', fresh.remote, fresh.local);
  } finally {
    // whatever a failure left: the sessions (their containers, volumes, ssh masters), then the sshd
    for (const side of ['remote', 'local'])
      for (const name of made[side])
        spawnSync(process.execPath, [BIN, 'rm', name, '--force', '--volumes'], { cwd: side === 'remote' ? remote.root : local.root, env });
    sshd.stop();
    delete env.SESS_SSH_CONFIG;
    // rm leaves the (empty) folders of the repository's copies there and of the connection here: the
    // remote is this machine, so they go the same way (rmdir: only if empty)
    if (place)
      for (const dir of [dirname(place.copy), join(tmpdir(), `sess-${process.getuid?.() ?? 0}`, place.key)])
        try {
          rmdirSync(dir);
        } catch {
          /* not empty, or gone */
        }
  }
}

/** The remote place a session's state keeps (the object with its copy's path and connection key). */
function findPlace(value) {
  if (!value || typeof value !== 'object') return undefined;
  if (typeof value.copy === 'string' && typeof value.key === 'string') return value;
  for (const v of Object.values(value)) {
    const found = findPlace(v);
    if (found) return found;
  }
  return undefined;
}

/** One more no-op remote up with SESS_DEBUG=1: its slowest spawns, and the total, on stderr. */
function debugRemoteNoop(root, toRemote) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, 'up', 'steady', ...toRemote], {
    cwd: root,
    env: { ...env, SESS_DEBUG: '1' },
    encoding: 'utf8',
  });
  const total = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`sess up steady (SESS_DEBUG) failed (${r.status}):\n${r.stderr}`);
  const spawns = [];
  for (const line of r.stderr.split('\n')) {
    const m = /^\[sess debug \+(\d+)ms\] (.*) \((\d+) ms, exit [^)]*\)$/.exec(line);
    if (m) spawns.push({ at: Number(m[1]), cmd: m[2], ms: Number(m[3]) });
  }
  const last = Math.max(...r.stderr.split('\n').map((l) => Number(/^\[sess debug \+(\d+)ms\]/.exec(l)?.[1] ?? 0)));
  process.stderr.write(
    `  SESS_DEBUG no-op remote up: ${total.toFixed(0)} ms wall, last debug line at +${last} ms, ${spawns.length} spawns, ` +
      `${spawns.reduce((a, s) => a + s.ms, 0)} ms summed (some run in parallel); slowest:\n`,
  );
  for (const s of [...spawns].sort((a, b) => b.ms - a.ms).slice(0, 8))
    process.stderr.write(`    ${String(s.ms).padStart(5)} ms  (ended +${s.at} ms)  ${s.cmd.slice(0, 160)}\n`);
}

const only = process.argv.slice(2);
const suites = {
  fresh: () => freshHostUp(0),
  'fresh-boot': () => freshHostUp(500),
  noop: noopUp,
  ls: ls50,
  container: freshContainerUp,
  'container-noop': noopContainerUp,
  reup: () => reupHost(0),
  'reup-boot': () => reupHost(500),
  'reup-container': reupContainer,
  proxy: proxyBench,
  bluegreen: blueGreenBench,
  remote: remoteBench,
};
// routed sessions start the machine's proxy: one of the bench's own, stopped at the end
env.SESS_PROXY_PORT = String(await quietPort());
try {
  for (const [name, fn] of Object.entries(suites)) {
    if (only.length && !only.includes(name)) continue;
    process.stderr.write(`${name}...\n`);
    await fn();
  }
} finally {
  spawnSync(process.execPath, [BIN, 'proxy', 'stop'], { env, stdio: 'ignore' });
  rmSync(tmp, { recursive: true, force: true });
}

const pad = (s, n) => String(s).padEnd(n);
const num = (x) => (x < 10 ? x.toFixed(2) : x.toFixed(0));
console.log(
  `\nsess bench: ${ROUNDS} rounds, medians, ${new Date().toISOString()}, node ${process.version}, ${(await import('node:os')).cpus().length} cpus`,
);
console.log(pad('benchmark', 40) + pad('ratio', 8) + pad('target', 12) + pad('sess ms', 10) + pad('base ms', 10) + 'baseline');
for (const r of results) {
  const ok = (r.atLeast ? r.ratio >= r.target : r.ratio <= r.target) ? 'ok' : r.atLeast ? 'UNDER' : 'OVER';
  console.log(
    pad(r.name, 40) +
      pad(r.ratio.toFixed(2), 8) +
      pad(`${r.atLeast ? '>=' : '<='}${r.target} ${ok}`, 12) +
      pad(num(r.sess), 10) +
      pad(num(r.base), 10) +
      r.baseline,
  );
}
