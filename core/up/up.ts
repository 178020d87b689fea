// `sess up`: one transaction. Every step registers its inverse with the rollback guard before it
// acts; any failure (or Ctrl+C) unwinds them; success disarms. See SPEC.md "sess up, and failure".
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readTextIfExists, writeFileAtomic } from '../../adapters/fs.js';
import { addWorktree, readHead, resetHard, worktreeGitDir } from '../../adapters/git.js';
import { CancelledError, RollbackError, SessError, UsageError, WorkError, messageOf } from '../../common/errors.js';
import { addSourceTrees, copyIncludes, describeComposeServices, linkPaths, runHooks } from './worktree.js';
import { dependencyOrder } from '../../config/order.js';
import { appendRelease, type Release, type ReleaseService, type ReleaseStatus } from '../state/history.js';
import { lease, leasesOf, requireReadableLedger } from '../state/ledger.js';
import { releaseUnusedLeases, sessionLeases } from '../state/leases.js';
import { composeFilesOf, inputHash, prepareUp, readWorktreeConfigText, type Prepared, type UpRequest } from './prepare.js';
import type { Progress } from '../../common/progress.js';
import { leaseOwner, openRepo, paths, withWorktreesLock, type Repo } from '../state/repo.js';
import { resolveAll } from './resolve.js';
import { checkWorktreePaths } from './worktreePaths.js';
import { RollbackGuard } from '../journal/guard.js';
import { checkSandboxMovable, fetchPullRequest, makeRoomForSandbox, requireRemote, type PullRequestHead } from '../sessions/sandbox.js';
import { finishInterrupted } from '../sessions/down.js';
import { isServiceAlive, planServices, startServices, stopServices, type ServiceFailure, type StartContext } from '../release/start.js';
import type { ComposeSetup } from '../composeStep.js';
import { composeStatesOfRepo, type ContainerState } from '../../modes/composeRuntime.js';
import { lockSession, requireOwnName, resolveUpTarget } from '../sessions/names.js';
import { clearCreating, markCreating, readSession, writeSession, type SessionRecord } from '../state/store.js';
import { dotenv } from '../dotenv.js';
import { serviceUrls, sessionView, type SessionView } from '../sessions/view.js';
import { hasOwn, own } from '../../common/records.js';

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
  const { name, branch } = await resolveUpTarget(repo, options.pr !== undefined ? `pr/${options.pr}` : options.target!);
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
    requireOwnName(existing, name, branch);
    // from here on the session exists (status creating), for ls/status and for commands that wait
    if (!existing) markCreating(repo, { name, branch, mode: options.mode ?? null, worktree: null });
    let moveTo: string | undefined;
    if (pr && existing && existsSync(existing.worktree) && readHead(worktreeGitDir(existing.worktree), repo.commonDir) !== pr.commit) {
      await checkSandboxMovable(existing, pr);
      moveTo = pr.commit;
      options.progress.info(`moving sandbox ${name} to ${pr.commit.slice(0, 8)}`);
    }
    if (existing && !moveTo) {
      const noop = await tryNoop(repo, existing, options);
      if (noop) return noop;
    }
    const request = { ...options, ...(pr ? { remote: pr.remote } : {}), ...(moveTo ? { moveTo } : {}) };
    const prepared = await prepareUp(repo, name, branch, request, existing);
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

/**
 * A resume whose inputs did not change (same sess.yaml text, flags and HEAD) and whose services all
 * run is a no-op: no config parsing, no subprocess, only a liveness check.
 */
