// `sess down`: stop the services of a session; keep its worktree, volumes and port leases.
import { clearIntent, recordIntent } from '../journal/recover.js';
import { withSession, type SessionCommand } from './locked.js';
import { downRecord } from './teardown.js';
import { sessionView, type SessionView } from './view.js';

export type { SessionCommand };

export function down(options: SessionCommand): Promise<SessionView> {
  return withSession(options, async (repo, record) => {
    recordIntent(repo, record.name, 'down');
    await downRecord(repo, record, options.progress);
    clearIntent(repo, record.name);
    options.progress.step(`${record.name} is down (worktree, ports and volumes kept)`);
    return sessionView(record);
  });
}
