// The step lines the CLI prints to stderr, for a tool call: sent to the client as MCP progress
// notifications when it asked for them (a progress token in the call), and written to the server's
// stderr either way (clients keep a server's stderr as its log). Warnings are also kept for the
// result: an agent reads the result, not the log.
import type { Progress } from '../../common/progress.js';

export interface ProgressNotification {
  method: 'notifications/progress';
  params: { progressToken: string | number; progress: number; message: string };
}

export interface CallProgress {
  progress: Progress;
  warnings: string[];
  /** Resolves when the result may follow the last notification (see QUIET_MS). */
  quiet(): Promise<void>;
}

/**
 * The SDK's client handles a notification a microtask after it reads it, and a response at once:
 * a progress notification that arrives in the same read as the call's response finds its token
 * already gone ("progress notification for an unknown token", which some clients count as a
 * protocol failure). The result waits this long after the last notification, so that it arrives
 * in a read of its own. Long calls only: a call that sent nothing is not held.
 */
const QUIET_MS = 50;

export function callProgress(
  label: string,
  token: string | number | undefined,
  send: (notification: ProgressNotification) => Promise<void>,
): CallProgress {
  const warnings: string[] = [];
  let count = 0;
  let lastSent = 0;
  const line = (mark: string, text: string) => {
    process.stderr.write(`${mark} ${label}: ${text}\n`);
    if (token === undefined) return;
    count += 1; // progress must increase with every notification; there is no total to give
    lastSent = performance.now();
    // a client that went away or cancelled is not worth failing the work for
    send({ method: 'notifications/progress', params: { progressToken: token, progress: count, message: `${mark} ${text}` } }).catch(
      () => undefined,
    );
  };
  return {
    progress: {
      step: (text) => line('✓', text),
      info: (text) => line('·', text),
      warn: (text) => {
        warnings.push(text);
        line('!', text);
      },
    },
    warnings,
    quiet: async () => {
      const wait = lastSent + QUIET_MS - performance.now();
      if (lastSent && wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    },
  };
}
