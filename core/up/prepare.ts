// Everything `up` can work out before it changes anything: which commit the session runs, its
// sess.yaml (read from that commit, or from the worktree of an existing session), where each service
// runs, where the worktree goes. Bad input fails here, with nothing changed.
import { existsSync, lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import {
  checkoutOf,
  git,
  readHead,
  readRefFromFiles,
  resolveCommit,
  showFile,
  worktreeGitDir,
  type WorktreeSource,
} from '../../adapters/git.js';
import { checkEnvFileUntracked } from './worktreePaths.js';
import { ConfigError, UsageError, WorkError } from '../../common/errors.js';
import { readJson, readTextIfExists, writeJsonAtomic } from '../../adapters/fs.js';
import type { Config, Mode } from '../../config/schema.js';
import { checkConfigSize } from '../../config/limits.js';
import { placeServices, runtimeOf, runtimesImplying, runtimesIn } from '../../modes/placement.js';
import type { Placement } from '../../modes/service.js';
import type { EngineChoice } from '../../modes/runtime.js';
import { parseSshTarget } from '../../adapters/ssh.js';
import { requireContextName } from '../../modes/remote/place.js';
import { hasOwn, own } from '../../common/records.js';
import { hashOf } from './resolve.js';
import { requireServices, selectServices } from './selection.js';
import type { Repo } from '../state/repo.js';
import type { SessionRecord } from '../state/store.js';

export interface UpRequest {
  mode?: Mode;
  base?: string;
  /** the remote whose branch a new session tracks when only the remote has it (default origin) */
  remote?: string;
  /** a pull request sandbox that moves: the commit its worktree is about to be reset to */
  moveTo?: string;
  host?: string[];
  container?: string[];
  /** `--only`: these services and what they depend on; the others are left as they are */
  only?: string[];
  /** `--skip`: not these, nor what depends on them */
  skip?: string[];
  /** `--adopt`: the branch's worktree that sess did not make is the session's (never deleted by sess) */
  adopt?: boolean;
  /** `--port NAME=N`: lease exactly these ports (sticks to the session) */
  ports?: Record<string, number>;
  /** `sess restart`: these services (none: all) are replaced even when their definition did not change */
  restart?: string[];
  /** `--remote-host user@box` / `--context NAME`: the compose services run on that machine's engine (sticks) */
  engine?: EngineChoice;
}

export interface FreshSource {
  source: WorktreeSource;
  /** `--adopt`: the worktree sess did not make that the session uses as it is */
  adopted?: string;
  /** For a branch sess creates: where it starts, so a rollback deletes it only if it did not move. */
  branchTip: string | null;
  describe: string;
}

export interface Prepared {
  config: Config;
  /** where the config was read, for messages */
  configFile: string;
  configText: string;
  mode: Mode;
  overrides: SessionRecord['overrides'];
  placement: Placement;
  worktree: string;
  fresh?: FreshSource & { commit: string };
  /** the services this up may start or replace (undefined: all); the others are left as they are */
  selected?: string[];
  /** services replaced even when unchanged (`sess restart`) */
  force?: string[];
  /** what the selection left out, for the person */
  notes: string[];
}

/** The folder the worktrees of sessions go into (worktree.dir; SPEC's default without a config). */
export function worktreesFolder(repo: Repo, config: Config | undefined): string {
  return resolve(repo.mainRoot, (config?.worktree.dir ?? '../{repo}.sess').replaceAll('{repo}', repo.name));
}

export function worktreePathFor(repo: Repo, config: Config, session: string): string {
  return join(worktreesFolder(repo, config), session);
}

/** The sticky choices of a session: flags given now replace those of earlier ups. */
export function effectiveOverrides(request: UpRequest, existing?: SessionRecord): SessionRecord['overrides'] {
  const mode = request.mode ?? existing?.overrides.mode;
  const moved = (request.host?.length ?? 0) + (request.container?.length ?? 0) > 0;
  // pins add up: `--port web=3000` now and `--port db=5432` later pin both
  const ports = { ...existing?.overrides.ports, ...request.ports };
  return {
    ...(mode ? { mode } : {}),
    host: moved ? (request.host ?? []) : (existing?.overrides.host ?? []),
    container: moved ? (request.container ?? []) : (existing?.overrides.container ?? []),
    ...(Object.keys(ports).length ? { ports } : {}),
    // a machine named now replaces the one named before
    ...(request.engine || existing?.overrides.engine ? { engine: request.engine ?? existing!.overrides.engine! } : {}),
  };
}

/**
 * Fast no-op test of a resume: same sess.yaml text, same compose files, same choices, same HEAD as
 * the last completed up.
 */
export function inputHash(
  configText: string,
  overrides: SessionRecord['overrides'],
  head: string | null,
  worktree: string,
  inputFiles: string[],
): string {
  // relative to the worktree, or absolute (a file compose reads from outside it)
  const files = inputFiles.map((f) => readTextIfExists(resolve(worktree, f)) ?? null);
  return hashOf({ configText, overrides, head, files });
}

export const CONFIG_FILE = 'sess.yaml';

export function readWorktreeConfigText(worktree: string): string {
  const file = join(worktree, CONFIG_FILE);
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new ConfigError(file, [{ path: '', message: 'no sess.yaml in the worktree' }]);
  }
  // before reading it: a file of gigabytes is refused, not read
  checkConfigSize(size, file);
  return readFileSync(file, 'utf8');
}

