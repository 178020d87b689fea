// What a tool of `sess mcp` is: a zod schema of its arguments (listed to the client as JSON Schema,
// checked before the tool runs), a description an agent can act on, and a run function that turns
// the arguments into an options object and calls one core function, as a command file does.
import { z } from 'zod';
import type { Progress } from '../../common/progress.js';

export interface ToolContext {
  /** the repository the server serves (`sess mcp --repo PATH`, else its working folder) */
  cwd: string;
  /** aborted when the client cancels the call, or the server is told to stop */
  signal: AbortSignal;
  /** the step lines the CLI prints to stderr, sent as progress notifications */
  progress: Progress;
}

export interface ToolOutput {
  /** the JSON document of the CLI's `--json` */
  document: unknown;
  /** for a document that is an array: the key it goes under in structured content, which must be an object */
  listKey?: string;
  /** one or two lines for the agent to read first */
  summary: string;
}

export interface ToolAnnotations {
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

export interface Tool {
  name: string;
  title: string;
  description: string;
  input: z.ZodObject;
  annotations: ToolAnnotations;
  run(args: unknown, ctx: ToolContext): Promise<ToolOutput>;
}

/** A tool whose run gets its arguments typed by its schema (they are parsed before it runs). */
export function defineTool<S extends z.ZodObject>(def: {
  name: string;
  title: string;
  description: string;
  input: S;
  annotations: ToolAnnotations;
  run(args: z.output<S>, ctx: ToolContext): Promise<ToolOutput>;
}): Tool {
  return def as unknown as Tool;
}

// Every string an agent sends is refused with a NUL byte in it (no process argument or file name
// can hold one; node would throw deep inside a spawn) and, where it names a git ref or a service,
// with a leading "-" (it would read as an option to git or compose).
const text = () => z.string().refine((s) => !s.includes('\0'), 'must not contain a NUL byte');
const name = () =>
  text()
    .min(1)
    .refine((s) => !s.startsWith('-'), 'must not start with "-"');

export const schemas = {
  text,
  session: () => name().describe('the session: its name (feature-login) or its branch (feature/login)'),
  service: () => name().describe('a service of the session, as named in sess.yaml'),
  ref: () => name(),
};
