// Hooks: shell commands of sess.yaml, run in the worktree with the session env.
import { randomBytes } from 'node:crypto';
import { runShell } from '../../adapters/process.js';
import { WorkError, indent } from '../../common/errors.js';
import type { Progress } from '../../common/progress.js';
import { HOOK_MARKER } from '../../modes/host/process.js';
import type { ProcessStopUndo } from '../../modes/host/runtime.js';
import type { RollbackGuard } from '../journal/guard.js';

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
  // a hook's processes are host processes: the host runtime's inverse stops them by their marker
  const undo: ProcessStopUndo = { kind: 'process.stop', marker, env: HOOK_MARKER, signal: 'SIGTERM', grace: 5 };
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
