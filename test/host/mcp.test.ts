// `sess mcp` driven by the SDK's own client over stdio, against real host-mode sessions: the tools,
// what they return (the CLI's --json documents), progress, cancellation rolled back like Ctrl+C,
// errors as tool errors with the CLI's exit-code meaning, concurrency through the session lock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, alive, eventually, leasesOf, makeRepo, ourProcesses, worktrees, type TestRepo } from '../helpers/sess.js';
import { closeServersAfterEach, doc, forget, serve, toolError } from '../helpers/mcp.js';

const TOOLS = ['up', 'down', 'restart', 'promote', 'rm', 'ls', 'status', 'logs', 'exec', 'env', 'history', 'doctor'];

closeServersAfterEach();

function sessionDirs(repo: TestRepo): string[] {
  const dir = join(repo.root, '.git', 'sess', 'sessions');
  return existsSync(dir) ? readdirSync(dir) : [];
}

describe('sess mcp, host sessions', () => {
  let repo: TestRepo;
  beforeAll(() => {
    repo = makeRepo('host-basic');
  });
  afterAll(() => repo.cleanup());

  it('lists every tool with a description and an input schema; rm is not forced by default', async () => {
    const s = await serve(repo);
    const { tools } = await s.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(TOOLS);
    for (const t of tools) {
      expect(t.inputSchema.type, t.name).toBe('object');
      expect(t.description!.length, t.name).toBeGreaterThan(80);
    }
    const rm = tools.find((t) => t.name === 'rm')!;
    expect((rm.inputSchema.properties as any).force.default).toBe(false);
    expect(rm.annotations?.destructiveHint).toBe(true);
    expect((tools.find((t) => t.name === 'exec')!.inputSchema.properties as any).command.type).toBe('array');
  });

  it('up takes remote_host and context as the CLI takes --remote-host and --context: bad ones are usage errors', async () => {
    const s = await serve(repo);
    const bad = toolError(await s.call('up', { branch: 'feature/far', remote_host: '-oProxyCommand=touch /tmp/sess-mcp-pwned' }));
    expect(bad).toMatchObject({ kind: 'usage', exitCode: 2 });
    expect(bad.message).toContain('not user@box');
    // a host-mode session cannot run on a remote engine
    expect(toolError(await s.call('up', { branch: 'feature/far', remote_host: 'dev@box' })).message).toContain('container mode only');
    expect(toolError(await s.call('up', { branch: 'feature/far', remote_host: 'dev@box', context: 'x' })).kind).toBe('usage');
    expect(existsSync('/tmp/sess-mcp-pwned')).toBe(false);
    expect(worktrees(repo)).toEqual([]);
  });

  it("up, status, exec, logs, env, history, down, rm: the CLI's documents, progress on the way", async () => {
    const s = await serve(repo);
    const progress: string[] = [];
    const up = await s.call('up', { branch: 'feature/mcp' }, { progress });
    const view = doc(up);
    expect(view).toMatchObject({ name: 'feature-mcp', branch: 'feature/mcp', mode: 'host', status: 'up' });
    expect(view.services.map((x: any) => [x.name, x.state])).toEqual([
      ['db', 'running'],
      ['web', 'running'],
    ]);
    expect(up.content[0].text).toMatch(/^feature-mcp is up \(host mode, branch feature\/mcp/);
    expect(progress.some((p) => /^✓ worktree /.test(p))).toBe(true);
    expect(progress).toContain('✓ web is ready');
    expect(await (await fetch(`http://127.0.0.1:${view.ports.web}/`)).text()).toContain('hello from feature-mcp');

    // status is the document `sess status --json` prints
    expect(doc(await s.call('status', { session: 'feature/mcp' }))).toEqual(await repo.json(['status', 'feature-mcp']));

    const script = 'console.log(process.env.SESS_SESSION, process.cwd()); console.error("to stderr"); process.exit(3)';
    const ran = doc(await s.call('exec', { session: 'feature-mcp', command: ['node', '-e', script] }));
    expect(ran).toMatchObject({
      exitCode: 3,
      signal: null,
      timedOut: false,
      stderr: 'to stderr\n',
      omittedBytes: { stdout: 0, stderr: 0 },
    });
    expect(ran.stdout).toBe(`feature-mcp ${view.worktree}\n`);
    expect(ran.limits).toEqual({ timeoutMs: 120_000, maxOutputBytes: 65_536 });

    const big = await s.call('exec', {
      session: 'feature-mcp',
      command: ['node', '-e', 'process.stdout.write("x".repeat(200000) + "END")'],
      maxOutputBytes: 1024,
    });
    const capped = doc(big);
    expect(capped.exitCode).toBe(0);
    expect(capped.omittedBytes.stdout).toBe(200_003 - 1024);
    expect(capped.stdout).toMatch(/^x{512}\n\[\.\.\. 198979 bytes omitted \.\.\.\]\nx{509}END$/);
    expect(big.content[0].text).toContain('stdout capped: 198979 bytes omitted');

    const slow = doc(
      await s.call('exec', { session: 'feature-mcp', command: ['node', '-e', 'setTimeout(() => {}, 60000)'], timeoutSeconds: 0.5 }),
    );
    expect(slow).toMatchObject({ timedOut: true, exitCode: 137, signal: 'SIGKILL' });
    expect(slow.durationMs).toBeLessThan(10_000);

    // a helper left running in the background does not hold the call: it is over when the command exits
    const bg = doc(await s.call('exec', { session: 'feature-mcp', command: ['sh', '-c', 'sleep 5 & echo started'] }));
    expect(bg).toMatchObject({ exitCode: 0, stdout: 'started\n', timedOut: false });
    expect(bg.durationMs).toBeLessThan(3000);

    // the command is never read by a shell: a shell line as the program is a program of that name
    const marker = join(repo.tmp, 'pwned');
    const notShell = doc(await s.call('exec', { session: 'feature-mcp', command: [`touch ${marker}; true`] }));
    expect(notShell.exitCode).toBe(127);
    expect(notShell.stderr).toContain('command not found');
    expect(existsSync(marker)).toBe(false);
    expect(toolError(await s.call('exec', { session: 'feature-mcp', command: `touch ${marker}` })).kind).toBe('usage');
    expect(existsSync(marker)).toBe(false);

    const logs = doc(await s.call('logs', { session: 'feature-mcp', services: ['web'], tail: 5 }));
    expect(logs.text).toContain(`web | listening on ${view.ports.web}`);
    expect(logs.text).not.toContain('db |');
    expect(logs).toMatchObject({ session: 'feature-mcp', services: ['web'], tail: 5, omittedBytes: 0 });
    // a log larger than the cap: its middle is dropped, and the result says so
    appendFileSync(
      join(repo.root, '.git', 'sess', 'sessions', 'feature-mcp', 'logs', 'db.log'),
      'noise '.repeat(20).concat('\n').repeat(500),
    );
    const long = await s.call('logs', { session: 'feature-mcp', tail: 10_000, maxBytes: 2048 });
    const longDoc = doc(long);
    expect(longDoc.omittedBytes).toBeGreaterThan(50_000);
    expect(Buffer.byteLength(longDoc.text)).toBeLessThan(2048 + 100);
    expect(longDoc.text).toContain('bytes omitted');
    expect(long.content[0].text).toMatch(/capped at 2048 bytes, \d+ bytes omitted/);

    const env = doc(await s.call('env', { session: 'feature-mcp' }));
    expect(env).toMatchObject({ SESS_SESSION: 'feature-mcp', SESS_PORT_WEB: String(view.ports.web) });

    const history = await s.call('history', { session: 'feature-mcp' });
    const releases = doc(history, 'releases');
    expect(releases.map((r: any) => [r.trigger, r.status])).toEqual([['fresh', 'completed']]);

    const listed = doc(await s.call('ls'), 'sessions');
    expect(listed.map((x: any) => [x.name, x.status])).toEqual([['feature-mcp', 'up']]);

    const downProgress: string[] = [];
    const down = doc(await s.call('down', { session: 'feature-mcp' }, { progress: downProgress }));
    expect(down.status).toBe('down');
    expect(downProgress.some((p) => p.includes('is down'))).toBe(true);
    expect(ourProcesses(repo.id(), 'feature-mcp')).toEqual([]);
    expect(leasesOf(repo, 'feature-mcp')).toEqual(view.ports); // down keeps the leases

    const rm = doc(await s.call('rm', { session: 'feature-mcp' }));
    expect(rm.name).toBe('feature-mcp');
    expect(rm.removed).toContain(`worktree ${view.worktree}`);
    expect(worktrees(repo)).toEqual([]);
    expect(leasesOf(repo, 'feature-mcp')).toEqual({});
    expect(doc(await s.call('ls'), 'sessions')).toEqual([]);
  });

  it('an invalid branch is a usage tool error and creates nothing; so are bad arguments', async () => {
    const s = await serve(repo);
    const bad = toolError(await s.call('up', { branch: 'bad..name' }));
    expect(bad).toMatchObject({ kind: 'usage', exitCode: 2 });
    expect(bad.message).toContain('invalid branch name "bad..name"');
    for (const args of [{ branch: '--upload-pack=touch x' }, { branch: 'ok', unknown: true }, { pr: 'one' }, {}]) {
      expect(toolError(await s.call('up', args)).kind, JSON.stringify(args)).toBe('usage');
    }
    expect(toolError(await s.call('rm', { session: 'nope', force: 'yes' }))).toMatchObject({ kind: 'usage', exitCode: 2 });
    const unknown = toolError(await s.call('status', { session: 'nope' }));
    expect(unknown).toMatchObject({ kind: 'usage', exitCode: 2 });
    expect(unknown.hint).toBeTruthy();
    expect(worktrees(repo)).toEqual([]);
    expect(sessionDirs(repo)).toEqual([]);
    expect(repo.git('branch', '--format=%(refname:short)')).toBe('main');
    expect(ourProcesses(repo.id())).toEqual([]);
    // and the server still answers
    expect(doc(await s.call('ls'), 'sessions')).toEqual([]);
  });

  it('two ups of different sessions at once both succeed, on distinct ports', async () => {
    const s = await serve(repo);
    const [a, b] = await Promise.all([s.call('up', { branch: 'par-a' }), s.call('up', { branch: 'par-b' })]);
    const va = doc(a);
    const vb = doc(b);
    expect([va.status, vb.status]).toEqual(['up', 'up']);
    const ports = [...Object.values(va.ports), ...Object.values(vb.ports)];
    expect(new Set(ports).size).toBe(4);
    for (const name of ['par-a', 'par-b']) doc(await s.call('rm', { session: name }));
  });

  it('two servers bringing up one session serialise on its lock: one creates it, the other finds it up', async () => {
    const [s1, s2] = await Promise.all([serve(repo), serve(repo)]);
    const [a, b] = await Promise.all([s1.call('up', { branch: 'shared' }), s2.call('up', { branch: 'shared' })]);
    expect(doc(a).ports).toEqual(doc(b).ports);
    const releases = doc(await s1.call('history', { session: 'shared' }), 'releases');
    expect(releases.map((r: any) => [r.trigger, r.status])).toEqual([
      ['fresh', 'completed'],
      ['resume', 'completed'],
    ]);
    expect(doc(await s2.call('status', { session: 'shared' })).status).toBe('up');
    doc(await s1.call('rm', { session: 'shared' }));
  });

  it('down with all takes every session of the repository down; all and a session together are a usage error', async () => {
    const s = await serve(repo);
    for (const branch of ['all-one', 'all-two']) expect((await repo.sess(['up', branch])).code).toBe(0);
    expect(toolError(await s.call('down', { session: 'all-one', all: true })).kind).toBe('usage');
    expect(toolError(await s.call('down', {})).kind).toBe('usage');
    const result = doc(await s.call('down', { all: true }));
    expect(result.failed).toEqual([]);
    expect(result.sessions.map((v: any) => v.name)).toEqual(expect.arrayContaining(['all-one', 'all-two']));
    for (const name of ['all-one', 'all-two']) {
      const view = await repo.json(['status', name]);
      expect(view.status).toBe('down');
      for (const svc of view.services) if (svc.pid) expect(alive(svc.pid)).toBe(false);
    }
    for (const name of ['all-one', 'all-two']) expect((await repo.sess(['rm', name, '--force'])).code).toBe(0);
  });

  it('rm without force refuses a session with uncommitted work and says why; force removes it', async () => {
    const s = await serve(repo);
    const view = doc(await s.call('up', { branch: 'dirty' }));
    writeFileSync(join(view.worktree, 'notes.txt'), 'work in progress\n');
    const refused = toolError(await s.call('rm', { session: 'dirty' }));
    expect(refused).toMatchObject({ kind: 'work_failed', exitCode: 1 });
    expect(refused.message).toMatch(/uncommitted changes: .*notes\.txt/);
    expect(refused.hint).toContain('--force');
    expect(existsSync(join(view.worktree, 'notes.txt'))).toBe(true);
    expect(doc(await s.call('status', { session: 'dirty' })).status).toBe('up');
    doc(await s.call('rm', { session: 'dirty', force: true }));
    expect(worktrees(repo)).toEqual([]);
    expect(ourProcesses(repo.id(), 'dirty')).toEqual([]);
  });

  it('nothing but protocol on stdout, even with the debug log on; the end of stdin ends the server (exit 0)', async () => {
    // a raw session: every line the server writes to stdout must be a JSON-RPC message
    const child = spawn(process.execPath, [BIN, 'mcp'], {
      cwd: repo.root,
      env: { ...process.env, SESS_DEBUG: '1' },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const send = (m: object) => child.stdin.write(JSON.stringify(m) + '\n');
    const answered = (n: number) => eventually(() => out.split('\n').filter(Boolean).length >= n, 20_000, `${n} answers`);
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
    });
    await answered(1);
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'doctor', arguments: {} } });
    send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'exec', arguments: { session: 'none', command: ['true'] } } });
    send({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'no-such-tool', arguments: {} } });
    await answered(4);
    child.stdin.end();
    expect(await exited).toBe(0);
    const messages = out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(messages.map((m) => m.id).sort()).toEqual([1, 2, 3, 4]);
    expect(messages.every((m) => m.jsonrpc === '2.0')).toBe(true);
    expect(messages.find((m) => m.id === 3).result.structuredContent.error.kind).toBe('usage');
    expect(messages.find((m) => m.id === 4).error.code).toBe(-32602);
  });
});

