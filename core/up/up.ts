// `sess up`: one transaction. The steps (steps.ts) register their inverses with the rollback guard
// before they act; any failure (or Ctrl+C) unwinds them; success disarms. See SPEC.md "sess up, and
// failure".
import { existsSync } from 'node:fs';
import { readHead, worktreeGitDir } from '../../adapters/git.js';
import { CancelledError, RollbackError, SessError, UsageError, WorkError, messageOf } from '../../common/errors.js';
import type { Progress } from '../../common/progress.js';
import { hasOwn, own } from '../../common/records.js';
import { runtimesIn } from '../../modes/placement.js';
import { dependencyOrder } from '../../config/order.js';
import { RollbackGuard } from '../journal/guard.js';
import { finishInterrupted } from '../journal/recover.js';
import type { ServiceFailure } from '../release/start.js';
import { appendRelease, nextReleaseId, type Release, type ReleaseService, type ReleaseStatus } from '../state/history.js';
import { requireReadableLedger } from '../state/ledger.js';
import { releaseUnusedLeases } from '../state/leases.js';
import { isAlive, lookAt, sessionCtx } from '../state/liveness.js';
import { leaseOwner, openRepo, paths, type Repo } from '../state/repo.js';
import { clearCreating, markCreating, readSession, writeSession, type SessionRecord } from '../state/store.js';
import { findSession, lockSession, noSession, requireOwnName, resolveUpTarget } from '../sessions/names.js';
import { checkSandboxMovable, fetchPullRequest, makeRoomForSandbox, requireRemote, type PullRequestHead } from '../sessions/sandbox.js';
import { serviceUrls, sessionView, type SessionView } from '../sessions/view.js';
import { inputHash, prepareUp, readWorktreeConfigText, type Prepared, type UpRequest } from './prepare.js';
import { runPreUp } from './hooks.js';
import { interpolateHook, sessionVars } from './resolve.js';
import { ensureProxyFor } from './routes.js';
import { envFileOf, UP_STEPS, type UpContext } from './steps.js';

export interface UpOptions extends UpRequest {
  cwd: string;
  /** a branch or session name; or none, with `pr` */
  target?: string;
  /** a pull request number: the sandbox pr-N */
  pr?: number;
  signal: AbortSignal;
  progress: Progress;
}

export interface UpResult {
  view: SessionView;
  urls: Record<string, string>;
  release: Release;
  noop: boolean;
}

export async function up(options: UpOptions): Promise<UpResult> {
  const repo = await openRepo(options.cwd);
  if (options.pr !== undefined && options.target) throw new UsageError('give a branch or --pr, not both');
  if (options.pr === undefined && !options.target) throw new UsageError('which branch? `sess up <branch>` or `sess up --pr N`');
  const { name, branch } = options.restart
    ? restartTarget(repo, options.target!)
    : await resolveUpTarget(repo, options.pr !== undefined ? `pr/${options.pr}` : options.target!);
  if (options.pr !== undefined) await requireRemote(repo, options.remote ?? 'origin');
  const lock = await lockSession(repo, name, options.progress, options.signal);
  try {
    requireReadableLedger(); // a corrupt ledger is refused before anything changes
    // under the session's lock: two `up --pr N` at once would race on the ref they both update
    let pr: PullRequestHead | undefined;
    if (options.pr !== undefined) {
      pr = await fetchPullRequest(repo, options.pr, options.remote ?? 'origin', options.progress, options.signal);
    }
    await finishInterrupted(repo, name, options.progress);
    // Read again under the lock: another command may have changed it while we waited (made it,
    // even, for another branch of the same session name).
    const existing = readSession(repo, name);
    if (options.restart && !existing) throw noSession(repo, name, ': it went away while this command waited for it');
    requireOwnName(existing, name, branch);
    const waiting = Object.keys(existing?.pending ?? {});
    if (waiting.length) {
      throw new UsageError(`a blue-green release of ${name} waits at its manual gate (${waiting.join(', ')})`, {
        hint: `\`sess promote ${name}\` lets it take over, \`sess promote ${name} --abort\` keeps what runs; then sess up again`,
      });
    }
    // from here on the session exists (status creating), for ls/status and for commands that wait
    if (!existing) markCreating(repo, { name, branch, mode: options.mode ?? null, worktree: null });
    let moveTo: string | undefined;
    if (pr && existing && existsSync(existing.worktree) && readHead(worktreeGitDir(existing.worktree), repo.commonDir) !== pr.commit) {
      await checkSandboxMovable(repo, existing, pr);
      moveTo = pr.commit;
      options.progress.info(`moving sandbox ${name} to ${pr.commit.slice(0, 8)}`);
    }
    if (existing && !moveTo) {
      const noop = await tryNoop(repo, existing, options);
      if (noop) return noop;
    }
    const request = { ...options, ...(pr ? { remote: pr.remote } : {}), ...(moveTo ? { moveTo } : {}) };
    const prepared = await prepareUp(repo, name, branch, request, existing);
    for (const note of prepared.notes) options.progress.info(note);
    // before anything of this up exists: a failure here leaves the world as it was
    await preUp(repo, name, branch, prepared, options);
    if (!existing) markCreating(repo, { name, branch, mode: prepared.mode, worktree: prepared.worktree });
    if (pr && !existing && prepared.config.sandboxes?.max !== undefined) {
      await makeRoomForSandbox(repo, prepared.config.sandboxes.max, name, options.progress);
    }
    return await transaction(repo, name, branch, prepared, existing, options, pr, moveTo);
  } finally {
    clearCreating(repo, name);
    lock.release();
  }
}

