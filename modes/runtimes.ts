// The runtimes, by name: where a service runs. A new runtime is a folder under modes/ and one line
// here (README, "How it is built", has the checklist; modes/_template/ a runtime to copy). Its name
// is then a RuntimeName, a key of the placement table's answers and of the session record's stashes.
import { composeRuntime } from './compose/runtime.js';
import { hostRuntime } from './host/runtime.js';
import { remoteRuntime } from './remote/runtime.js';
import type { Runtime } from './runtime.js';

export const RUNTIMES = {
  host: hostRuntime,
  compose: composeRuntime,
  remote: remoteRuntime,
} satisfies Record<string, Runtime>;

export type RuntimeName = keyof typeof RUNTIMES;
