// The `log` ready probe: a regex on a service's output, matched in a worker thread. A regex with
// catastrophic backtracking (`^(a+)+$` on forty `a` and a `!`) runs for ages, and on the main thread
// it would block the event loop: no timeout, no Ctrl+C, no SIGTERM, nothing but SIGKILL would end
// sess. In a worker, the main thread waits for the answer with a deadline and ends the worker when
// it does not come.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { Worker } from 'node:worker_threads';
import { CancelledError } from '../common/errors.js';
import type { ProbeOutcome } from './probe.js';

/**
 * The worker, as CommonJS source (`eval: true`): a file of its own would not survive the bundle.
 * It keeps the output seen so far, appends each new chunk and answers whether the pattern matches.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const pattern = new RegExp(workerData.pattern, workerData.flags);
let text = '';
parentPort.on('message', (chunk) => {
  text += chunk;
  pattern.lastIndex = 0;
  parentPort.postMessage(pattern.test(text));
});
`;

/** A match that takes longer than this is a runaway regex, whatever time the probe has left. */
const MATCH_LIMIT_MS = 10_000;

/** Matches one service's output since `offset` (this start's output only), for the length of one wait. */
export class LogMatcher {
  private worker: Worker | undefined;
  private readonly decoder = new StringDecoder('utf8');
  private position: number;
  private chars = 0;
  private lines = 0;

  constructor(
    private readonly file: string,
    offset: number,
    private readonly pattern: string,
  ) {
    this.position = offset;
    // booting a worker takes ~50 ms: it boots while the service does
    this.start();
  }

  /**
   * One attempt: read what the service wrote since the last one and match everything so far.
   * `limitMs`: how long the match may take (at least, see MATCH_LIMIT_MS for the most).
   */
  async attempt(limitMs: number, signal?: AbortSignal): Promise<ProbeOutcome> {
    const chunk = this.readNew();
    if (this.chars === 0) return { ready: false, detail: `/${this.pattern}/ has no output to match yet` };
    const limit = Math.min(Math.max(limitMs, 1000), MATCH_LIMIT_MS);
    const answer = await this.ask(chunk, limit, signal);
    if (answer === 'slow') {
      return {
        ready: false,
        final: true,
        detail:
          `the regex /${this.pattern}/ did not finish within ${Number((limit / 1000).toFixed(1))}s on ${this.chars} characters of output ` +
          '(likely catastrophic backtracking: a repeated group that can match the same text in many ways, such as (a+)+)',
      };
    }
    if (typeof answer === 'string') return { ready: false, final: true, detail: answer };
    return answer
      ? { ready: true, detail: `/${this.pattern}/ matched` }
      : { ready: false, detail: `/${this.pattern}/ matched nothing in ${this.lines} line${this.lines === 1 ? '' : 's'} of output` };
  }

  /** End the worker (a wait is over). */
  close(): void {
    void this.worker?.terminate();
    this.worker = undefined;
  }

  private readNew(): string {
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch {
      return ''; // not written yet
    }
    try {
      const size = fstatSync(fd).size;
      if (size <= this.position) return '';
      const buffer = Buffer.alloc(size - this.position);
      const read = readSync(fd, buffer, 0, buffer.length, this.position);
      this.position += read;
      // a character split between two reads is completed by the next one
      const text = this.decoder.write(buffer.subarray(0, read));
      this.chars += text.length;
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.lines++;
      return text;
    } finally {
      closeSync(fd);
    }
  }

  /** true/false: the answer; 'slow': none in time (the worker is ended); a string: the worker failed. */
  private ask(chunk: string, limitMs: number, signal?: AbortSignal): Promise<boolean | 'slow' | string> {
    if (signal?.aborted) return Promise.reject(new CancelledError());
    const worker = this.start();
    return new Promise((resolve, reject) => {
      const finish = (settle: () => void, endWorker: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
        if (endWorker) this.close();
        settle();
      };
      const onMessage = (matched: boolean) => finish(() => resolve(matched), false);
      const onError = (error: Error) => finish(() => resolve(`the regex /${this.pattern}/ could not run: ${error.message}`), true);
      const onExit = (code: number) =>
        finish(() => resolve(`the regex /${this.pattern}/ could not run (its worker ended with ${code})`), true);
      const onAbort = () => finish(() => reject(new CancelledError()), true);
      const timer = setTimeout(() => finish(() => resolve('slow'), true), limitMs);
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);

      signal?.addEventListener('abort', onAbort, { once: true });
      worker.postMessage(chunk);
    });
  }

  private start(): Worker {
    if (!this.worker) {
      this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { pattern: this.pattern, flags: 'm' } });
      // never what keeps sess running: every wait ends its worker, this is for the unforeseen path
      this.worker.unref();
    }
    return this.worker;
  }
}