/** `sess restart <session>`: an existing session (or one being created: the lock waits for it). */
function restartTarget(repo: Repo, target: string): { name: string; branch: string } {
  const found = findSession(repo, target);
  const branch = found?.record?.branch ?? found?.creating?.branch;
  if (!found || branch === undefined) throw noSession(repo, target);
  return { name: found.name, branch };
}

/**
 * The pre_up hook, in the main checkout, before the session gets anything (no worktree, lease or
 * record): its env has the session's names and paths, no ports (config rules keep them out of it).
 */
async function preUp(repo: Repo, name: string, branch: string, prepared: Prepared, options: UpOptions): Promise<void> {
  const commands = prepared.config.hooks.pre_up;
  if (commands.length === 0) return;
  const info = {
    name,
    branch,
    mode: prepared.mode,
    worktree: prepared.worktree,
    dir: paths.sessionDir(repo, name),
    repoRoot: repo.mainRoot,
  };
  const env = { ...process.env, ...sessionVars(info, {}) };
  await runPreUp(
    commands.map((c) => interpolateHook(c)),
    repo.mainRoot,
    env,
    { signal: options.signal, progress: options.progress, owner: leaseOwner(repo, name) },
  );
}

/**
 * A resume whose inputs did not change (same sess.yaml text, flags and HEAD) and whose services all
 * run is a no-op: no config parsing, only one look per runtime at what runs.
 */
async function tryNoop(repo: Repo, existing: SessionRecord, options: UpOptions): Promise<UpResult | undefined> {
  if (!existing.inputHash || existing.status !== 'up' || !existsSync(existing.worktree)) return undefined;
  if (options.mode && options.mode !== (existing.overrides.mode ?? existing.mode)) return undefined;
  if (options.host?.length || options.container?.length) return undefined;
  // another machine named for its engine
  if (options.engine && JSON.stringify(options.engine) !== JSON.stringify(existing.overrides.engine)) return undefined;
  // a new pin moves a lease
  if (Object.entries(options.ports ?? {}).some(([n, p]) => own(existing.overrides.ports ?? {}, n) !== p)) return undefined;
  // a subset or a restart asks for work even when nothing changed
  if (options.only?.length || options.skip?.length || options.restart) return undefined;
  let text: string;
  try {
    text = readWorktreeConfigText(existing.worktree);
  } catch {
    return undefined;
  }
  const head = readHead(worktreeGitDir(existing.worktree), repo.commonDir);
  if (inputHash(text, existing.overrides, head, existing.worktree, existing.inputFiles) !== existing.inputHash) return undefined;
  const services = Object.values(existing.services);
  // what no file shows (an image rebuilt under its tag) is asked of the runtimes beside the look
  // a session with stable URLs needs the proxy (one local request when it runs; started when not)
  const [looked, , ...current] = await Promise.all([
    lookAt(repo, [existing]),
    existing.urls ? ensureProxyFor(options.progress, options.signal) : undefined,
    ...runtimesIn(services.map((s) => s.runtime)).map((rt) =>
      rt.stillCurrent(
        services.filter((s) => s.runtime === rt.name),
        sessionCtx(repo, existing, rt.name),
      ),
    ),
  ]);
  if (current.some((c) => !c)) return undefined;
  const live = own(looked, existing.name) ?? {};
  if (!services.every((s) => isAlive(s, live))) return undefined;
  // what a runtime does on every up, even one that changes nothing (remote: the worktree's copy)
  for (const rt of runtimesIn(services.map((s) => s.runtime))) {
    await rt.refresh?.({ ...sessionCtx(repo, existing, rt.name), worktree: existing.worktree }, options.signal);
  }
  const now = new Date().toISOString();
  const release = appendRelease(repo, existing.name, {
    started: now,
    ended: now,
    trigger: 'resume',
    status: 'completed',
    services: Object.keys(existing.services).map((name) => ({ name, action: 'unchanged' as const })),
  });
  options.progress.step(`${existing.name} is already up and unchanged`);
  return { view: sessionView(existing, live), urls: serviceUrls(existing), release, noop: true };
}

