// The host side of `sess init`: what in the checkout can be run as a host process. In one folder,
// the first of: a Procfile.dev (each process), package.json scripts `dev` then `start`, a Procfile
// (each process), a Makefile `dev` target. A node monorepo (workspaces, or packages/* and apps/*
// folders with a package.json) gives one service per package that has such a script.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { parse } from 'yaml';
import type { HostCandidate, HostFindings } from './findings.js';
import { looksLikeWeb, toName } from './guess.js';

interface PackageJson {
  name?: unknown;
  scripts?: Record<string, unknown>;
  workspaces?: unknown;
  packageManager?: unknown;
}

export interface PackageManager {
  name: 'npm' | 'pnpm' | 'yarn' | 'bun';
  from: string;
}

const LOCK_FILES: [string, PackageManager['name']][] = [
  ['pnpm-lock.yaml', 'pnpm'],
  ['yarn.lock', 'yarn'],
  ['bun.lock', 'bun'],
  ['bun.lockb', 'bun'],
  ['package-lock.json', 'npm'],
  ['npm-shrinkwrap.json', 'npm'],
];

export function scanHost(root: string): HostFindings {
  const rootPackage = readPackage(root, '.');
  const pm = packageManagerOf(root, rootPackage);
  const notes: string[] = [];
  const workspaces = workspaceFolders(root, rootPackage);
  if (workspaces.folders.length) {
    const scanned = workspaces.folders.map((dir) => ({ dir, ...scanFolder(root, dir, pm) }));
    const found = scanned.flatMap((s) => s.candidates);
    if (found.length) {
      for (const s of scanned) notes.push(...s.notes, ...(s.candidates.length ? [] : [`${s.dir}: no dev or start script, nothing to run`]));
      if (scriptOf(rootPackage)) {
        notes.push(
          `package.json scripts.${scriptOf(rootPackage)} of the root is not used: each package runs on its own, with a port of its own`,
        );
      }
      return { candidates: found, packageManager: pm, sources: [`${workspaces.from}: ${found.map((c) => c.cwd).join(', ')}`], notes };
    }
  }
  const { candidates, from, also, notes: found } = scanFolder(root, '.', pm);
  notes.push(...found, ...also.map((f) => `${f} is not used: ${from} came first`));
  return { candidates, ...(rootPackage ? { packageManager: pm } : {}), sources: from ? [from] : [], notes };
}

/** The runnable things of one folder (the root, a package, a compose build context). */
export function scanFolder(
  root: string,
  dir: string,
  pm: PackageManager,
): { candidates: HostCandidate[]; from?: string; also: string[]; notes: string[] } {
  const at = (file: string) => (dir === '.' ? file : `${dir}/${file}`);
  const found: { from: string; candidates: HostCandidate[]; notes?: string[] }[] = [];
  const procfileDev = readText(root, at('Procfile.dev'));
  if (procfileDev !== undefined) found.push({ from: at('Procfile.dev'), ...procfile(procfileDev, dir, at('Procfile.dev')) });
  const pkg = readPackage(root, dir);
  const script = scriptOf(pkg);
  if (pkg && script) found.push({ from: `${at('package.json')} scripts.${script}`, candidates: [nodeCandidate(pkg, script, dir, pm)] });
  const proc = readText(root, at('Procfile'));
  if (proc !== undefined) found.push({ from: at('Procfile'), ...procfile(proc, dir, at('Procfile')) });
  const makefile = readText(root, at('Makefile'));
  if (makefile !== undefined && /^dev\s*:(?!=)/m.test(makefile)) {
    const name = dir === '.' ? 'app' : toName(basename(dir), 'app');
    found.push({ from: `${at('Makefile')} target dev`, candidates: [plain(name, dir, 'make dev', `${at('Makefile')} target dev`)] });
  }
  const used = found.find((f) => f.candidates.length > 0);
  if (!used) return { candidates: [], also: [], notes: [] };
  const also = found.filter((f) => f !== used && f.candidates.length).map((f) => f.from);
  return { candidates: used.candidates, from: used.from, also, notes: used.notes ?? [] };
}

