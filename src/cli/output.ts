// Where output goes: progress and messages to stderr (colour only on a TTY without NO_COLOR),
// results to stdout, exactly one JSON document with --json.
import type { Progress } from '../core/progress.js';

const color = process.stderr.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
const paint = (code: string) => (text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
export const dim = paint('2');
export const green = paint('32');
export const yellow = paint('33');
export const red = paint('31');
export const bold = paint('1');

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