async function transaction(
  repo: Repo,
  name: string,
  branch: string,
  prepared: Prepared,
  existing: SessionRecord | undefined,
  options: UpOptions,
  pr?: PullRequestHead,
  moveTo?: string,
): Promise<UpResult> {
  const { config, worktree } = prepared;
  const { progress, signal } = options;
  const started = new Date().toISOString();
  const trigger = options.restart ? 'restart' : existing ? 'resume' : 'fresh';
  const guard = RollbackGuard.begin(repo, name, 'up', progress.info);
  const actions: ReleaseService[] = [];
  const ctx: UpContext = {
    repo,
    name,
    branch,
    prepared,
    existing,
    request: options,
    moveTo,
    guard,
    progress,
    signal,
    actions,
    fallback: existing ? structuredClone(existing) : undefined,
    links: [],
    ports: {},
    leases: {},
    runtimes: {},
    hookEnv: process.env,
    pending: {},
    moved: {},
    leftAlone: {},
  };
  let releaseFailure: WorkError | undefined;
  try {
    for (const step of UP_STEPS) {
      if (step.when && !step.when(ctx)) continue;
      await step.run(ctx);
      if (signal.aborted) throw CancelledError.from(signal);
    }
    const outcome = ctx.outcome!;
    const failed = outcome.failures;
    // A resume where some services failed: those are back as they were, the others keep what
    // this up gave them. The release ends here, without a rollback of the rest.
    const waiting = Object.keys(ctx.pending);
    const status: ReleaseStatus =
      failed.length === 0
        ? waiting.length
          ? 'awaiting_promotion'
          : 'completed'
        : failed.some((f) => !f.restored)
          ? 'failed'
          : outcome.actions.some((a) => ['replaced', 'started', 'restarted'].includes(a.action))
            ? 'partially_failed'
            : 'rolled_back';
    if (failed.length) releaseFailure = releaseError(status, failed, name);

    // env_from's files too: a changed .env makes the next up more than a no-op
    const inputFiles = [...new Set([...Object.values(ctx.runtimes).flatMap((up) => up.inputFiles), ...config.env_from])];
    const head = readHead(worktreeGitDir(worktree), repo.commonDir);
    const stashes = Object.fromEntries(
      Object.entries(ctx.runtimes).flatMap(([rt, up]) => (up.stash !== undefined ? [[rt, up.stash]] : [])),
    );
    const record: SessionRecord = {
      version: 1,
      name,
      branch,
      mode: prepared.mode,
      worktree,
      createdBranch: existing?.createdBranch ?? prepared.fresh?.source.kind !== 'existing',
      ...(existing?.adopted || prepared.fresh?.adopted ? { adopted: true as const } : {}),
      ...((existing?.baseCommit ?? prepared.fresh?.commit) ? { baseCommit: (existing?.baseCommit ?? prepared.fresh?.commit)! } : {}),
      created: existing?.created ?? started,
      lastUp: new Date().toISOString(),
      status: status === 'failed' ? 'failed' : 'up',
      ports: ctx.ports,
      leases: ctx.leases,
      overrides: prepared.overrides,
      // only a release that did all it was asked may make the next up a no-op: after a failure, the
      // next up tries the services that did not take their new definition again; after a blue-green
      // promotion moved ports, the services that read them get them
      inputHash:
        failed.length === 0 && !waiting.length && !Object.keys(ctx.moved).length && !prepared.selected
          ? inputHash(prepared.configText, prepared.overrides, head, worktree, inputFiles)
          : null,
      head,
      services: outcome.records,
      hostEnv: ctx.resolved!.hostEnv,
      ownFiles: [config.env_file, ...ctx.links],
      hooks: { pre_down: ctx.resolved!.hooks.pre_down, post_down: ctx.resolved!.hooks.post_down },
      ...stashes,
      inputFiles,
      ...(pr ? { pr: { number: pr.number, remote: pr.remote, commit: pr.commit, ref: pr.ref } } : existing?.pr ? { pr: existing.pr } : {}),
      ...(ctx.urls ? { urls: { ...(ctx.urls.url ? { url: ctx.urls.url } : {}), services: ctx.urls.services } } : {}),
    };
    const releaseId = nextReleaseId(repo, name);
    if (waiting.length) {
      record.pending = Object.fromEntries(
        Object.entries(ctx.pending).map(([service, g]) => [
          service,
          {
            release: releaseId,
            green: g.record,
            ports: g.ports,
            leaseNames: g.leaseNames,
            routePort: g.routePort,
            env: g.env,
            envFile: envFileOf(ctx),
            since: new Date().toISOString(),
          },
        ]),
      );
      for (const a of actions) if (waiting.includes(a.name)) a.promotion = 'awaiting';
      // the candidates' leases are the session's too (a ledger rebuilt from records keeps them)
      for (const g of Object.values(ctx.pending)) for (const [p, n] of Object.entries(g.leaseNames)) record.leases![n] = own(g.ports, p)!;
    }
    writeSession(repo, record);
    // the config as the steps left it: container mode adds the services sess.yaml does not list
    const order = dependencyOrder(ctx.prepared.config).filter((n) => ctx.plan!.items.some((i) => i.name === n) || hasOwn(ctx.leftAlone, n));
    const release = appendRelease(repo, name, {
      started,
      ended: new Date().toISOString(),
      trigger,
      status,
      services: [...order, ...ctx.plan!.removed].map((n) => actions.find((a) => a.name === n) ?? { name: n, action: 'unchanged' as const }),
      ...(releaseFailure ? { error: releaseFailure.message } : {}),
    });
    guard.disarm();
    if (releaseFailure) throw releaseFailure;
    await releaseUnusedLeases(leaseOwner(repo, name), record.leases!, progress);
    // every service runs now: unchanged ones did, the others passed their readiness
    const running = Object.fromEntries(Object.entries(record.services).flatMap(([n, s]) => (s.wanted ? [[n, 'running' as const]] : [])));
    return { view: sessionView(record, running), urls: serviceUrls(record), release, noop: false };
  } catch (error) {
    if (error === releaseFailure) throw error;
    const cause = signal.aborted ? CancelledError.from(signal) : error;
    progress.warn(`${signal.aborted ? 'interrupted' : 'failed'}: rolling back`);
    const failures = await guard.unwind();
    if (existing) {
      appendRelease(repo, name, {
        started,
        ended: new Date().toISOString(),
        trigger,
        status: failures.length ? 'failed' : 'rolled_back',
        services: Object.keys(ctx.prepared.config.services).map((n) =>
          rolledBack(actions.find((a) => a.name === n) ?? { name: n, action: 'unchanged' }),
        ),
        error: messageOf(cause),
      });
    }
    if (failures.length) throw new RollbackError(cause, failures);
    if (cause instanceof SessError) throw cause;
    throw new WorkError(messageOf(cause), { cause });
  }
}