export async function prepareUp(
  repo: Repo,
  name: string,
  branch: string,
  request: UpRequest,
  existing: SessionRecord | undefined,
): Promise<Prepared> {
  const validator = new ConfigValidator(repo);
  let configText: string;
  let configFile: string;
  let fresh: (FreshSource & { commit: string }) | undefined;
  if (existing) {
    if (!existsSync(existing.worktree)) {
      throw new WorkError(`the worktree of session ${name} is gone: ${existing.worktree}`, {
        hint: `\`sess rm ${name}\` forgets the session; \`sess doctor --fix\` repairs every such session`,
      });
    }
    if (request.moveTo) {
      // a sandbox moving to a newer commit runs that commit's sess.yaml
      configFile = `${CONFIG_FILE} at ${request.moveTo.slice(0, 8)}`;
      const text = await showFile(request.moveTo, CONFIG_FILE, repo.mainRoot);
      if (text === undefined) throw new ConfigError(configFile, [{ path: '', message: 'no sess.yaml in that commit' }]);
      configText = text;
    } else {
      configFile = join(existing.worktree, CONFIG_FILE);
      configText = readWorktreeConfigText(existing.worktree);
    }
  } else {
    const commits = new CommitConfigs(repo, validator);
    fresh = await chooseSource(repo, branch, request.base, commits, request.remote ?? 'origin', !!request.adopt);
    configFile = `${CONFIG_FILE} at ${fresh.describe}`;
    const text = await commits.text(fresh.commit);
    if (text === undefined) {
      throw new ConfigError(configFile, [{ path: '', message: 'no sess.yaml in that commit' }], {
        hint: 'commit a sess.yaml at the repository root (see `sess config schema`)',
      });
    }
    configText = text;
  }
  const config = await validator.parse(configText, configFile);
  const selection = selectServices(config, request.only, request.skip);
  let force: string[] | undefined;
  if (request.restart) {
    requireServices(config, request.restart, 'sess restart');
    force = request.restart.length ? [...new Set(request.restart)] : Object.keys(config.services);
  }
  const selected = force ?? selection?.names;
  requirePinnable(config, request.ports ?? {}, configFile);
  requireMachine(request.engine);
  const overrides = effectiveOverrides(request, existing);
  // a pin of a port the config no longer names is forgotten
  if (overrides.ports) {
    overrides.ports = Object.fromEntries(Object.entries(overrides.ports).filter(([n]) => own(config.ports, n)));
    if (!Object.keys(overrides.ports).length) delete overrides.ports;
  }
  const mode = overrides.mode ?? config.mode;
  const placement = placeServices(config, mode, { ...overrides, remote: !!(overrides.engine ?? config.remote) });
  requireSideBySide(config, placement, configFile);
  requireSomethingToRun(config, mode, configFile);
  if (fresh) await requireRuntimeFiles(repo, config, mode, placement, fresh.commit, configFile);
  const commit = fresh?.commit ?? request.moveTo ?? (existing && readHead(worktreeGitDir(existing.worktree), repo.commonDir));
  if (commit) await checkEnvFileUntracked(config, commit, repo.mainRoot, configFile);
  if (existing && request.adopt && !existing.adopted) {
    throw new UsageError(`--adopt: session ${name} exists already, with the worktree sess made for it (${existing.worktree})`);
  }
  const worktree = existing?.worktree ?? fresh?.adopted ?? worktreePathFor(repo, config, name);
  if (!existing && !fresh?.adopted && existsSync(worktree)) {
    throw new UsageError(`the worktree folder of session ${name} already exists: ${worktree}`, {
      hint: 'move it away, or set worktree.dir in sess.yaml',
    });
  }
  return {
    config,
    configFile,
    configText,
    mode,
    overrides,
    placement,
    worktree,
    ...(fresh ? { fresh } : {}),
    ...(selected ? { selected } : {}),
    ...(force ? { force } : {}),
    notes: selection?.notes ?? [],
  };
}

