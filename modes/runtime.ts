// The runtime seam: where a service runs, behind one interface. Core asks the runtime that the
// placement table (modes/placement.ts) chose for a service; it never asks "host or compose?".
// A runtime is a folder under modes/ (host/, compose/) plus one line in that table; README ("How it
// is built") has the checklist for adding one, and modes/_template/ a runtime to copy.
import type { Config, Mode, ServiceConfig } from '../config/schema.js';
import type { Progress } from '../common/progress.js';
import type { TcpProbe } from './readiness.js';
import type { LiveStates, Placement, ResolvedService, RuntimeName, ServiceRecord, ServiceState } from './service.js';

/**
 * An inverse a runtime writes into the journal of a command (the rollback guard): plain data, run
 * back by the same runtime's `undo`, maybe by a later process (after a sess killed half way). Its
 * `kind` is one of the runtime's `undoKinds`.
 */
export interface RuntimeUndo {
  kind: string;
  [field: string]: unknown;
}

/** The journal of the command at work, as a runtime uses it: every change registers its inverse first. */
export interface Journal {
  /** Record the inverse of a change about to happen; returns a handle to amend it once it happened. */
  register(label: string, undo: RuntimeUndo): number;
  amend(handle: number, undo: RuntimeUndo): void;
  amendWith(handle: number, change: (undo: RuntimeUndo) => RuntimeUndo): void;
  /** Write a file of the session (its previous text comes back on rollback). */
  writeFile(label: string, path: string, text: string, mode: number): Promise<void>;
  /** Lease machine-wide ports under these names for the session (released again on rollback). */
  leasePorts(label: string, names: string[]): Promise<Record<string, number>>;
}

/** A session as a runtime needs to know it. */
export interface SessionCtx {
  repoId: string;
  name: string;
  /** the session's state folder: logs live in `${dir}/logs` */
  dir: string;
  /** what this runtime keeps for the session between commands (in the session record, under its name) */
  stash?: unknown;
}

/** Where a service of the reading runtime reaches `target` (SPEC's ${svc.NAME.host} / ${svc.NAME.port}). */
export interface ReachTarget {
  runtime: RuntimeName;
  /** its name in the compose files, when it has one */
  composeName?: string;
  /** its first named port: inside its container, and leased on the host */
  containerPort: number;
  leasedPort: number;
}

/** A machine whose Docker engine runs the session's compose services, named for one session (`--remote-host`, `--context`). */
export interface EngineChoice {
  /** `user@box[:port]` */
  host?: string;
  /** a Docker context with an ssh:// endpoint */
  context?: string;
}

/** One `up` of one session, for the runtimes that run some of its services. */
export interface PrepareInput {
  repo: { id: string; name: string; home: string };
  session: SessionCtx & { worktree: string; fresh: boolean };
  config: Config;
  placement: Placement;
  /** named ports leased for the session */
  ports: Record<string, number>;
  /** every service of the session, resolved */
  defs: Record<string, ResolvedService>;
  /** the session env as the host sees it (what the user's files are interpolated with) */
  hostEnv: Record<string, string>;
  /** the session env for services sess.yaml does not name, as a service of this runtime sees it */
  unnamedEnv: Record<string, string>;
  journal: Journal;
  progress: Progress;
  signal: AbortSignal;
  /** a machine named for this session (it sticks), over sess.yaml's `remote:` */
  engine?: EngineChoice;
}

/** What a runtime reads to find the services a mode runs without sess.yaml listing them. */
export interface ImpliedInput {
  repo: { id: string; name: string; home: string };
  session: SessionCtx & { worktree: string };
  config: Config;
  placement: Placement;
  signal: AbortSignal;
}

/** Services sess.yaml does not list that the mode runs all the same, and the named ports they lease. */
export interface ImpliedServices {
  services: Record<string, ServiceConfig>;
  ports: Config['ports'];
}

/** A service to start: its definition, and whether it replaces a running instance. */
export interface StartItem {
  def: ResolvedService;
  hash: string;
  replacing: boolean;
}

/** An instance that was started: what the record keeps, and what is left to do with it. */
export interface Started {
  record: ServiceRecord;
  /** Wait until it is ready (its probe, or its runtime's own), or fail saying why. */
  ready(signal: AbortSignal): Promise<void>;
  /** Take it away again (a failed replacement, before its previous instance comes back). */
  discard(): Promise<void>;
}

/** A runtime's part of one up, once prepared. */
export interface PreparedUp {
  /** Add to each definition what decides its hash besides sess.yaml (a git tree, a compose model, an image id). */
  describe(defs: ResolvedService[]): Promise<void>;
  /** Start one service: its inverse is journaled before it acts; resolves once it runs. */
  start(item: StartItem, signal: AbortSignal): Promise<Started>;
  /** A previous instance came back during this up: this up's rollback must leave it running. */
  keep(record: ServiceRecord): Promise<void>;
  /** What the session record keeps for later commands, under the runtime's name. */
  stash?: unknown;
  /** Leases the runtime took besides the named ports (kept in the session record). */
  leases: Record<string, number>;
  /** Files (worktree-relative or absolute) whose text decides whether a later up may be a no-op. */
  inputFiles: string[];
}

/** A process or container of this repository that no session knows: doctor's finding, and its repair. */
export interface Orphan {
  kind: 'orphan-process' | 'orphan-container' | 'dead-connection';
  session: string;
  subject: string;
  detail: string;
  /** Repair, deciding again on what `sessions` says now (doctor holds the session's lock). */
  fix(sessions: SessionLookup): Promise<void>;
}