/** What a service's action came to once the whole up was rolled back. */
function rolledBack(entry: ReleaseService): ReleaseService {
  if (entry.then) return entry;
  // what this up started, the rollback stopped; a service it replaced got its previous one back
  if (entry.action === 'started' || entry.action === 'restarted') return { ...entry, then: 'stopped' };
  if (entry.action === 'replaced') return { ...entry, then: 'restored' };
  return entry;
}

function releaseError(status: ReleaseStatus, failed: ServiceFailure[], session: string): WorkError {
  const lines = failed.map(
    (f) =>
      `  - ${f.name}: ${messageOf(f.error).split('\n').join('\n    ')}\n    ${f.restored ? 'it is back as it was before this up' : 'its previous definition did not come back either: it is down'}`,
  );
  const what = {
    rolled_back: 'nothing was changed in the end',
    awaiting_promotion: '',
    promoted: '',
    aborted: '',
    partially_failed: 'the other changed services run their new definition',
    failed: 'some services are down',
    completed: '',
  }[status];
  return new WorkError(`sess up of ${session} ended ${status}: ${what}\n${lines.join('\n')}`, {
    hint:
      status === 'failed'
        ? '`sess doctor --fix` brings the session to a consistent state; `sess up` tries again'
        : 'fix the cause and run sess up again',
  });
}