declare const __SESS_CONFIG_ID__: string | undefined;

/**
 * Validation with a cache: the validated result of a sess.yaml text is kept (in the state folder,
 * keyed by the text and the build of the config code), so the many sessions of one config skip
 * loading and running the validator (yaml + zod, ~45 ms). Invalid texts are never cached.
 */
class ConfigValidator {
  private readonly id = typeof __SESS_CONFIG_ID__ === 'string' ? __SESS_CONFIG_ID__ : undefined;
  constructor(private readonly repo: Repo) {}

  async parse(text: string, file: string): Promise<Config> {
    // every text passes here, those read from a commit too (git show gives them whole)
    checkConfigSize(Buffer.byteLength(text), file);
    const cacheFile = this.id ? join(this.repo.stateDir, 'cache', `config-${hashOf({ id: this.id, text })}.json`) : undefined;
    const cached = cacheFile ? readJsonIfValid<Config>(cacheFile) : undefined;
    if (cached) return cached;
    const { parseConfig } = await import('../../config/load.js');
    const config = parseConfig(text, file);
    if (cacheFile) writeJsonAtomic(cacheFile, config, 0o644);
    return config;
  }
}

function readJsonIfValid<T>(file: string): T | undefined {
  try {
    return readJson<T>(file);
  } catch {
    return undefined; // a damaged cache entry is a miss
  }
}

/** sess.yaml as committed, read once per commit however often it is asked for. */
class CommitConfigs {
  private texts = new Map<string, Promise<string | undefined>>();
  constructor(
    private readonly repo: Repo,
    private readonly validator: ConfigValidator,
  ) {}

  text(commit: string): Promise<string | undefined> {
    if (!this.texts.has(commit)) this.texts.set(commit, showFile(commit, CONFIG_FILE, this.repo.mainRoot));
    return this.texts.get(commit)!;
  }

  /** worktree.base of the main checkout's committed sess.yaml, if any. */
  async configuredBase(): Promise<string | undefined> {
    const head = readHead(this.repo.commonDir, this.repo.commonDir);
    if (!head) return undefined;
    const text = await this.text(head);
    if (text === undefined) return undefined;
    return (await this.validator.parse(text, `${CONFIG_FILE} at HEAD`)).worktree.base;
  }
}

async function commitOf(repo: Repo, ref: string): Promise<string | null> {
  const fromFiles = ref.startsWith('refs/') ? readRefFromFiles(repo.commonDir, ref) : undefined;
  if (fromFiles !== undefined) return fromFiles;
  if (ref === 'HEAD') {
    const head = readHead(repo.commonDir, repo.commonDir);
    if (head) return head;
  }
  return resolveCommit(ref, repo.mainRoot);
}

