// `sess promote <session> [service...]`: the blue-green candidates that wait at their manual gate
// take over (the route switches, the old instance drains and stops); with --abort they are taken
// away and what runs serves on. The switch is a journaled step like up's: from the moment it is
// decided, whatever ends the command (an error, Ctrl+C, a SIGKILL and the next command) finishes it.
import { writeFileAtomic } from '../../adapters/fs.js';
import { CancelledError, RollbackError, UsageError, WorkError } from '../../common/errors.js';
import type { Progress } from '../../common/progress.js';
import { own } from '../../common/records.js';
import { dotenv } from '../dotenv.js';
import { RollbackGuard } from '../journal/guard.js';
import { abortPending, promoteNow, type Green } from '../release/blueGreen.js';
import { isAlive, stashOf } from '../state/liveness.js';
import { writeSession, type SessionRecord } from '../state/store.js';
import type { Repo } from '../state/repo.js';
import { withSession, type SessionCommand } from './locked.js';
import { sessionView, type SessionView } from './view.js';

export interface PromoteOptions extends SessionCommand {
  /** the services to promote (or abort); none: every one that waits */
  services: string[];
  abort: boolean;
  /** Ctrl+C: the candidates not yet switched stay waiting; one being switched is finished first */
  signal: AbortSignal;
}

export interface PromoteResult {
  session: SessionView;
  promoted: string[];
  aborted: string[];
}

export function promote(options: PromoteOptions): Promise<PromoteResult> {
  return withSession(options, async (repo, record) => {
    const chosen = chosenServices(record, options.services);
    if (options.abort) {
      for (const service of chosen) await abortPending(repo, record, service, options.progress);
      writeSession(repo, record);
      options.progress.step(`${record.name}: aborted ${chosen.join(', ')}; what ran before serves on`);
      return { session: sessionView(record), promoted: [], aborted: chosen };
    }
    // decided under the lock, on the record read under it: a candidate that died is not promoted
    for (const service of chosen) {
      const green = own(record.pending!, service)!.green;
      if (!isAlive(green, {}))
        throw new WorkError(`the new instance of ${service} that waited for promotion is not running any more`, {
          hint: `\`sess promote ${record.name} --abort\` takes it away (what runs serves on); \`sess up\` tries again`,
        });
    }
    await promoteAll(repo, record, chosen, options.progress, options.signal);
    options.progress.step(`${record.name}: promoted ${chosen.join(', ')}`);
    return { session: sessionView(record), promoted: chosen, aborted: [] };
  });
}

function chosenServices(record: SessionRecord, asked: string[]): string[] {
  const waiting = Object.keys(record.pending ?? {});
  if (waiting.length === 0)
    throw new UsageError(`nothing of session ${record.name} waits for promotion`, {
      hint: 'a service with `replace: blue-green` and `promote: { gate: manual }` waits after a `sess up` that changed it',
    });
  const unknown = asked.filter((s) => !waiting.includes(s));
  if (unknown.length)
    throw new UsageError(`${unknown.join(', ')}: not waiting for promotion in session ${record.name} (waiting: ${waiting.join(', ')})`);
  return asked.length ? [...new Set(asked)] : waiting;
}

/** Promote each chosen candidate in turn; the record (and the env file) say so after each. */
async function promoteAll(repo: Repo, record: SessionRecord, chosen: string[], progress: Progress, signal: AbortSignal): Promise<void> {
  const guard = RollbackGuard.begin(repo, record.name, 'promote', progress.info);
  // nothing to undo until a promotion is decided; from then on, the record with green is written back
  guard.register('session', { kind: 'none' });
  try {
    for (const service of chosen) {
      if (signal.aborted) throw CancelledError.from(signal);
      const pending = own(record.pending!, service)!;
      const green: Green = { record: pending.green, ports: pending.ports, leaseNames: pending.leaseNames, routePort: pending.routePort };
      const blue = own(record.services, service)!;
      const after = structuredClone(record);
      applyPromotion(after, service, { ...green.record, wanted: true });
      const promoted = await promoteNow(
        {
          repo,
          session: record.name,
          guard,
          progress,
          release: pending.release,
          blueStash: (b) => stashOf(record, b.runtime),
          sessionUndoAfterPromotion: () => ({ kind: 'session.restore', record: after }),
        },
        service,
        blue,
        green,
      );
      applyPromotion(record, service, promoted);
      writeSession(repo, record);
      writeFileAtomic(pending.envFile, dotenv(record.hostEnv), 0o600);
    }
    guard.disarm();
  } catch (error) {
    progress.warn(`${signal.aborted ? 'interrupted' : 'failed'}: what was switched is finished, what was not keeps waiting`);
    const failures = await guard.unwind();
    if (failures.length) throw new RollbackError(error, failures);
    throw error;
  }
}

/**
 * The record once green serves: the service's instance, its named ports and leases move to green's,
 * the session env gets what reads them, the next up is no no-op (dependents get the new ports then).
 */
function applyPromotion(record: SessionRecord, service: string, instance: SessionRecord['services'][string]): void {
  const pending = own(record.pending!, service)!;
  record.services[service] = instance;
  Object.assign(record.ports, pending.ports);
  const leases = { ...(record.leases ?? record.ports) };
  for (const n of Object.values(pending.leaseNames)) delete leases[n];
  record.leases = { ...leases, ...pending.ports };
  record.hostEnv = { ...record.hostEnv, ...pending.env };
  record.inputHash = null;
  delete record.pending![service];
  if (Object.keys(record.pending!).length === 0) delete record.pending;
}
