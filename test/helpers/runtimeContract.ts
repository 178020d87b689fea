// What every runtime promises core (modes/runtime.ts), as tests any runtime can be put through: a
// new runtime copies test/host/runtime-template.test.ts and passes these. They drive the runtime
// directly, the way core does, with a journal kept in memory.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Journal, PreparedUp, Runtime, RuntimeUndo, SessionCtx } from '../../modes/runtime.js';
import type { ResolvedService, ServiceRecord } from '../../modes/service.js';
import { ROOT } from './sess.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

class MemoryJournal implements Journal {
  steps: { label: string; undo: RuntimeUndo }[] = [];
  register(label: string, undo: RuntimeUndo) {
    this.steps.push({ label, undo });
    return this.steps.length - 1;
  }
  amend(handle: number, undo: RuntimeUndo) {
    this.steps[handle]!.undo = undo;
  }
  amendWith(handle: number, change: (undo: RuntimeUndo) => RuntimeUndo) {
    this.steps[handle]!.undo = change(this.steps[handle]!.undo);
  }
  async writeFile() {}
  async leasePorts(_label: string, names: string[]) {
    return Object.fromEntries(await Promise.all(names.map(async (n) => [n, await freePort()])));
  }
}

const silent = { step() {}, info() {}, warn() {} };

/** The contract, for `runtime`, with the service of `fixture` (a folder of fixtures/ with a sess.yaml of one service, `web`). */
export function runtimeContract(runtime: Runtime, fixture: string): void {
  describe(`runtime ${runtime.name}: the contract of modes/runtime.ts`, () => {
    const dir = mkdtempSync(join(tmpdir(), `sess-runtime-${runtime.name}-`));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const worktree = join(ROOT, 'fixtures', fixture);
    const session: SessionCtx = { repoId: 'contract', name: 'contract', dir };
    const config = parse(readFileSync(join(worktree, 'sess.yaml'), 'utf8'));
    let port = 0;
    const def = (): ResolvedService => {
      const web = config.services.web;
      const svc = { ports: {}, depends_on: [], env: {}, stop: { signal: 'SIGTERM', grace: 2 }, ...web, host: { cwd: '.', ...web.host } };
      const shell = (text: string) => text.replaceAll('${ports.web}', String(port));
      return {
        name: 'web',
        runtime: runtime.name,
        dependsOn: [],
        ports: { web: port },
        containerPorts: { web: 8080 },
        env: {},
        ...runtime.definitionOf(svc, { worktree, shell }),
        ready: { kind: 'http', url: `http://127.0.0.1:${port}/health`, timeout: 10, interval: 0.05 },
        stop: { signal: 'SIGTERM', grace: 2 },
      };
    };
    const prepare = async (journal: Journal): Promise<PreparedUp> =>
      runtime.prepare({
        repo: { id: 'contract', name: 'contract', home: dir },
        session: { ...session, worktree, fresh: true },
        config,
        placement: { web: runtime.name },
        ports: { web: port },
        defs: { web: def() },
        hostEnv: {},
        unnamedEnv: {},
        journal,
        progress: silent,
        signal: new AbortController().signal,
      });
    const start = async (journal = new MemoryJournal()) => {
      port = await freePort();
      const up = await prepare(journal);
      const started = await up.start({ def: def(), hash: 'h', replacing: false }, new AbortController().signal);
      await started.ready(new AbortController().signal);
      return { journal, started, record: started.record };
    };
    const running = async (record: ServiceRecord) =>
      runtime.alive(record, own(await runtime.look('contract', [session.stash]), 'contract') ?? {});

    it('starts a service, journals its inverse first, and it serves once ready', async () => {
      const { journal, record } = await start();
      expect(journal.steps.map((s) => s.label)).toContain('service:web');
      expect(journal.steps.every((s) => runtime.undoKinds.includes(s.undo.kind))).toBe(true);
      expect(await running(record)).toBe(true);
      expect(runtime.state(record, {})).toBe('running');
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
      expect(await runtime.stop(session, record, silent)).toBe(true);
      expect(await running(record)).toBe(false);
      expect(runtime.state({ ...record, wanted: false }, {})).toBe('stopped');
      expect(await runtime.stop(session, record, silent)).toBe(false); // nothing left of it
    });

    it('its journal record, run back (a rollback, maybe by a later process), takes the instance away', async () => {
      const { journal, record } = await start();
      for (const step of [...journal.steps].reverse()) await runtime.undo(step.undo, () => undefined);
      expect(await running(record)).toBe(false);
    });

    it('brings a previous instance back, ready', async () => {
      const { record } = await start();
      await runtime.stop(session, record, silent);
      const back = await runtime.restore({ ...session, env: process.env, leases: {} }, record);
      expect(await running(back)).toBe(true);
      await runtime.stop(session, back, silent);
    });

    it("shows the service's output in its logs", async () => {
      const { record } = await start();
      const lines: string[] = [];
      await runtime.logs(session, [record], { follow: false, write: (_s, line) => lines.push(line) });
      expect(lines.join('\n')).toContain(`listening on ${port}`);
      await runtime.stop(session, record, silent);
    });

    it('tells a reader of its own where a service is', () => {
      const at = runtime.reach({ runtime: runtime.name, containerPort: 8080, leasedPort: 4321 });
      expect(typeof at.host).toBe('string');
      expect(at.port).toBeGreaterThan(0);
    });
  });
}

function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
