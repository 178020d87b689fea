// Debug log: SESS_DEBUG=1 prints every subprocess with its duration, on stderr.
const enabled = !!process.env.SESS_DEBUG;

export function debug(line: string): void {
  if (enabled) process.stderr.write(`[sess debug +${Math.round(performance.now())}ms] ${line}\n`);
}
