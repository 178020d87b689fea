// Test hook for fault injection, shared by every layer that has steps: SESS_FAILPOINT=label[,...]
// makes that step fail right after its side effect (`label`), or kills sess with SIGKILL there
// (`label:kill`, `label:kill-before`), or holds sess still for MS milliseconds right before it
// (`label:pause=MS`, to open a race window). The labels are the names of up's steps (core/up/steps.ts).
export function failpoint(label: string, phase: 'before' | 'after' = 'after'): void {
  const spec = process.env.SESS_FAILPOINT;
  if (!spec) return;
  for (const point of spec.split(',')) {
    if (phase === 'before' && point === `${label}:kill-before`) process.kill(process.pid, 'SIGKILL');
    if (phase === 'before' && point.startsWith(`${label}:pause=`)) {
      process.stderr.write(`failpoint ${label}: pausing\n`); // so that a test knows the window is open
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(point.slice(label.length + 7)));
    }
    if (phase === 'after' && point === `${label}:kill`) process.kill(process.pid, 'SIGKILL');
    if (phase === 'after' && point === label) throw new Error(`failpoint ${label}`);
  }
}
