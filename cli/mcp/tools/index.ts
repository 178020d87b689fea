// The tools of `sess mcp`, in the order a client lists them. A new command that agents should have
// is one more definition here.
import type { Tool } from '../tool.js';
import { down, promote, restart, rm, up } from './lifecycle.js';
import { env, history, logs, ls, status } from './inspect.js';
import { exec } from './exec.js';
import { doctor } from './doctor.js';

export const tools: Tool[] = [up, down, restart, promote, rm, ls, status, logs, exec, env, history, doctor];
