// Waiting, cut short by Ctrl+C (an aborted signal) with the interrupt it was aborted with.
import { CancelledError } from './errors.js';

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(CancelledError.from(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(CancelledError.from(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
