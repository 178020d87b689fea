// Docker-side checks of the docker tests: what of a repository's sessions exists in the engine.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectName } from '../../modes/compose/overlay.js';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { branches, eventually, leasesOf, makeRepo, worktrees, type TestRepo } from './sess.js';

function lines(args: string[]): string[] {
  return execFileSync('docker', args, { encoding: 'utf8' }).split('\n').filter(Boolean);
}

/** The compose project name sess gives a new session of a test repository (its folder is `app`). */
export function projectOf(repo: TestRepo, session: string): string {
  return projectName('app', repo.id(), session);
}

export function containersOf(repo: TestRepo, session?: string): { id: string; name: string; state: string }[] {
  const filters = ['--filter', `label=dev.sess.repo=${repo.id()}`];
  if (session) filters.push('--filter', `label=dev.sess.session=${session}`);
  return lines(['ps', '-a', '--no-trunc', ...filters, '--format', '{{.ID}} {{.Names}} {{.State}}']).map((l) => {
    const [id, name, state] = l.split(' ');
    return { id: id!, name: name!, state: state! };
  });
}

/** Anonymous volumes the session's containers mount. */
export function anonymousVolumesOf(repo: TestRepo, session: string): string[] {
  const ids = containersOf(repo, session).map((c) => c.id);
  if (ids.length === 0) return [];
  const names = execFileSync(
    'docker',
    ['inspect', '--format', '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}', ...ids],
    {
      encoding: 'utf8',
    },
  );
  return names.split(/\s+/).filter((n) => /^[0-9a-f]{64}$/.test(n));
}

export function volumeExists(name: string): boolean {
  try {
    execFileSync('docker', ['volume', 'inspect', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The session's containers that run (a down session's stay, stopped, with their anonymous volumes). */
export function runningOf(repo: TestRepo, session: string): { id: string; name: string; state: string }[] {
  return containersOf(repo, session).filter((c) => c.state === 'running');
}

export function volumesOf(project: string): string[] {
  return lines(['volume', 'ls', '--quiet', '--filter', `label=com.docker.compose.project=${project}`]);
}

/** Images compose built for the project (`repo:tag`). */
export function imagesOf(project: string): string[] {
  return lines(['image', 'ls', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Repository}}:{{.Tag}}']);
}

export function networksOf(project: string): string[] {
  return lines(['network', 'ls', '--format', '{{.Name}}', '--filter', `label=com.docker.compose.project=${project}`]);
}

/** Nothing of this session in the engine: no container, network or volume. */
export function expectNothingInDocker(repo: TestRepo, session: string, expect: (v: unknown) => { toEqual(x: unknown): void }) {
  const project = projectOf(repo, session);
  expect(containersOf(repo, session)).toEqual([]);
  expect(networksOf(project)).toEqual([]);
  expect(volumesOf(project)).toEqual([]);
}

export function dockerExec(container: string, ...cmd: string[]): string {
  return execFileSync('docker', ['exec', container, ...cmd], { encoding: 'utf8' });
}

export function removeVolumesOf(project: string): void {
  const vols = volumesOf(project);
  if (vols.length) execFileSync('docker', ['volume', 'rm', '--force', ...vols]);
}

/**
 * A test repository of `fixture` for each test (`each`) or for the enclosing describe (`all`),
 * handed to `use`; after it, its sessions go, then whatever the engine still holds of it.
 */
export function dockerRepo(fixture: string, per: 'each' | 'all', use: (repo: TestRepo) => void): void {
  let repo: TestRepo | undefined;
  (per === 'each' ? beforeEach : beforeAll)(() => {
    repo = makeRepo(fixture);
    use(repo);
  });
  (per === 'each' ? afterEach : afterAll)(async () => {
    if (!repo) return;
    await repo.cleanup();
    dockerCleanup(repo);
  });
}

/** After a test file: whatever the engine still holds of this repository goes (kept volumes included). */
export function dockerCleanup(repo: TestRepo): void {
  let id: string;
  try {
    id = repo.id();
  } catch {
    return;
  }
  const ids = lines(['ps', '-aq', '--filter', `label=dev.sess.repo=${id}`]);
  if (ids.length) execFileSync('docker', ['rm', '--force', ...ids]);
  const suffix = `-${id.slice(0, 8)}`;
  const projects = (kind: 'volume' | 'network') =>
    lines([kind, 'ls', '--format', `{{.Name}} {{.Label "com.docker.compose.project"}}`])
      .map((l) => l.split(' '))
      .filter(([, p]) => p?.endsWith(suffix))
      .map(([n]) => n!);
  const vols = projects('volume');
  if (vols.length) execFileSync('docker', ['volume', 'rm', '--force', ...vols]);
  for (const n of projects('network')) execFileSync('docker', ['network', 'rm', n]);
  // what sess builds is named after the project (`name:<project>`, compose's `<project>-<service>`)
  const images = lines(['image', 'ls', '--filter', 'label=com.docker.compose.project', '--format', '{{.Repository}}:{{.Tag}}']).filter(
    (n) => n.endsWith(suffix) || n.includes(`${suffix}-`),
  );
  if (images.length) execFileSync('docker', ['image', 'rm', '--force', ...images]);
}

/** Start `sess up` and return once its `compose up` has created containers (time to interrupt it). */
export async function startUntilComposeUp(repo: TestRepo, session: string, env: Record<string, string>) {
  const run = repo.start(['up', session], { env });
  let err = '';
  run.child.stderr!.on('data', (d) => (err += d));
  await eventually(() => err.includes('compose up'), 20_000, 'compose up to start');
  await eventually(() => containersOf(repo, session).length > 0, 20_000, 'containers to exist');
  return run;
}

/** A fresh session that failed or was cleaned up: nothing in the engine, no worktree, branch or lease. */
export function expectFreshSessionGone(repo: TestRepo, session: string, expect: (v: unknown) => { toEqual(x: unknown): void }) {
  expectNothingInDocker(repo, session, expect);
  expect(worktrees(repo)).toEqual([]);
  expect(branches(repo)).toEqual(['main']);
  expect(leasesOf(repo, session)).toEqual({});
  expect(existsSync(join(repo.tmp, 'app.sess'))).toBe(false);
}
