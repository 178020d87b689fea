// What sess init finds on the host side of a folder (no git needed): the package manager the lock
// file says, monorepo packages, the dev servers that take their port as a flag, ports written into
// scripts, and which of Procfile.dev, package.json, Procfile, Makefile comes first.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { scanHost } from '../../core/init/scanHost.js';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

function folder(files: Record<string, string | object>): string {
  const root = mkdtempSync(join(tmpdir(), 'sess-init-scan-'));
  dirs.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return root;
}

describe('host scan', () => {
  it('the lock file decides the package manager', () => {
    const pkg = { name: 'shop', scripts: { dev: 'next dev' } };
    const cases: [string, string][] = [
      ['pnpm-lock.yaml', 'pnpm run dev'],
      ['yarn.lock', 'yarn run dev'],
      ['bun.lockb', 'bun run dev'],
      ['package-lock.json', 'npm run dev'],
    ];
    for (const [lock, command] of cases) {
      const found = scanHost(folder({ 'package.json': pkg, [lock]: '' }));
      expect(found.candidates.map((c) => [c.name, c.command, c.cwd])).toEqual([['shop', command, '.']]);
      expect(found.packageManager).toEqual({ name: command.split(' ')[0], from: lock });
    }
    expect(scanHost(folder({ 'package.json': { ...pkg, packageManager: 'pnpm@9.1.0' } })).packageManager?.name).toBe('pnpm');
  });

  it('dev before start; vite gets its port on the command line; a port written into a script is a warning', () => {
    const vite = scanHost(folder({ 'package.json': { scripts: { start: 'node server.js', dev: 'vite' } }, 'pnpm-lock.yaml': '' }));
    const [c] = vite.candidates;
    expect(c!.source).toBe('package.json scripts.dev');
    expect(c!.name).toBe('app');
    expect(`${c!.command} ${c!.portArgs!('${ports.app}')}`).toBe('pnpm run dev --host 127.0.0.1 --port ${ports.app} --strictPort');
    const npmVite = scanHost(folder({ 'package.json': { scripts: { dev: 'vite --open' } } }));
    expect(npmVite.candidates[0]!.portArgs!('X')).toBe('-- --host 127.0.0.1 --port X --strictPort');
    const fixed = scanHost(folder({ 'package.json': { scripts: { dev: 'next dev -p 4000' } } }));
    expect(fixed.candidates[0]!.containerPort).toBe(4000);
    expect(fixed.candidates[0]!.warnings[0]).toMatch(/sets its own port \(-p 4000\).*\$PORT/);
  });

  it('a monorepo: one service per package with a script, from workspaces, pnpm-workspace.yaml, or apps/ and packages/', () => {
    const pkg = (name: string, scripts: object) => ({ name, scripts });
    const declared = scanHost(
      folder({
        'package.json': { workspaces: { packages: ['services/*', '!services/legacy'] }, scripts: { dev: 'turbo dev' } },
        'services/api/package.json': pkg('@x/api', { dev: 'tsx watch src' }),
        'services/legacy/package.json': pkg('@x/legacy', { dev: 'node old.js' }),
        'services/types/package.json': pkg('@x/types', { build: 'tsc' }),
        'yarn.lock': '',
      }),
    );
    expect(declared.candidates.map((c) => [c.name, c.cwd, c.command])).toEqual([['api', 'services/api', 'yarn run dev']]);
    expect(declared.notes.join('\n')).toMatch(/services\/types: no dev or start script/);
    expect(declared.notes.join('\n')).toMatch(/scripts.dev of the root is not used/);

    const pnpm = scanHost(
      folder({
        'package.json': { name: 'root' },
        'pnpm-workspace.yaml': 'packages:\n  - "apps/**"\n',
        'apps/site/web/package.json': pkg('web', { start: 'node .' }),
        'pnpm-lock.yaml': '',
      }),
    );
    expect(pnpm.candidates.map((c) => [c.name, c.cwd, c.command])).toEqual([['web', 'apps/site/web', 'pnpm run start']]);

    const undeclared = scanHost(
      folder({
        'package.json': { name: 'root' },
        'apps/admin/package.json': pkg('admin', { dev: 'astro dev' }),
        'packages/ui/package.json': pkg('ui', { dev: 'storybook dev' }),
      }),
    );
    expect(undeclared.candidates.map((c) => c.cwd)).toEqual(['apps/admin', 'packages/ui']);
    expect(undeclared.candidates[0]!.portArgs!('P')).toBe('-- --host 127.0.0.1 --port P');
  });

  it('Procfile.dev, then package.json, then Procfile, then a Makefile dev target', () => {
    const all = {
      'Procfile.dev': 'web: bin/rails server -p $PORT\ncss: bin/rails tailwindcss:watch\n',
      'package.json': { scripts: { dev: 'vite' } },
      Procfile: 'web: bundle exec puma\nrelease: rake db:migrate\n',
      Makefile: 'dev:\n\tgo run .\n',
    };
    const first = scanHost(folder(all));
    expect(first.candidates.map((c) => [c.name, c.listens, c.web])).toEqual([
      ['web', true, true],
      ['css', false, false],
    ]);
    expect(first.notes.join('\n')).toMatch(/package.json scripts.dev is not used: Procfile.dev came first/);
    const { 'Procfile.dev': _a, 'package.json': _b, ...procfileAndMake } = all;
    const procfile = scanHost(folder(procfileAndMake));
    expect(procfile.candidates.map((c) => c.name)).toEqual(['web']);
    expect(procfile.notes.join('\n')).toMatch(/Procfile \(release\) is a run-once step/);
    const make = scanHost(folder({ Makefile: 'DEV:=1\nbuild:\n\tgo build\ndev: build\n\tgo run .\n' }));
    expect(make.candidates.map((c) => [c.name, c.command, c.source])).toEqual([['app', 'make dev', 'Makefile target dev']]);
    expect(scanHost(folder({ Makefile: 'dev:=1\nall:\n\ttrue\n' })).candidates).toEqual([]);
  });
});
