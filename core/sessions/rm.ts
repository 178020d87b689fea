// `sess rm`: take a session away (services, worktree, leases; volumes with --volumes), refusing a
// worktree that holds work of its own unless --force.
import { WorkError } from '../../common/errors.js';
import { recordIntent } from '../journal/recover.js';
import { requireReadableLedger } from '../state/ledger.js';
import { workOfItsOwn } from '../state/work.js';
import { withSession, type SessionCommand } from './locked.js';
import { rmRecord } from './teardown.js';

export interface RmOptions extends SessionCommand {
  force: boolean;
  volumes: boolean;
}

/** `warnings`: when a pre_down or post_down hook failed (rm went on all the same). */
export function rm(options: RmOptions): Promise<{ name: string; removed: string[]; warnings?: string[] }> {
  return withSession(options, async (repo, record) => {
    // rm releases the leases last: a corrupt ledger must stop it before its intent is recorded
    requireReadableLedger();
    // an adopted worktree stays where it is: rm loses none of its work
    if (!options.force && !record.adopted) {
      const work = await workOfItsOwn(repo, record);
      const problems: string[] = [];
      if (work.dirty.length) problems.push(`uncommitted changes: ${list(work.dirty)}`);
      if (work.commits.length) {
        problems.push(
          record.pr
            ? `${work.commits.length} commit(s) that are not on the pull request`
            : `${work.commits.length} commit(s) on ${record.branch} that no other branch or remote has`,
        );
      }
      if (problems.length) {
        throw new WorkError(`not removing session ${record.name}: its worktree has ${problems.join('; and ')}`, {
          hint: `commit and push, or \`sess rm ${record.name} --force\` to throw them away`,
        });
      }
    }
    recordIntent(repo, record.name, 'rm', { volumes: options.volumes });
    const { removed, warnings } = await rmRecord(repo, record, options.progress, options);
    options.progress.step(`removed session ${record.name}`);
    return { name: record.name, removed, ...(warnings.length ? { warnings } : {}) };
  });
}

function list(paths: string[]): string {
  return paths.length > 5 ? `${paths.slice(0, 5).join(', ')} and ${paths.length - 5} more` : paths.join(', ');
}
