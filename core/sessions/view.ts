// A session as `up`, `status` and `ls` show it (SPEC.md "--json shapes"), with live service states.
import { own } from '../../common/records.js';
import type { LiveStates, RuntimeName, ServiceState } from '../../modes/service.js';
import { serviceState } from '../state/liveness.js';
import type { CreatingMark, SessionRecord, SessionStatus } from '../state/store.js';

export type { ServiceState };

export interface ServiceView {
  name: string;
  runtime: RuntimeName;
  state: ServiceState;
  pid?: number;
  ports: Record<string, number>;
  /** its stable URL through the local proxy, when it is routed */
  url?: string;
}

export interface SessionView {
  name: string;
  branch: string;
  mode: string;
  status: SessionStatus;
  worktree: string;
  ports: Record<string, number>;
  services: ServiceView[];
  /** the session's stable URL (its primary service's), when something of it is routed */
  url?: string;
  /** services whose blue-green candidate waits at its manual gate for `sess promote` */
  awaiting_promotion?: string[];
  /** the worktree is one sess did not make (`up --adopt`): sess never deletes it */
  adopted?: true;
}

/** `live`: what the runtimes found of this session's services (see lookAt). */
export function sessionView(record: SessionRecord, live: LiveStates = {}): SessionView {
  const services: ServiceView[] = Object.entries(record.services).map(([name, rec]) => {
    const state = serviceState(rec, live);
    const view: ServiceView = { name, runtime: rec.runtime, state, ports: rec.def.ports };
    if (state === 'running' && rec.pid !== undefined) view.pid = rec.pid;
    const url = own(record.urls?.services ?? {}, name);
    if (url !== undefined) view.url = url;
    return view;
  });
  const waiting = Object.keys(record.pending ?? {});
  return {
    name: record.name,
    branch: record.branch,
    mode: record.mode,
    status: statusOf(record, services),
    worktree: record.worktree,
    ports: record.ports,
    services,
    ...(record.urls?.url !== undefined ? { url: record.urls.url } : {}),
    ...(waiting.length ? { awaiting_promotion: waiting } : {}),
    ...(record.adopted ? { adopted: true as const } : {}),
  };
}

function statusOf(record: SessionRecord, services: ServiceView[]): SessionStatus {
  const wanted = Object.values(record.services).filter((s) => s.wanted).length;
  const running = services.filter((s) => s.state === 'running').length;
  if (wanted === 0 && running === 0) return record.status === 'failed' ? 'failed' : 'down';
  // every service meant to run runs (those an `up --only`/`--skip` left out are not meant to)
  const wantedRunning = services.filter((s) => s.state === 'running' && own(record.services, s.name)!.wanted).length;
  if (wantedRunning === wanted && running === wanted) return 'up';
  // meant to run, and not one does: every service died
  if (running === 0) return 'failed';
  return record.status === 'failed' ? 'failed' : 'partial';
}

/** Where a person points a browser: the origin of each service's http ready probe. */
export function serviceUrls(record: SessionRecord): Record<string, string> {
  const urls: Record<string, string> = {};
  for (const [name, rec] of Object.entries(record.services)) {
    if (rec.def.ready?.kind !== 'http') continue;
    try {
      urls[name] = new URL(rec.def.ready.url).origin + '/';
    } catch {
      /* not a URL: no link */
    }
  }
  return urls;
}

/** A session whose first `up` is running: no services, no ports yet. */
export function creatingView(mark: CreatingMark): SessionView {
  return {
    name: mark.name,
    branch: mark.branch,
    mode: mark.mode ?? '',
    status: 'creating',
    worktree: mark.worktree ?? '',
    ports: {},
    services: [],
  };
}