describe('sess mcp, cancellation', () => {
  let repo: TestRepo;
  beforeAll(() => {
    repo = makeRepo('host-slow');
  });
  afterAll(() => repo.cleanup());

  const nothingLeft = async (session: string) => {
    // the session's state folder is the rollback's last step
    const gone = () => worktrees(repo).length === 0 && ourProcesses(repo.id(), session).length === 0 && sessionDirs(repo).length === 0;
    await eventually(gone, 15_000, 'the rollback');
    expect(leasesOf(repo, session)).toEqual({});
    expect(repo.git('branch', '--format=%(refname:short)')).toBe('main');
  };

  it('a cancelled up is rolled back: no worktree, no process, no lease', async () => {
    const s = await serve(repo);
    const controller = new AbortController();
    const progress: string[] = [];
    const call = s.call('up', { branch: 'slow' }, { signal: controller.signal, progress });
    // the service is starting (it takes 2 s to listen): cancel now. (After its progress line has
    // arrived: a notification still on its way when the client cancels is one the client reports.)
    await eventually(() => progress.some((p) => p.startsWith('· started web')), 15_000, 'the slow service to start');
    const pids = ourProcesses(repo.id(), 'slow');
    controller.abort();
    await expect(call).rejects.toThrow();
    await nothingLeft('slow');
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(s.stderr()).toContain('interrupted: rolling back');
    // the server goes on serving
    expect(doc(await s.call('ls'), 'sessions')).toEqual([]);
  });

  it('a cancelled resume is rolled back too: the session stays as it was, and its history names the cancellation', async () => {
    const s = await serve(repo);
    const first = doc(await s.call('up', { branch: 'resumed' }));
    doc(await s.call('down', { session: 'resumed' }));
    const controller = new AbortController();
    const progress: string[] = [];
    const call = s.call('up', { branch: 'resumed' }, { signal: controller.signal, progress });
    await eventually(() => progress.some((p) => p.startsWith('· started web')), 15_000, 'the slow service to start');
    controller.abort();
    await expect(call).rejects.toThrow();
    const releases = async () => doc(await s.call('history', { session: 'resumed' }), 'releases');
    await eventually(async () => (await releases()).length === 2, 15_000, 'the rollback');
    expect((await releases())[1]).toMatchObject({
      trigger: 'resume',
      status: 'rolled_back',
      error: "interrupted by the MCP client's cancellation",
    });
    expect(ourProcesses(repo.id(), 'resumed')).toEqual([]);
    const after = doc(await s.call('status', { session: 'resumed' }));
    expect(after).toMatchObject({ status: 'down', worktree: first.worktree, ports: first.ports });
    doc(await s.call('rm', { session: 'resumed' }));
  });

  it('a client that goes away mid-up: the up is rolled back and the server exits', async () => {
    const s = await serve(repo);
    const call = s.call('up', { branch: 'slow' }).catch((e: Error) => e);
    await eventually(() => ourProcesses(repo.id(), 'slow').length > 0, 15_000, 'the slow service to start');
    const pid = s.transport.pid!;
    forget(s);
    await s.client.close(); // ends the server's stdin
    expect(await call).toBeInstanceOf(Error);
    await nothingLeft('slow');
    await eventually(() => !alive(pid), 10_000, 'the server to exit');
  });

  it('SIGTERM to the server mid-up: the up is rolled back before the server exits', async () => {
    const s = await serve(repo);
    const progress: string[] = [];
    const call = s.call('up', { branch: 'slow' }, { progress }).catch((e: Error) => e);
    await eventually(() => progress.some((p) => p.startsWith('· started web')), 15_000, 'the slow service to start');
    const pid = s.transport.pid!;
    process.kill(pid, 'SIGTERM');
    await eventually(() => !alive(pid), 15_000, 'the server to exit');
    // gone only after its rollback: nothing is left the moment it has exited
    expect(worktrees(repo)).toEqual([]);
    expect(ourProcesses(repo.id(), 'slow')).toEqual([]);
    expect(sessionDirs(repo)).toEqual([]);
    expect(leasesOf(repo, 'slow')).toEqual({});
    expect(s.stderr()).toContain('SIGTERM: stopping 1 running tool call(s), rolling back');
    expect(await call).toBeInstanceOf(Error);
    forget(s);
  });
});