/** The package manager the lock file at the root says (else `packageManager` in package.json, else npm). */
export function packageManagerOf(root: string, rootPackage = readPackage(root, '.')): PackageManager {
  for (const [file, name] of LOCK_FILES) if (existsSync(join(root, file))) return { name, from: file };
  const declared =
    typeof rootPackage?.packageManager === 'string' ? /^(npm|pnpm|yarn|bun)@/.exec(rootPackage.packageManager)?.[1] : undefined;
  if (declared) return { name: declared as PackageManager['name'], from: 'package.json packageManager' };
  return { name: 'npm', from: 'no lock file' };
}

function scriptOf(pkg: PackageJson | undefined): 'dev' | 'start' | undefined {
  const scripts = pkg?.scripts;
  if (!scripts || typeof scripts !== 'object') return undefined;
  if (typeof scripts.dev === 'string' && Object.hasOwn(scripts, 'dev')) return 'dev';
  if (typeof scripts.start === 'string' && Object.hasOwn(scripts, 'start')) return 'start';
  return undefined;
}

// Dev servers that ignore $PORT and take the port on their command line; they also listen on
// `localhost`, which Node 17+ may resolve to ::1 only, where a probe of 127.0.0.1 finds nothing.
const PORT_FLAGS: { test: RegExp; port: number; args: (expr: string) => string }[] = [
  { test: /\bvite\b(?!\s+build)/, port: 5173, args: (p) => `--host 127.0.0.1 --port ${p} --strictPort` },
  { test: /\bastro\s+dev\b/, port: 4321, args: (p) => `--host 127.0.0.1 --port ${p}` },
  { test: /\bng\s+serve\b/, port: 4200, args: (p) => `--host 127.0.0.1 --port ${p}` },
];

function nodeCandidate(pkg: PackageJson, script: 'dev' | 'start', dir: string, pm: PackageManager): HostCandidate {
  const text = String(pkg.scripts![script]);
  const source = `${dir === '.' ? '' : `${dir}/`}package.json scripts.${script}`;
  const name = dir === '.' ? toName(typeof pkg.name === 'string' ? pkg.name : '', 'app') : toName(basename(dir), 'app');
  const candidate = plain(name, dir, `${pm.name} run ${script}`, source);
  const flags = PORT_FLAGS.find((f) => f.test.test(text));
  if (flags) {
    candidate.containerPort = flags.port;
    // npm hands arguments to the script only after `--`; pnpm, yarn and bun pass them on as they are
    candidate.portArgs = (expr) => `${pm.name === 'npm' ? '-- ' : ''}${flags.args(expr)}`;
  }
  const fixed = fixedPort(text);
  if (fixed) {
    candidate.containerPort = fixed.port;
    candidate.warnings.push(`${source} sets its own port (${fixed.text}): every session would want that one; make it use $PORT`);
  }
  return candidate;
}

function procfile(text: string, dir: string, file: string): { candidates: HostCandidate[]; notes: string[] } {
  const out: HostCandidate[] = [];
  const notes: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_-]+)\s*:\s*(.+?)\s*$/.exec(line);
    // `release` is Heroku's run-once step before a deploy (migrations), not a process to keep running
    if (!m) continue;
    if (m[1] === 'release') {
      notes.push(`${file} (release) is a run-once step, not a service (a hooks.post_create command, perhaps)`);
      continue;
    }
    const [, process, command] = m as unknown as [string, string, string];
    const candidate = plain(toName(process, 'proc'), dir, command, `${file} (${process})`);
    // Procfile convention: the web process listens on $PORT; a worker listens on nothing
    candidate.listens = process === 'web' || /\$\{?PORT\b/.test(command);
    candidate.web = candidate.listens && (process === 'web' || looksLikeWeb(process));
    const fixed = fixedPort(command);
    if (fixed) {
      candidate.containerPort = fixed.port;
      candidate.warnings.push(
        `${file} (${process}) sets its own port (${fixed.text}): every session would want that one; make it use $PORT`,
      );
    }
    out.push(candidate);
  }
  return { candidates: out, notes };
}

