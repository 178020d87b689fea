// The rollback guard: an undo stack kept on disk. Every step that changes the world records its
// inverse *before* it acts (a SIGKILL between the two leaves a record of what may exist); success
// disarms; failure or Ctrl+C unwinds in reverse order; a failing inverse is reported and the rest
// still run. Because the stack is a file, the next command on the session (or `sess doctor --fix`)
// can finish the unwinding of a sess that was killed.
import { writeJsonAtomic, removePath } from '../../adapters/fs.js';
import { failpoint } from '../../common/failpoint.js';
import { processStartTime } from '../../adapters/proc.js';
import { messageOf } from '../../common/errors.js';
import { paths, type Repo } from '../state/repo.js';
import { runUndo, type Undo, type UnwindContext } from './undo.js';
import { dict } from '../../common/records.js';

export interface JournalStep {
  label: string;
  undo: Undo;
}

export interface Journal {
  version: 1;
  command: string;
  session: string;
  pid: number;
  start: string | null;
  started: string;
  steps: JournalStep[];
  /** rm: whether it was to delete volumes too */
  volumes?: boolean;
}

export interface UnwindFailure {
  step: string;
  error: unknown;
}

export class RollbackGuard {
  private journal: Journal;
  private disarmed = false;

  private constructor(
    private readonly repo: Repo,
    private readonly file: string,
    journal: Journal,
    private readonly progress: (line: string) => void,
  ) {
    this.journal = journal;
  }

  static begin(repo: Repo, session: string, command: string, progress: (line: string) => void): RollbackGuard {
    const journal: Journal = {
      version: 1,
      command,
      session,
      pid: process.pid,
      start: processStartTime(process.pid),
      started: new Date().toISOString(),
      steps: [],
    };
    const guard = new RollbackGuard(repo, paths.journalFile(repo, session), journal, progress);
    guard.persist();
    return guard;
  }

  /** Record the inverse of a step about to happen. Returns a handle to amend it once it happened. */
  register(label: string, undo: Undo): number {
    this.journal.steps.push({ label, undo });
    this.persist();
    failpoint(label, 'before');
    return this.journal.steps.length - 1;
  }

  /** Add what the step learnt (a pid, say) to its inverse. */
  amend(handle: number, undo: Undo): void {
    this.journal.steps[handle]!.undo = undo;
    this.persist();
  }

  /** Change the inverse of a step in the light of what happened since (see ComposeBatch.keep). */
  amendWith(handle: number, change: (undo: Undo) => Undo): void {
    this.amend(handle, change(this.journal.steps[handle]!.undo));
  }

  /** Replace the inverse of the step with this label (the session record a resume falls back to). */
  amendLabel(label: string, undo: Undo): void {
    const index = this.journal.steps.findIndex((s) => s.label === label);
    if (index >= 0) this.amend(index, undo);
  }

  /**
   * Change several inverses at once, in one write of the journal: a command that turns from "undo
   * what I did" to "finish what I began" (a blue-green promotion) must never be caught half way.
   */
  rewrite(change: (steps: JournalStep[]) => JournalStep[]): void {
    this.journal.steps = change(this.journal.steps);
    this.persist();
  }

  /** register + act: the common case. */
  async run<T>(label: string, undo: Undo, action: () => Promise<T>): Promise<T> {
    this.register(label, undo);
    const result = await action();
    failpoint(label, 'after');
    return result;
  }

  /**
   * register + act, for a step that happens whole or not at all (a lease: the ledger is written in
   * one rename, last). When it throws it changed nothing, so its inverse is dropped: a rollback
   * must not wait again for the lock that made it fail, nor report a failure doctor cannot find.
   * A SIGKILL mid-step still leaves the inverse in the journal.
   */
  async runAtomic<T>(label: string, undo: Undo, action: () => Promise<T>): Promise<T> {
    const handle = this.register(label, undo);
    let result: T;
    try {
      result = await action();
    } catch (error) {
      this.amend(handle, { kind: 'none' });
      throw error;
    }
    failpoint(label, 'after');
    return result;
  }

  /** Success: nothing to undo any more. */
  disarm(): void {
    this.disarmed = true;
    removePath(this.file);
  }

  async unwind(): Promise<UnwindFailure[]> {
    if (this.disarmed) return [];
    const failures = await unwindSteps(this.repo, this.journal.steps, this.progress);
    removePath(this.file);
    return failures;
  }

  private persist(): void {
    if (!this.disarmed) writeJsonAtomic(this.file, this.journal);
  }
}

export async function unwindSteps(repo: Repo, steps: JournalStep[], progress: (line: string) => void): Promise<UnwindFailure[]> {
  const failures: UnwindFailure[] = [];
  const context: UnwindContext = { restored: dict() };
  for (const step of [...steps].reverse()) {
    try {
      await runUndo(repo, step.undo, progress, context);
    } catch (error) {
      progress(`rollback of ${step.label} failed: ${messageOf(error)}`);
      failures.push({ step: step.label, error });
    }
  }
  return failures;
}