describe('sess mcp, loading', () => {
  it('sess --help lists mcp; sess ls does not load the SDK (it is in a chunk of its own)', async () => {
    expect(execFileSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' })).toMatch(
      /^\s+mcp \[options\]\s+a Model Context Protocol server/m,
    );
    const repo = makeRepo('host-basic');
    try {
      const dir = mkdtempSync(join(tmpdir(), 'sess-loads-'));
      const trace = join(dir, 'loaded.txt');
      writeFileSync(
        join(dir, 'hooks.mjs'),
        `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) { appendFileSync(${JSON.stringify(trace)}, url + '\\n'); return next(url, context); }`,
      );
      writeFileSync(
        join(dir, 'register.mjs'),
        `import { register } from 'node:module'; register(${JSON.stringify(`file://${join(dir, 'hooks.mjs')}`)});`,
      );
      execFileSync(process.execPath, ['--import', join(dir, 'register.mjs'), BIN, 'ls'], { cwd: repo.root, encoding: 'utf8' });
      const loaded = readFileSync(trace, 'utf8')
        .split('\n')
        .filter((u) => u.includes('/dist/'));
      expect(loaded.length).toBeGreaterThan(1);
      const sdkChunks = readdirSync(join(ROOT, 'dist')).filter(
        (f) => f.endsWith('.js') && readFileSync(join(ROOT, 'dist', f), 'utf8').includes('StdioServerTransport'),
      );
      expect(sdkChunks.length).toBeGreaterThan(0);
      for (const chunk of sdkChunks) expect(loaded.some((u) => u.endsWith(`/dist/${chunk}`))).toBe(false);
    } finally {
      await repo.cleanup();
    }
  });
});