function plain(name: string, cwd: string, command: string, source: string): HostCandidate {
  return { name, cwd, command, source, web: true, listens: true, containerPort: 3000, warnings: [] };
}

/** A port number written into a command (`-p 3000`, `--port=8080`, `PORT=4000 node ...`). */
function fixedPort(text: string): { port: number; text: string } | undefined {
  const m = /(?:--port[= ]|(?<=\s)-p[= ]?|\bPORT=)(\d{2,5})\b/.exec(text);
  const port = m ? Number(m[1]) : NaN;
  return port > 0 && port < 65536 ? { port, text: m![0] } : undefined;
}

/** Package folders of a node monorepo: its declared workspaces, else packages/* and apps/* with a package.json. */
function workspaceFolders(root: string, rootPackage: PackageJson | undefined): { folders: string[]; from: string } {
  const declared = rootPackage?.workspaces;
  let patterns: string[] = [];
  let from = '';
  if (Array.isArray(declared)) [patterns, from] = [declared.map(String), 'package.json workspaces'];
  else if (declared && typeof declared === 'object' && Array.isArray((declared as { packages?: unknown }).packages)) {
    [patterns, from] = [(declared as { packages: unknown[] }).packages.map(String), 'package.json workspaces'];
  } else {
    const pnpm = readText(root, 'pnpm-workspace.yaml');
    const packages = pnpm === undefined ? undefined : (safeParse(pnpm) as { packages?: unknown } | undefined)?.packages;
    if (Array.isArray(packages)) [patterns, from] = [packages.map(String), 'pnpm-workspace.yaml'];
  }
  if (!patterns.length) [patterns, from] = [['packages/*', 'apps/*'], 'the packages of packages/ and apps/'];
  const excluded = new Set(patterns.filter((p) => p.startsWith('!')).flatMap((p) => expand(root, p.slice(1))));
  const folders = [...new Set(patterns.filter((p) => !p.startsWith('!')).flatMap((p) => expand(root, p)))]
    .filter((dir) => dir !== '.' && !excluded.has(dir) && existsSync(join(root, dir, 'package.json')))
    .sort();
  return { folders, from };
}

/** Folders matching a workspace pattern: literal segments, `*` (one folder), `**` (any depth, up to 4). */
function expand(root: string, pattern: string): string[] {
  let current = ['.'];
  for (const segment of posix.normalize(pattern.replace(/^\.\//, '')).split('/').filter(Boolean)) {
    if (segment === '**') {
      const all = new Set(current);
      let level = current;
      for (let depth = 0; depth < 4; depth++) {
        level = level.flatMap((dir) => subfolders(root, dir));
        level.forEach((d) => all.add(d));
      }
      current = [...all];
    } else if (segment.includes('*')) {
      const re = new RegExp(`^${segment.split('*').map(escapeRe).join('[^/]*')}$`);
      current = current.flatMap((dir) => subfolders(root, dir).filter((d) => re.test(basename(d))));
    } else {
      current = current.map((dir) => (dir === '.' ? segment : `${dir}/${segment}`)).filter((d) => isFolder(join(root, d)));
    }
  }
  return current;
}

function subfolders(root: string, dir: string): string[] {
  try {
    return readdirSync(join(root, dir), { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules')
      .map((e) => (dir === '.' ? e.name : `${dir}/${e.name}`));
  } catch {
    return [];
  }
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function escapeRe(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

function readPackage(root: string, dir: string): PackageJson | undefined {
  const text = readText(root, dir === '.' ? 'package.json' : `${dir}/package.json`);
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' ? (value as PackageJson) : undefined;
  } catch {
    return undefined; // a package.json we cannot read gives no guess; `sess init` is about guesses
  }
}

function readText(root: string, file: string): string | undefined {
  try {
    return readFileSync(join(root, file), 'utf8');
  } catch {
    return undefined;
  }
}

function safeParse(text: string): unknown {
  try {
    return parse(text);
  } catch {
    return undefined;
  }
}
