// `sess doctor [--fix]`: find where state and reality disagree, and with --fix repair it. The
// ledger is looked at first, then unfinished journals (finishing them changes what the other
// checks see), then everything else.
import { messageOf } from '../../common/errors.js';
import { failpoint } from '../../common/failpoint.js';
import type { Progress } from '../../common/progress.js';
import { openRepo } from '../state/repo.js';
import { corruptLedgerChecks, staleLeases } from './ledger.js';
import { runtimeOrphans } from './orphans.js';
import { proxyChecks } from './proxy.js';
import { journalChecks, lostWorktrees, servicesDown, staleState } from './sessions.js';
import type { Check, Finding } from './types.js';
import { orphanWorktrees, staleWorktreeEntries } from './worktrees.js';

export type { Check, Finding };

export interface DoctorReport {
  findings: Finding[];
  /** nothing is left wrong (nothing found, or everything found was fixed) */
  clean: boolean;
}

export async function doctor(options: { cwd: string; fix: boolean; progress: Progress }): Promise<DoctorReport> {
  const repo = await openRepo(options.cwd);
  // The ledger before all: finishing a journal or forgetting a session releases leases.
  const ledger = corruptLedgerChecks(repo, options.progress);
  await runChecks(ledger, options);
  const journals = await journalChecks(repo, options.progress);
  await runChecks(journals, options);
  const rest: Check[] = [];
  for (const find of [
    lostWorktrees,
    staleWorktreeEntries,
    orphanWorktrees,
    runtimeOrphans,
    staleLeases,
    servicesDown,
    staleState,
    proxyChecks,
  ]) {
    rest.push(...(await find(repo, options.progress)));
  }
  await runChecks(rest, options);
  const findings = [...ledger, ...journals, ...rest].map((c) => c.finding);
  return { findings, clean: findings.every((f) => f.fixed) };
}

async function runChecks(checks: Check[], options: { fix: boolean; progress: Progress }): Promise<void> {
  for (const check of checks) {
    if (!options.fix) continue;
    try {
      failpoint('doctor-fix', 'before'); // tests: the window between finding and repairing
      await check.fix();
      check.finding.fixed = true;
    } catch (error) {
      check.finding.fixError = messageOf(error);
      options.progress.warn(`could not fix ${check.finding.subject}: ${messageOf(error)}`);
    }
  }
}