/** The existing local branch; else the remote's branch, tracked; else a new branch from the base. */
async function chooseSource(
  repo: Repo,
  branch: string,
  base: string | undefined,
  commits: CommitConfigs,
  remote: string,
  adopt: boolean,
): Promise<FreshSource & { commit: string }> {
  const local = await commitOf(repo, `refs/heads/${branch}`);
  const checkout = local ? checkoutOf(branch, repo.commonDir, repo.mainRoot) : undefined;
  if (adopt) {
    if (!local || !checkout) {
      throw new UsageError(`--adopt: branch "${branch}" is checked out in no worktree`, {
        hint: `without --adopt, \`sess up ${branch}\` makes a worktree for it`,
      });
    }
    return {
      source: { kind: 'existing', branch },
      branchTip: null,
      describe: `branch ${branch}`,
      commit: local,
      adopted: adoptable(repo, checkout),
    };
  }
  if (local) {
    if (checkout) {
      const main = checkout === repo.mainRoot;
      throw new UsageError(`branch "${branch}" is checked out in ${checkout}: a session needs a worktree of its own for it`, {
        hint: main
          ? `switch that checkout to another branch first, or give the session another branch (\`sess up --base ${branch} <new-branch>\`)`
          : `\`sess up ${branch} --adopt\` makes that worktree the session's (sess never deletes it); or remove it, or give the session another branch (\`sess up --base ${branch} <new-branch>\`)`,
      });
    }
    return { source: { kind: 'existing', branch }, branchTip: null, describe: `branch ${branch}`, commit: local };
  }
  const remoteTip = await commitOf(repo, `refs/remotes/${remote}/${branch}`);
  if (remoteTip) {
    return {
      source: { kind: 'track', branch, remoteRef: `${remote}/${branch}` },
      branchTip: remoteTip,
      describe: `${remote}/${branch}`,
      commit: remoteTip,
    };
  }
  const baseRef = base ?? (await commits.configuredBase()) ?? 'HEAD';
  const startPoint = await commitOf(repo, baseRef);
  if (!startPoint) throw new UsageError(`base "${baseRef}" is not a commit in this repository`);
  return {
    source: { kind: 'new', branch, startPoint },
    branchTip: startPoint,
    describe: `${baseRef} (${startPoint.slice(0, 8)})`,
    commit: startPoint,
  };
}

/**
 * A worktree of the branch that sess did not make, as git's admin files name it (untrusted: a
 * hand-made path). Not the main checkout; a real folder (not a symlink to one), that git knows
 * as a worktree of this repository. The session uses its real path.
 */
function adoptable(repo: Repo, checkout: string): string {
  const refuse = (why: string) => new UsageError(`--adopt: ${checkout} ${why}`);
  if (checkout === repo.mainRoot) throw refuse('is the main checkout: a session needs a worktree of its own');
  let stat;
  try {
    stat = lstatSync(checkout);
  } catch {
    throw refuse('is gone (git still lists it: `git worktree prune` forgets it)');
  }
  if (stat.isSymbolicLink()) throw refuse('is a symlink: adopt the folder it leads to by its own path');
  if (!stat.isDirectory()) throw refuse('is not a folder');
  const real = realpathSync(checkout);
  if (real === realpathSync(repo.mainRoot) || real.startsWith(realpathSync(repo.commonDir) + sep))
    throw refuse('is not a worktree of its own');
  // its .git must lead back to this repository's admin folder for it
  const gitDir = worktreeGitDir(real);
  if (!realpathSafe(gitDir).startsWith(join(realpathSync(repo.commonDir), 'worktrees') + sep)) {
    throw refuse(`is not a worktree of this repository (its .git leads to ${gitDir})`);
  }
  return real;
}

