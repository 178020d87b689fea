// Where output goes: progress and messages to stderr (colour only on a TTY without NO_COLOR),
// results to stdout, exactly one JSON document with --json.
import type { Progress } from '../common/progress.js';

// Colour is decided per stream: `sess status x > file` in a terminal writes no escape codes into
// the file, and `sess up x 2> log` none into the log.
const colorOn = (stream: NodeJS.WriteStream) => !!stream.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb';

function palette(on: boolean) {
  const paint = (code: string) => (text: string) => (on ? `\x1b[${code}m${text}\x1b[0m` : text);
  return { dim: paint('2'), green: paint('32'), yellow: paint('33'), red: paint('31'), bold: paint('1') };
}

/** For what goes to stdout: tables and results. */
export const out = palette(colorOn(process.stdout));
/** For what goes to stderr: progress and messages. */
const err = palette(colorOn(process.stderr));
export const { dim, green, yellow, red } = err;

const t0 = Date.now();
const elapsed = () => dim(process.env.SESS_DEBUG ? `+${Math.round(performance.now())}ms` : `${((Date.now() - t0) / 1000).toFixed(1)}s`);

export function stderrProgress(quiet = false): Progress {
  return {
    step: (text) => {
      if (!quiet) process.stderr.write(`${green('✓')} ${text} ${elapsed()}\n`);
    },
    info: (text) => {
      if (!quiet) process.stderr.write(`${dim('·')} ${text}\n`);
    },
    warn: (text) => process.stderr.write(`${yellow('!')} ${text}\n`),
  };
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function printOut(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}
