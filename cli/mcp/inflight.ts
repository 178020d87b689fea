// The tool calls running in this server, each with an abort signal of its own: the client's
// cancellation of that call aborts it, and so does the server being stopped (its client went away,
// SIGINT, SIGTERM). An aborted `up` rolls back as on Ctrl+C; the server waits for every call to
// finish (its rollback included) before it exits.
import { CancelledError } from '../../common/errors.js';

/** How the interrupt is named in the error and in the session's history: "interrupted by ..." */
export const CLIENT_CANCELLED = "the MCP client's cancellation";
/** The client closed the connection (its end of stdin): like a terminal closing on a command. */
export const CLIENT_GONE = 'the MCP client closing the connection';

export class InFlight {
  private readonly calls = new Set<{ controller: AbortController; done: Promise<unknown> }>();
  private stopping: string | undefined;

  /** Run `fn` with a signal aborted by `clientSignal` (the request's) or by `stop`. */
  run<T>(clientSignal: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.stopping) return Promise.reject(new CancelledError(this.stopping));
    const controller = new AbortController();
    const onCancel = () => controller.abort(CLIENT_CANCELLED);
    if (clientSignal.aborted) onCancel();
    else clientSignal.addEventListener('abort', onCancel, { once: true });
    const entry = { controller, done: Promise.resolve() as Promise<unknown> };
    entry.done = fn(controller.signal).finally(() => {
      clientSignal.removeEventListener('abort', onCancel);
      this.calls.delete(entry);
    });
    this.calls.add(entry);
    return entry.done as Promise<T>;
  }

  get size(): number {
    return this.calls.size;
  }

  /** Abort every call (`reason` names why: a signal, the client going away) and refuse new ones. */
  stop(reason: string): void {
    this.stopping ??= reason;
    for (const call of this.calls) if (!call.controller.signal.aborted) call.controller.abort(reason);
  }

  /** Resolves once no call runs any more. */
  async settled(): Promise<void> {
    while (this.calls.size) await Promise.allSettled([...this.calls].map((c) => c.done));
  }
}
