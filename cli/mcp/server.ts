// `sess mcp`: a Model Context Protocol server on stdio, an interface beside the CLI. The official
// SDK speaks the protocol (initialization, requests, cancellation, progress); we list the tools
// with their zod schemas as JSON Schema and check the arguments ourselves, so that a bad argument
// is a `usage` tool error like the CLI's exit 2 (the SDK's own check answers in a shape of its own).
// Loaded only by `sess mcp`: no other command pays for the SDK.
import { z } from 'zod';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { SessError, UsageError } from '../../common/errors.js';
import { CLIENT_GONE, InFlight } from './inflight.js';
import { callProgress } from './progress.js';
import { errorResult, toolResult, type CallToolResult } from './result.js';
import { claimStdout } from './stdout.js';
import type { Tool } from './tool.js';
import { tools } from './tools/index.js';

const INSTRUCTIONS =
  'sess gives every git branch of this repository its own running copy: a worktree, leased ports, host ' +
  'processes and compose services. Use `ls` to see the sessions, `up` to create or resume the session of a ' +
  'branch (it returns the worktree to edit and the ports to reach), `exec` to run commands in it, `logs` and ' +
  '`status` when something is wrong, `down` to stop it and `rm` to remove it. Failed or cancelled `up` calls ' +
  'are rolled back. Errors carry `kind`: usage (bad arguments, nothing changed), work_failed (rolled back), ' +
  'interrupted.';

export interface McpOptions {
  /** the repository to serve: any folder inside it */
  cwd: string;
  version: string;
}

/** Serve until the client closes stdin (exit 0) or a signal stops the server (130). */
export async function serveMcp(options: McpOptions): Promise<number> {
  const protocolOut = claimStdout();
  const calls = new InFlight();
  const byName = new Map(tools.map((t) => [t.name, t]));
  const server = new Server({ name: 'sess', version: options.version }, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });

  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: tools.map(listed) }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const tool = byName.get(request.params.name);
    // an unknown tool is a protocol error (the MCP spec's -32602), not a tool error
    if (!tool)
      throw new McpError(ErrorCode.InvalidParams, `unknown tool "${request.params.name}"; tools: ${tools.map((t) => t.name).join(', ')}`);
    const parsed = tool.input.safeParse(request.params.arguments ?? {});
    if (!parsed.success) return errorResult(badArguments(tool, parsed.error));
    const args = parsed.data as Record<string, unknown>;
    const label = [tool.name, typeof args.session === 'string' ? args.session : args.branch].filter(Boolean).join(' ');
    const { progress, warnings, quiet } = callProgress(label, extra._meta?.progressToken, (n) => extra.sendNotification(n));
    const result = await calls
      .run(extra.signal, (signal) => tool.run(args, { cwd: options.cwd, signal, progress }))
      .then(
        (output): CallToolResult => toolResult(output, warnings),
        (error: unknown) => failed(label, error),
      );
    await quiet();
    return result;
  });

  const transport = new StdioServerTransport(process.stdin, protocolOut);
  let exitCode = 0;
  const stopped = new Promise<void>((resolve) => {
    let stopping = false;
    const stop = async (reason: string) => {
      if (stopping) {
        if (calls.size) process.stderr.write(`sess mcp: ${reason}: still rolling back, please wait\n`);
        return;
      }
      stopping = true;
      if (calls.size) process.stderr.write(`sess mcp: ${reason}: stopping ${calls.size} running tool call(s), rolling back\n`);
      calls.stop(reason);
      await calls.settled();
      await server.close().catch(() => undefined);
      resolve();
    };
    // the stdio transport does not watch for the end of its input: the client closed it, we go
    process.stdin.once('end', () => void stop(CLIENT_GONE));
    protocolOut.on('error', () => void stop(CLIENT_GONE));
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.on(sig, () => {
        exitCode = 130;
        void stop(sig);
      });
    }
  });
  await server.connect(transport);
  process.stderr.write(`sess mcp: serving ${options.cwd} on stdio\n`);
  await stopped;
  return exitCode;
}

function listed(tool: Tool) {
  // `input`: what the client may send (a defaulted field is optional); no `$schema`, which some clients reject
  const inputSchema = z.toJSONSchema(tool.input, { io: 'input' }) as Record<string, unknown>;
  delete inputSchema.$schema;
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: inputSchema as { type: 'object'; [key: string]: unknown },
    annotations: { title: tool.title, ...tool.annotations },
  };
}

function badArguments(tool: Tool, error: z.ZodError): UsageError {
  const problems = error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(arguments)'}: ${i.message}`);
  return new UsageError(`invalid arguments for ${tool.name}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
    hint: `the input schema of ${tool.name} is in tools/list`,
  });
}

function failed(label: string, error: unknown): CallToolResult {
  // not one of ours: a bug, whose stack the log keeps; the client still gets a tool error
  if (!(error instanceof SessError) && error instanceof Error && error.stack) {
    process.stderr.write(`sess mcp: ${label}: ${error.stack}\n`);
  }
  return errorResult(error);
}
