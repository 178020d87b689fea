// Processes and containers of this repository that no session knows: each runtime finds its own,
// and each repair is made under the session's lock, deciding again on what it says there.
import type { Progress } from '../../common/progress.js';
import { RUNTIMES } from '../../modes/placement.js';
import type { SessionLookup } from '../../modes/runtime.js';
import { readJournal } from '../journal/recover.js';
import { stashOf } from '../state/liveness.js';
import type { Repo } from '../state/repo.js';
import { readCreating, readSession } from '../state/store.js';
import type { Check } from './types.js';
import { sessions, underLock } from './underLock.js';

/** What doctor knows of the sessions, read afresh at every question. */
function lookup(repo: Repo): SessionLookup {
  return {
    busy: (session) => !!(readJournal(repo, session) || readCreating(repo, session)),
    services: (session) => readSession(repo, session)?.services,
  };
}

export async function runtimeOrphans(repo: Repo, progress: Progress): Promise<Check[]> {
  const records = sessions(repo);
  const checks: Check[] = [];
  for (const runtime of Object.values(RUNTIMES)) {
    const stashes = records.map((r) => stashOf(r, runtime.name)).filter((s) => s !== undefined);
    for (const orphan of await runtime.orphans(repo.id, lookup(repo), stashes)) {
      checks.push({
        finding: { kind: orphan.kind, subject: orphan.subject, detail: orphan.detail },
        fix: () => underLock(repo, orphan.session, progress, () => orphan.fix(lookup(repo))),
      });
    }
  }
  return checks;
}