async function tryNoop(repo: Repo, existing: SessionRecord, options: UpOptions): Promise<UpResult | undefined> {
  if (!existing.inputHash || existing.status !== 'up' || !existsSync(existing.worktree)) return undefined;
  if (options.mode && options.mode !== (existing.overrides.mode ?? existing.mode)) return undefined;
  if (options.host?.length || options.container?.length) return undefined;
  let text: string;
  try {
    text = readWorktreeConfigText(existing.worktree);
  } catch {
    return undefined;
  }
  const head = readHead(worktreeGitDir(existing.worktree), repo.commonDir);
  if (inputHash(text, existing.overrides, head, existing.worktree, existing.inputFiles) !== existing.inputHash) return undefined;
  // an image rebuilt under the same tag is a change no file shows: its id is asked beside the states
  const images = Object.values(existing.services).flatMap((s) =>
    s.def.compose?.image ? [{ tag: (s.def.compose.model as { image: string }).image, id: s.def.compose.image }] : [],
  );
  const engine = existing.compose?.cli.engine;
  const [states, ids]: [Record<string, Record<string, ContainerState>>, Record<string, string>] = engine
    ? await Promise.all([
        composeStatesOfRepo(engine, repo.id),
        images.length
          ? import('../../adapters/compose.js').then((m) =>
              m.imageIds(
                engine,
                images.map((i) => i.tag),
              ),
            )
          : {},
      ])
    : [{}, {}];
  const composeStates = own(states, existing.name) ?? {};
  if (images.some((i) => own(ids, i.tag) !== i.id)) return undefined;
  const alive = Object.entries(existing.services).every(([n, s]) => isServiceAlive(s, n, composeStates));
  if (!alive) return undefined;
  const now = new Date().toISOString();
  const release = appendRelease(repo, existing.name, {
    started: now,
    ended: now,
    trigger: 'resume',
    status: 'completed',
    services: Object.keys(existing.services).map((name) => ({ name, action: 'unchanged' as const })),
  });
  options.progress.step(`${existing.name} is already up and unchanged`);
  return { view: sessionView(existing, composeStates), urls: serviceUrls(existing), release, noop: true };
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
  const { config, placement, worktree } = prepared;
  const { progress, signal } = options;
  const started = new Date().toISOString();
  const trigger = existing ? 'resume' : 'fresh';
  const guard = RollbackGuard.begin(repo, name, 'up', progress.info);
  const checkSignal = () => {
    if (signal.aborted) throw CancelledError.from(signal);
  };
  // what happened to each service, filled as it happens (a rollback reads it too)
  const actions: ReleaseService[] = [];
  let releaseFailure: WorkError | undefined;
  // what a rollback of this resume writes back: the previous record, with the pids of services
  // that were brought back to their previous definition after a failed replacement
  const fallback = existing ? structuredClone(existing) : undefined;
  try {
    if (!existing) {
      await guard.run('session', { kind: 'session.remove', session: name }, async () => {
        mkdirSync(paths.logsDir(repo, name), { recursive: true });
      });
    } else {
      await guard.run('session', { kind: 'session.restore', record: existing }, async () => undefined);
    }
    checkSignal();

    if (moveTo) {
      const from = readHead(worktreeGitDir(worktree), repo.commonDir)!;
      await guard.run('move', { kind: 'worktree.reset', worktree, commit: from }, () => resetHard(worktree, moveTo, signal));
      progress.step(`sandbox ${name} moved ${from.slice(0, 8)} -> ${moveTo.slice(0, 8)}`);
    }
    if (prepared.fresh) {
      const { source, branchTip, describe } = prepared.fresh;
      const createdBranch = source.kind !== 'existing';
      // the lock outside the step: a wait that times out or is interrupted leaves nothing to undo
      await withWorktreesLock(
        repo,
        () =>
          guard.run(
            'worktree',
            {
              kind: 'worktree.remove',
              path: worktree,
              branch: createdBranch ? branch : null,
              branchTip,
              ...(existsSync(dirname(worktree)) ? {} : { parent: dirname(worktree) }),
            },
            () => addWorktree(worktree, source, repo.mainRoot, signal),
          ),
        { signal, progress },
      );
      progress.step(`worktree ${worktree} (${createdBranch ? `new branch ${branch} from ${describe}` : describe})`);
      checkSignal();
    }
    // the branch's files are on disk now: no path sess writes may lead out of them
    checkWorktreePaths(config, placement, worktree, prepared.configFile);
    if (prepared.fresh) await guard.run('include', { kind: 'none' }, () => copyIncludes(repo, config, worktree, progress));
    checkSignal();
    const links = await linkPaths(repo, config, worktree, guard);

    const owner = leaseOwner(repo, name);
    const held = leasesOf(owner);
    const wanted = Object.entries(config.ports).map(([portName, p]) => ({ name: portName, prefer: p.prefer }));
    const newNames = wanted.map((w) => w.name).filter((n) => !hasOwn(held, n));
    const { ports: allPorts } = await guard.runAtomic('ports', { kind: 'ports.release', owner, names: newNames }, () =>
      lease(owner, repo.stateDir, wanted, signal),
    );
    const ports = Object.fromEntries(Object.keys(config.ports).map((n) => [n, own(allPorts, n)!]));
    if (newNames.length) progress.step(`ports ${newNames.map((n) => `${n}=${own(ports, n)}`).join(' ')}`);
    checkSignal();

    const session = {
      name,
      branch,
      mode: prepared.mode,
      worktree,
      dir: paths.sessionDir(repo, name),
      repoRoot: repo.mainRoot,
    };
    const resolved = resolveAll(config, placement, ports, session);
    await addSourceTrees(resolved, worktree);
    let composeSetup: ComposeSetup | undefined;
    if (Object.values(placement).includes('compose')) {
      // loaded only when a service runs in compose (it brings the yaml writer)
      const { setUpCompose, writeOverlay } = await import('../composeStep.js');
      composeSetup = await setUpCompose(
        repo,
        name,
        config,
        placement,
        worktree,
        resolved.hostEnv,
        guard,
        signal,
        existing?.compose?.project,
      );
      await describeComposeServices(resolved, composeSetup, worktree);
      const labels = { repo: repo.id, session: name };
      await writeOverlay(composeSetup, config, placement, ports, resolved, labels, resolved.composeEnv, guard, progress);
    }
    checkSignal();

    const envFile = join(worktree, config.env_file);
    const envText = dotenv(resolved.hostEnv);
    const previousEnv = readTextIfExists(envFile) ?? null;
    if (previousEnv !== envText) {
      await guard.run('env-file', { kind: 'file.restore', path: envFile, previous: previousEnv, mode: 0o600 }, async () =>
        writeFileAtomic(envFile, envText, 0o600),
      );
    }
    checkSignal();

    const hookEnv = { ...process.env, ...resolved.hostEnv };
    const hookOptions = { ...options, owner: `${repo.id}/${name}` };
    if (!existing) await runHooks('post_create', resolved.hooks.post_create, worktree, hookEnv, guard, hookOptions);

    const order = dependencyOrder(config);
    const composeRef = composeSetup?.ref ?? existing?.compose;
    const composeStates = composeRef && existing ? (own(await composeStatesOfRepo(composeRef.cli.engine, repo.id), name) ?? {}) : {};

    const plan = planServices(order, resolved.services, existing?.services ?? {}, composeStates);
    if (plan.removed.length && existing) {
      await stopServices(existing.services, progress, { names: plan.removed, compose: existing.compose });
    }
    const starting = plan.items.filter((i) => i.action !== 'unchanged');
    if (starting.some((i) => i.def.runtime === 'host')) {
      await runHooks('pre_spawn', resolved.hooks.pre_spawn, worktree, hookEnv, guard, hookOptions);
    }
    const resume: StartContext['resume'] = fallback
      ? {
          onRestored: (service, rec) => {
            fallback.services[service] = rec;
            guard.amendLabel('session', { kind: 'session.restore', record: fallback });
          },
        }
      : undefined;
    const outcome = await startServices(
      {
        repo,
        session: name,
        guard,
        progress,
        signal,
        previous: existing?.services ?? {},
        sessionEnv: resolved.hostEnv,
        ...(composeSetup
          ? { compose: { ref: composeSetup.ref, env: hookEnv, fresh: !existing, volumesBefore: composeSetup.volumesBefore } }
          : {}),
        ...(existing?.compose ? { previousCompose: existing.compose } : {}),
        ...(resume ? { resume } : {}),
      },
      plan.items,
      actions,
    );
    actions.push(...plan.removed.map((n) => ({ name: n, action: 'stopped' as const })));
    const failed = outcome.failures;
    if (failed.length === 0 && (starting.length > 0 || !existing)) {
      await runHooks('post_up', resolved.hooks.post_up, worktree, hookEnv, guard, hookOptions);
    }
    // A resume where some services failed: those are back as they were, the others keep what
    // this up gave them. The release ends here, without a rollback of the rest.
    const status: ReleaseStatus =
      failed.length === 0
        ? 'completed'
        : failed.some((f) => !f.restored)
          ? 'failed'
          : outcome.actions.some((a) => ['replaced', 'started', 'restarted'].includes(a.action))
            ? 'partially_failed'
            : 'rolled_back';
    if (failed.length) releaseFailure = releaseError(status, failed, name);

    // what compose reads besides its files (.env, env_file, extends, include) counts for the no-op too
    const inputFiles = composeSetup ? [...composeFilesOf(config), ...composeSetup.alsoRead] : [];
    const record: SessionRecord = {
      version: 1,
      name,
      branch,
      mode: prepared.mode,
      worktree,
      createdBranch: existing?.createdBranch ?? prepared.fresh?.source.kind !== 'existing',
      ...((existing?.baseCommit ?? prepared.fresh?.commit) ? { baseCommit: (existing?.baseCommit ?? prepared.fresh?.commit)! } : {}),
      created: existing?.created ?? started,
      lastUp: new Date().toISOString(),
      status: status === 'failed' ? 'failed' : 'up',
      ports,
      leases: sessionLeases(ports, composeSetup?.extraPorts),
      overrides: prepared.overrides,
      // only a release that did all it was asked may make the next up a no-op: after a failure, the
      // next up tries the services that did not take their new definition again
      inputHash:
        failed.length === 0
          ? inputHash(prepared.configText, prepared.overrides, readHead(worktreeGitDir(worktree), repo.commonDir), worktree, inputFiles)
          : null,
      head: readHead(worktreeGitDir(worktree), repo.commonDir),
      services: outcome.records,
      hostEnv: resolved.hostEnv,
      ownFiles: [config.env_file, ...links],
      hooks: { pre_down: resolved.hooks.pre_down },
      ...(composeSetup ? { compose: composeSetup.ref } : {}),
      inputFiles,
      ...(pr ? { pr: { number: pr.number, remote: pr.remote, commit: pr.commit, ref: pr.ref } } : existing?.pr ? { pr: existing.pr } : {}),
    };
    writeSession(repo, record);
    const release = appendRelease(repo, name, {
      started,
      ended: new Date().toISOString(),
      trigger,
      status,
      services: [...order, ...plan.removed].map((n) => actions.find((a) => a.name === n) ?? { name: n, action: 'unchanged' as const }),
      ...(releaseFailure ? { error: releaseFailure.message } : {}),
    });
    guard.disarm();
    if (releaseFailure) throw releaseFailure;
    await releaseUnusedLeases(owner, record.leases!, progress);
    // every compose service is running now: unchanged ones were, the others passed `up --wait`
    const running = Object.fromEntries(Object.keys(record.services).map((n) => [n, 'running' as const]));
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
        services: Object.keys(config.services).map((n) =>
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