function realpathSafe(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** The main checkout's committed sess.yaml (settings that are the repository's, not a branch's), if valid. */
export async function mainConfig(repo: Repo): Promise<Config | undefined> {
  const head = readHead(repo.commonDir, repo.commonDir);
  const text = head ? await showFile(head, CONFIG_FILE, repo.mainRoot) : undefined;
  if (text === undefined) return undefined;
  try {
    return await new ConfigValidator(repo).parse(text, `${CONFIG_FILE} at HEAD`);
  } catch {
    return undefined;
  }
}

/** `--port NAME=N`: NAME must be a named port of the config (exit 2), pinned once, and not one that moves. */
function requirePinnable(config: Config, pins: Record<string, number>, configFile: string): void {
  const unknown = Object.keys(pins).filter((n) => !own(config.ports, n));
  if (unknown.length) {
    throw new UsageError(`--port: no such named port${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, {
      hint: `the named ports of ${configFile}: ${Object.keys(config.ports).join(', ') || '(none)'}`,
    });
  }
  const twice = Object.values(pins).filter((p, i, all) => all.indexOf(p) !== i);
  if (twice.length) throw new UsageError(`--port: port ${twice[0]} is pinned for two names`);
  // a blue-green promotion moves its service's ports to the new instance: a pin could not hold
  for (const [name, svc] of Object.entries(config.services)) {
    const pinned = Object.keys(svc.ports).filter((p) => hasOwn(pins, p));
    if (svc.replace === 'blue-green' && pinned.length) {
      throw new UsageError(
        `--port: ${pinned.join(', ')} belongs to ${name}, which is replaced blue-green (its ports move at each promotion)`,
      );
    }
  }
}

/** `replace: blue-green` runs the new instance beside the old one: only where its runtime can. */
export function requireSideBySide(config: Config, placement: Placement, configFile: string): void {
  const problems = Object.entries(config.services)
    .filter(([name, svc]) => svc.replace === 'blue-green' && !runtimeOf(own(placement, name)!).sideBySide)
    .map(([name]) => ({
      path: `services.${name}.replace`,
      message: `blue-green runs a second instance beside the first, which ${own(placement, name)} does not: ${name} is placed there (use recreate, or run it on the host)`,
    }));
  if (problems.length) throw new ConfigError(configFile, problems);
}

/** A session runs services: listed in sess.yaml, or (container mode) those of the compose files. */
export function requireSomethingToRun(config: Config, mode: Mode, configFile: string): void {
  if (Object.keys(config.services).length > 0 || runtimesImplying(config, mode).length > 0) return;
  throw new ConfigError(configFile, [
    {
      path: 'services',
      message: `no services to run in ${mode} mode: list them here (only container mode runs the services of the compose files unlisted)`,
    },
  ]);
}

/** The runtimes a session of this config uses: those of its placement, and those that run unlisted services. */
export function runtimesOfConfig(config: Config, mode: Mode, placement: Placement) {
  return [...new Set([...runtimesIn(placement), ...runtimesImplying(config, mode)])];
}

/**
 * The files a fresh session's runtimes will need (the compose files): in its commit, or brought in
 * by worktree.include / link from the main checkout. Checked before anything is made (compose itself
 * reads them later, from the worktree).
 */
async function requireRuntimeFiles(
  repo: Repo,
  config: Config,
  mode: Mode,
  placement: Placement,
  commit: string,
  configFile: string,
): Promise<void> {
  const brought = (f: string) =>
    [...config.worktree.include, ...config.worktree.link].some((p) => f === p || f.startsWith(`${p}/`)) &&
    existsSync(join(repo.mainRoot, f));
  const problems: { path: string; message: string }[] = [];
  for (const runtime of runtimesOfConfig(config, mode, placement)) {
    const { key, files } = runtime.requiredFiles(config);
    const missing: string[] = [];
    for (const f of files) {
      if (brought(f)) continue;
      const r = await git(['cat-file', '-e', `${commit}:${f}`], repo.mainRoot, { allowFailure: true });
      if (r.exitCode !== 0) missing.push(f);
    }
    if (missing.length)
      problems.push({ path: key, message: `not in that commit (nor brought in by worktree.include or link): ${missing.join(', ')}` });
  }
  if (problems.length) throw new ConfigError(configFile, problems);
}

/** `--remote-host` names a machine (never a word ssh would take for an option), `--context` a context. */
function requireMachine(engine: EngineChoice | undefined): void {
  if (engine?.host !== undefined && !parseSshTarget(engine.host)) {
    throw new UsageError(`--remote-host ${engine.host}: not user@box or user@box:port`);
  }
  if (engine?.context !== undefined) requireContextName(engine.context);
}
