// `sess status` as a pre-flight check: exit 0 only when every service meant to run is running and
// ready (its probe passes now), and `--wait` until it is. Agents and CI gate on it.
import { existsSync } from 'node:fs';
import { probeOnce } from '../../modes/readiness.js';
import { own } from '../../common/records.js';
import { sleep } from '../../common/sleep.js';
import type { Progress } from '../../common/progress.js';
import { openRepo } from '../state/repo.js';
import { lookAt, sessionCtx } from '../state/liveness.js';
import { runtimeOf } from '../../modes/placement.js';
import { findSession, noSession } from './names.js';
import { creatingView, sessionView, type ServiceView, type SessionView } from './view.js';

export interface ReadyServiceView extends ServiceView {
  /** running and its ready probe passes now (a service not meant to run: false) */
  ready: boolean;
  /** why it is not ready: `stopped`, `exited`, `connection refused`, `HTTP 503`... */
  detail?: string;
}

/** The session as `sess status --json` shows it, with whether it is ready and each service's readiness. */
export interface ReadyView extends Omit<SessionView, 'services'> {
  ready: boolean;
  services: ReadyServiceView[];
}

export async function readiness(cwd: string, target: string): Promise<ReadyView> {
  const repo = await openRepo(cwd);
  const found = findSession(repo, target);
  if (found?.creating) return { ...creatingView(found.creating), ready: false, services: [] };
  if (!found?.record) throw noSession(repo, target);
  const record = found.record;
  const view = sessionView(record, own(await lookAt(repo, [record]), record.name) ?? {});
  const services = await Promise.all(
    view.services.map(async (s): Promise<ReadyServiceView> => {
      const rec = own(record.services, s.name)!;
      if (!rec.wanted) return { ...s, ready: false, detail: 'not meant to run' };
      if (s.state !== 'running') return { ...s, ready: false, detail: s.state };
      const def = rec.def;
      const dir = def.host?.cwd && existsSync(def.host.cwd) ? def.host.cwd : record.worktree;
      const tcp = runtimeOf(rec.runtime).tcpProbe?.(sessionCtx(repo, record, rec.runtime), def);
      const outcome = await probeOnce(def.ready, dir, { ...process.env, ...record.hostEnv, ...def.env }, tcp);
      return outcome.ready ? { ...s, ready: true } : { ...s, ready: false, detail: outcome.detail };
    }),
  );
  // a session with nothing meant to run (down) is not ready: there is nothing to gate on
  // services not meant to run (left out by `up --only`/`--skip`) are no reason to wait
  const meant = services.filter((s) => own(record.services, s.name)!.wanted);
  const ready = view.status === 'up' && meant.length > 0 && meant.every((s) => s.ready);
  return { ...view, ready, services };
}

/** Look until the session is ready or `seconds` have passed; the last look either way. */
export async function waitForReady(cwd: string, target: string, seconds: number, progress: Progress): Promise<ReadyView> {
  const deadline = Date.now() + seconds * 1000;
  let pause = 100;
  let said = '';
  for (;;) {
    const view = await readiness(cwd, target);
    if (view.ready || Date.now() >= deadline) return view;
    const waiting = view.status === 'creating' ? 'its first up' : notReady(view);
    if (waiting !== said) progress.info(`waiting for ${view.name}: ${waiting}`);
    said = waiting;
    await sleep(Math.min(pause, Math.max(0, deadline - Date.now())));
    pause = Math.min(pause * 2, 1000);
  }
}

export function notReady(view: ReadyView): string {
  const services = view.services
    .filter((s) => !s.ready && s.detail !== 'not meant to run')
    .map((s) => `${s.name} (${s.detail ?? s.state})`);
  return services.length ? services.join(', ') : `the session is ${view.status}`;
}
