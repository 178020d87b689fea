// An MCP client (the SDK's own) connected over stdio to a real `sess mcp` of a test repository,
// and the checks of what its tools answer.
import { afterEach, expect } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { BIN, type TestRepo } from './sess.js';

export interface McpServer {
  client: Client;
  transport: StdioClientTransport;
  /** what the client could not take as protocol (a stray line on stdout, say): must stay empty */
  protocolErrors: Error[];
  stderr(): string;
  call(name: string, args?: Record<string, unknown>, opts?: { progress?: string[]; signal?: AbortSignal }): Promise<any>;
}

const servers: McpServer[] = [];

/** Servers still open after a test are closed, once checked for protocol errors. */
export function closeServersAfterEach(): void {
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      expect(s.protocolErrors).toEqual([]);
      await s.client.close();
    }
  });
}

/** Forget a server the test closes itself. */
export function forget(server: McpServer): void {
  servers.splice(servers.indexOf(server), 1);
}

export async function serve(repo: TestRepo, env: Record<string, string> = {}): Promise<McpServer> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp'],
    cwd: repo.root,
    env: { ...inherited, NO_COLOR: '1', ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr!.on('data', (d) => (stderr += d));
  const client = new Client({ name: 'sess-test', version: '0' });
  const protocolErrors: Error[] = [];
  client.onerror = (e) => protocolErrors.push(e);
  await client.connect(transport);
  const server: McpServer = {
    client,
    transport,
    protocolErrors,
    stderr: () => stderr,
    call: (name, args = {}, opts = {}) =>
      client.callTool({ name, arguments: args }, undefined, {
        timeout: 180_000,
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.progress ? { onprogress: (p: { message?: string }) => opts.progress!.push(p.message ?? '') } : {}),
      }),
  };
  servers.push(server);
  return server;
}

/** The JSON document of a successful call, checked to be the same in structured content and text. */
export function doc(result: any, listKey?: string): any {
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  const text = JSON.parse(result.content[1].text);
  expect(listKey ? result.structuredContent[listKey] : result.structuredContent).toEqual(text);
  return text;
}

/** The error of a failed call: a tool error, never a protocol error. */
export function toolError(result: any): { kind: string; exitCode: number; message: string; hint?: string } {
  expect(result.isError, JSON.stringify(result.content)).toBe(true);
  return result.structuredContent.error;
}
