// Flag parsing helpers shared by the command files.
import { InvalidArgumentError } from 'commander';

export const collect = (value: string, previous: string[]) => [...previous, value];

/** `--only a,b --only c`: every name of every use, commas and repeats alike. */
export const collectList = (value: string, previous: string[]) => [
  ...previous,
  ...value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean),
];

export function parseMode(value: string): string {
  if (!['container', 'hybrid', 'host'].includes(value)) {
    throw new InvalidArgumentError('expected container, hybrid or host');
  }
  return value;
}

export function parseCount(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

/**
 * Run a command that changes things with Ctrl+C and SIGTERM turned into an abort: the command
 * rolls back and main.ts exits 130. A second Ctrl+C does not cut the rollback short.
 */
export async function withSignals<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write(`received ${sig} again: still rolling back, please wait\n`);
      return;
    }
    process.stderr.write(`\nreceived ${sig}: rolling back\n`);
    controller.abort(sig); // the reason names the signal: `interrupted by SIGTERM`
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}

/** `--port NAME=N` (repeatable): the named ports to pin, by name. */
export function collectPort(value: string, previous: Record<string, number>): Record<string, number> {
  const m = /^([^=\s]+)=(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new InvalidArgumentError('expected NAME=PORT, a port from 1 to 65535');
  return { ...previous, [m[1]!]: Number(m[2]) };
}
