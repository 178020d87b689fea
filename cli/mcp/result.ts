// What a tool call answers. Success: the JSON document of the CLI's `--json` as structured content,
// and as text (MCP asks for both: clients that read only text get the document too), after a
// summary. Failure: a tool error (`isError`), never a crash of the server, carrying what the CLI's
// exit code means, the message and the hint, in the shape of the CLI's `--json` error document.
import { ConfigError, SessError } from '../../common/errors.js';
import type { ToolOutput } from './tool.js';

export interface CallToolResult {
  [key: string]: unknown;
  content: { type: 'text'; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

/** The CLI's exit codes (SPEC.md), by what they mean to a program. */
export type ErrorKind = 'usage' | 'work_failed' | 'interrupted';

export function kindOf(exitCode: number): ErrorKind {
  if (exitCode === 2) return 'usage';
  if (exitCode === 130) return 'interrupted';
  return 'work_failed';
}

export function toolResult(output: ToolOutput, warnings: string[]): CallToolResult {
  const { document, summary } = output;
  // structured content is an object: the arrays of `ls` and `history` go under a name
  const structured = Array.isArray(document) ? { [output.listKey ?? 'items']: document } : (document as Record<string, unknown>);
  const said = warnings.length ? `${summary}\nwarnings:\n${warnings.map((w) => `  - ${w}`).join('\n')}` : summary;
  return {
    content: [
      { type: 'text', text: said },
      { type: 'text', text: JSON.stringify(document, null, 2) },
    ],
    structuredContent: structured,
  };
}

export function errorResult(error: unknown): CallToolResult {
  const exitCode = error instanceof SessError ? error.exitCode : 1;
  const message = error instanceof Error ? error.message : String(error);
  const hint = error instanceof SessError ? error.hint : undefined;
  const kind = kindOf(exitCode);
  const problems = error instanceof ConfigError ? { file: error.file, problems: error.problems } : {};
  return {
    content: [{ type: 'text', text: `${kind} (exit code ${exitCode}): ${message}${hint ? `\nhint: ${hint}` : ''}` }],
    structuredContent: { error: { kind, exitCode, message, ...(hint ? { hint } : {}), ...problems } },
    isError: true,
  };
}