/** What doctor knows of the repository's sessions, asked by runtimes that look for orphans. */
export interface SessionLookup {
  /** a command is working on it (or died doing so: its journal decides) */
  busy(session: string): boolean;
  services(session: string): Record<string, ServiceRecord> | undefined;
}

export interface LogOptions {
  follow: boolean;
  tail?: number;
  signal?: AbortSignal;
  write(service: string, line: string): void;
}

export interface Runtime {
  readonly name: RuntimeName;
  /** The `kind`s of the undo records it writes into journals. */
  readonly undoKinds: readonly string[];
  /** Its services that start together start in one call, which orders them among themselves. */
  readonly startsTogether: boolean;
  /** Stopping a whole session takes its services down in one call (`stopSession`), not one by one. */
  readonly stopsAsWhole: boolean;
  /** Starting a service again clears what is left of a dead instance (else core stops that first). */
  readonly startReplacesLeftovers: boolean;
  /** Its services are processes on this machine: `pre_spawn` hooks run before they start. */
  readonly spawnsOnThisMachine: boolean;
  /** A second instance of a service can run beside the first, on ports of its own (`replace: blue-green`). */
  readonly sideBySide: boolean;
  /** Labels of the journal steps its `prepare` adds (failpoints; README's list). */
  readonly prepareSteps: readonly string[];

  /**
   * Whether, in this mode, it runs services its own files define that sess.yaml does not list
   * (compose in container mode: every service `docker compose up` starts).
   */
  impliesServices?(config: Config, mode: Mode): boolean;
  /**
   * Those services, as sess.yaml services, with named ports for what they publish: read once the
   * worktree exists, before any port is leased. Changes nothing.
   */
  implied?(input: ImpliedInput): Promise<ImpliedServices>;

  reach(target: ReachTarget): { host: string; port: number };
  /** Files of the repository it needs in a session's worktree (compose: its files), by the sess.yaml key that names them. */
  requiredFiles(config: Config): { key: string; files: string[] };
  /**
   * The part of a service's definition this runtime runs (the host runtime: its `host:` command and
   * cwd; compose: its `compose:` name), resolved. `shell` interpolates sess.yaml text for a shell.
   */
  definitionOf(
    service: ServiceConfig,
    helpers: { worktree: string; shell: (text: string) => string },
  ): Pick<ResolvedService, 'host' | 'compose'>;

  /** One look at what runs of its services, for every session of a repository: by session, by service. */
  look(repoId: string, stashes: unknown[]): Promise<Record<string, LiveStates>>;
  /** Is this instance running? (`live`: its session's part of the look) */
  alive(record: ServiceRecord, live: LiveStates): boolean;
  /** Could it be running, without a look at the engine? (before pre_down hooks, gc's keep check) */
  mayRun(record: ServiceRecord): boolean;
  state(record: ServiceRecord, live: LiveStates): ServiceState;
  /**
   * How a tcp ready probe reaches one of its services, where a plain connect would lie (a port
   * published by compose is accepted by docker's proxy before anything listens); none: connect.
   */
  tcpProbe?(session: SessionCtx, def: ResolvedService): TcpProbe | undefined;
  /** Is what the record ran still what the engine would run (an image rebuilt under its tag is not)? */
  stillCurrent(records: ServiceRecord[], session: SessionCtx): Promise<boolean>;

  prepare(input: PrepareInput): Promise<PreparedUp>;
  /**
   * What it does on every up, even one that changes nothing and skips `prepare` (remote: the
   * worktree's copy there is brought up to date).
   */
  refresh?(session: SessionCtx & { worktree: string }, signal?: AbortSignal): Promise<void>;
  /**
   * Stop one instance; false when nothing was left of it to stop. `replacing`: its successor starts
   * next (recreate), and may take over what the instance keeps (compose: its anonymous volumes).
   */
  stop(session: SessionCtx, record: ServiceRecord, progress: Progress, options?: { replacing?: boolean }): Promise<boolean>;
  /**
   * What is left of the session in this runtime once its services stopped. `gone`: the session goes
   * away (rm, a lost worktree), and what only it used goes with it (volumes only with `volumes`);
   * else (down) what keeps its data stays for the next up.
   */
  stopSession(session: SessionCtx, options: { volumes: boolean; gone: boolean }, progress: Progress): Promise<void>;
  /**
   * Start a previous instance again (a replacement that did not stand); resolves once it is ready.
   * `env`: what the user's files are interpolated with; `leases`: every lease of the session.
   */
  restore(
    session: SessionCtx & { env: NodeJS.ProcessEnv; leases: Record<string, number> },
    previous: ServiceRecord,
  ): Promise<ServiceRecord>;
  /** Run back one of its undo records. */
  undo(undo: RuntimeUndo, progress: (line: string) => void): Promise<void>;
  logs(session: SessionCtx, services: ServiceRecord[], options: LogOptions): Promise<void>;
  /** `stashes`: what it keeps for each session of the repository (where to look). */
  orphans(repoId: string, sessions: SessionLookup, stashes: unknown[]): Promise<Orphan[]>;
  /** Disk its sessions use besides their worktrees (volumes), by session; only on request. */
  diskUse(sessions: { name: string; stash?: unknown }[]): Promise<Record<string, number>>;
}
