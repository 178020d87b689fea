// What doctor finds, and how each finding is repaired.
export interface Finding {
  /** what kind of disagreement */
  kind:
    | 'unfinished-journal'
    | 'lost-worktree'
    | 'stale-worktree-entry'
    | 'orphan-worktree'
    | 'orphan-process'
    | 'orphan-container'
    | 'dead-connection'
    | 'stale-lease'
    | 'service-down'
    | 'stale-state'
    | 'corrupt-ledger'
    | 'proxy-down'
    | 'stale-route';
  /** what it is about (a session, a pid, a container, a port) */
  subject: string;
  detail: string;
  fixed?: boolean;
  fixError?: string;
}

export interface Check {
  finding: Finding;
  fix: () => Promise<void>;
}
