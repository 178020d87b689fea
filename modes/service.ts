// What core hands a runtime to run, and what it keeps of each running instance. Shared by every
// runtime and by core; nothing here runs.

import type { RuntimeName } from './runtimes.js';

/** The name of a runtime: a key of RUNTIMES (modes/runtimes.ts). */
export type { RuntimeName };

export type ResolvedReady =
  | { kind: 'http'; url: string; timeout: number; interval: number }
  | { kind: 'tcp'; host: string; port: number; timeout: number; interval: number }
  | { kind: 'cmd'; script: string; timeout: number; interval: number }
  | { kind: 'log'; pattern: string; timeout: number; interval: number };

/**
 * A service fully resolved for one session: what runs, where, with which env. Re-up compares
 * hashes of these, so everything that changes what a service does is in here, and nothing that
 * does not (no timestamps, no pids, not how it is replaced).
 */
export interface ResolvedService {
  name: string;
  runtime: RuntimeName;
  dependsOn: string[];
  /** named port -> leased host port */
  ports: Record<string, number>;
  /** named port -> container port (compose) */
  containerPorts: Record<string, number>;
  env: Record<string, string>;
  /** tree: git tree id of cwd at HEAD, so a commit that changes the service's files changes its hash. */
  host?: { command: string; cwd: string; tree?: string };
  /**
   * model: the service as compose merges it from the user's files; image: the local id of its
   * image; context: the git tree of its build context at HEAD. A change of any changes the hash.
   */
  compose?: { service: string; model?: unknown; image?: string; context?: string };
  ready?: ResolvedReady;
  stop: { signal: NodeJS.Signals; grace: number };
}

/** One instance of a service as the session record keeps it. */
export interface ServiceRecord {
  runtime: RuntimeName;
  /** Hash of the fully resolved definition: what re-up compares. */
  hash: string;
  def: ResolvedService;
  /** Host services: pid and start time of the process group leader while it should run. */
  pid?: number;
  start?: string;
  /** Host services: the value of SESS_SERVICE_ID its processes carry (finds helpers outside its group). */
  marker?: string;
  /** Size of the log when this instance started: a log probe reads only what came after. */
  logOffset?: number;
  /** false after `down` (or a stop): a stopped service is not "exited". */
  wanted: boolean;
}

export type ServiceState = 'running' | 'stopped' | 'exited' | 'unhealthy';

/** What a runtime found of one session's services in its engine, by service name. */
export type LiveStates = Record<string, ServiceState>;

/** Where each service of a session runs, by service name. */
export type Placement = Record<string, RuntimeName>;
