// The steps of `up` before and around its services: includes, links, hook runs, and what else goes
// into a service's definition (git trees of host cwds, compose models, image ids). Each step that
// changes something registers its inverse with the guard it is given.
import { existsSync, lstatSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { copyTreeCow } from '../../adapters/fs.js';
import { git } from '../../adapters/git.js';
import { runShell } from '../../adapters/process.js';
import { WorkError, indent } from '../../common/errors.js';
import type { ComposeSetup } from '../composeStep.js';
import type { Config } from '../../config/schema.js';
import type { Progress } from '../../common/progress.js';
import type { Repo } from '../state/repo.js';
import type { Resolved } from './resolve.js';
import type { RollbackGuard } from '../journal/guard.js';
import { HOOK_MARKER } from '../../modes/hostProcess.js';
import { own } from '../../common/records.js';

export async function copyIncludes(repo: Repo, config: Config, worktree: string, progress: Progress): Promise<void> {
  for (const rel of config.worktree.include) {
    const from = join(repo.mainRoot, rel);
    const to = join(worktree, rel);
    if (!existsSync(from) || existsSync(to)) continue;
    await copyTreeCow(from, to);
    progress.step(`copied ${rel}`);
  }
}

/** Symlinks from the main checkout into the worktree (made on every up: a resume repairs a lost one). */
export async function linkPaths(repo: Repo, config: Config, worktree: string, guard: RollbackGuard): Promise<string[]> {
  const links: string[] = [];
  for (const rel of config.worktree.link) {
    const target = join(repo.mainRoot, rel);
    const path = join(worktree, rel);
    links.push(rel);
    if (!existsSync(target) || existsOrIsLink(path)) continue;
    await guard.run('link', { kind: 'symlink.remove', path, target }, async () => {
      mkdirSync(join(path, '..'), { recursive: true });
      symlinkSync(target, path);
    });
  }
  return links;
}

function existsOrIsLink(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * A host service is replaced when HEAD moved to a commit that changes files under its cwd: the
 * git tree id of that folder goes into its definition (and so into its hash).
 */
export async function addSourceTrees(resolved: Resolved, worktree: string): Promise<void> {
  const hostDefs = Object.values(resolved.services).filter((d) => d.host);
  const cache = new Map<string, string>();
  for (const def of hostDefs) {
    const rel = def.host!.cwd.slice(worktree.length + 1);
    if (!cache.has(rel)) {
      const r = await git(['rev-parse', `HEAD:${rel}`], worktree, { allowFailure: true });
      cache.set(rel, r.exitCode === 0 ? r.stdout.trim() : '');
    }
    def.host!.tree = cache.get(rel)!;
  }
}

/** What else decides a compose service's hash: its merged model, its image id, its build context. */
export async function describeComposeServices(resolved: Resolved, setup: ComposeSetup, worktree: string): Promise<void> {
  const defs = Object.values(resolved.services).filter((d) => d.compose);
  const models = new Map(defs.map((d) => [d, own(setup.model.services, d.compose!.service)!]));
  const images = [...models.values()].filter((m) => m.image && !m.build).map((m) => m.image!);
  const { imageIds } = await import('../../adapters/compose.js');
  const ids = await imageIds(setup.ref.cli.engine, images);
  for (const [def, model] of models) {
    def.compose!.model = model;
    if (model.image && !model.build) def.compose!.image = own(ids, model.image) ?? '';

    const context = (model.build as { context?: string } | undefined)?.context;
    if (context?.startsWith(worktree)) {
      const rel = context.slice(worktree.length + 1);
      const r = await git(['rev-parse', `HEAD:${rel}`], worktree, { allowFailure: true });
      def.compose!.context = r.exitCode === 0 ? r.stdout.trim() : '';
    }
  }
}

/**
 * A hook's commands, one after the other. Their processes carry a marker, and the journal says to
 * stop them: a rollback (or the command after a sess killed mid-hook) ends whatever they left running.
 */
export async function runHooks(
  hook: string,
  commands: string[],
  worktree: string,
  env: NodeJS.ProcessEnv,
  guard: RollbackGuard,
  options: { signal: AbortSignal; progress: Progress; owner: string },
): Promise<void> {
  if (commands.length === 0) return;
  const marker = `${options.owner}/hook:${hook}/${randomBytes(4).toString('hex')}`;
  const undo = { kind: 'process.stop' as const, marker, env: HOOK_MARKER, signal: 'SIGTERM' as const, grace: 5 };
  await guard.run(hook, undo, async () => {
    for (const command of commands) {
      options.progress.info(`${hook}: ${command}`);
      const r = await runShell(command, {
        cwd: worktree,
        env: { ...env, [HOOK_MARKER]: marker },
        signal: options.signal,
        echo: true,
        allowFailure: true,
      });
      if (r.exitCode !== 0) {
        const tail = (r.stderr.trim() ? r.stderr : r.stdout).trim().split('\n').slice(-20).join('\n');
        throw new WorkError(`${hook} hook \`${command}\` exited with ${r.exitCode ?? r.signal}${tail ? `:\n${indent(tail)}` : ''}`);
      }
    }
  });
}
