// Tables and summaries for people. Programs use --json.
import type { SessionView } from '../core/sessions/view.js';
import type { ListedSession } from '../core/sessions/inspect.js';
import type { MachineSession } from '../core/sessions/lsAll.js';
import type { Release } from '../core/state/history.js';
import { out } from './output.js';
import { own } from '../common/records.js';

const { bold, dim, green, red, yellow } = out;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => visible(r[i] ?? '').length)));
  return rows
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visible(cell).length))).join('  '))
    .join('\n');
}

const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

const stateColor = (s: string) =>
  s === 'up' || s === 'running'
    ? green(s)
    : s === 'down' || s === 'stopped'
      ? dim(s)
      : s === 'partial' || s === 'creating'
        ? yellow(s)
        : red(s);

const portsText = (ports: Record<string, number>) =>
  Object.entries(ports)
    .map(([n, p]) => `${n}=${p}`)
    .join(' ');

export function renderList(views: ListedSession[], now = Date.now()): string {
  if (views.length === 0) return 'no sessions (start one with `sess up <branch>`)';
  const sized = views.some((v) => v.disk);
  return table([
    ['SESSION', 'STATUS', 'MODE', 'BRANCH', 'LAST UP', ...(sized ? ['DISK'] : []), 'SERVICES'],
    ...views.map((v) => [
      v.name,
      v.awaiting_promotion ? `${stateColor(v.status)} ${yellow('(awaiting promotion)')}` : stateColor(v.status),
      v.mode,
      (v.pr ? `${v.branch} ${dim(`(PR #${v.pr.number} @${v.pr.commit.slice(0, 8)})`)}` : v.branch) +
        (v.adopted ? ` ${dim('(adopted)')}` : ''),
      lastUp(v.lastUp, now),
      ...(sized ? [v.disk ? `${bytes(v.disk.worktree)} + ${bytes(v.disk.volumes)} vol` : '-'] : []),
      servicesText(v),
    ]),
  ]);
}

/**
 * Where each service is, on one line: its stable URL when it is routed, else its ports. A service
 * that is not running while its session is meant to run is marked (✗) with its state: `ls` only
 * looks at what runs; `sess status` tries the ready probes.
 */
function servicesText(view: SessionView): string {
  if (view.services.length === 0) return portsText(view.ports) || '-';
  const meantToRun = view.status !== 'down' && view.status !== 'creating';
  return view.services
    .map((s) => {
      const where = s.url ?? Object.values(s.ports).join(',');
      const text = `${s.name}${where ? `=${where}` : ''}`;
      return meantToRun && s.state !== 'running' ? red(`✗${text} (${s.state})`) : text;
    })
    .join('  ');
}

const lastUp = (at: string | null | undefined, now: number) => (at ? ago(now - Date.parse(at)) : '-');

/** `sess ls --all`: every session of every repository that holds ports on this machine, and its ports. */
export function renderMachine(sessions: MachineSession[], now = Date.now()): string {
  if (sessions.length === 0) return 'no sessions hold ports on this machine';
  return table([
    ['REPOSITORY', 'SESSION', 'STATUS', 'BRANCH', 'LAST UP', 'PORTS'],
    ...sessions.map((s) => [
      s.repo,
      s.name,
      s.problem
        ? `${stateColor(s.status)} ${dim(`(${s.problem})`)}`
        : s.status === 'stale'
          ? `${red('stale')} ${dim('(sess doctor --fix)')}`
          : stateColor(s.status),
      s.branch ?? '-',
      lastUp(s.lastUp, now),
      portsText(s.ports),
    ]),
  ]);
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)}${units[i]}`;
}

export function renderStatus(view: SessionView): string {
  const head =
    `${bold(view.name)}  ${stateColor(view.status)}  ${view.mode} mode  branch ${view.branch}\nworktree ${view.worktree}\n` +
    (view.url ? `url      ${view.url}\n` : '') +
    awaiting(view);
  const routed = view.services.some((s) => s.url);
  return (
    head +
    '\n' +
    table([
      ['SERVICE', 'RUNTIME', 'STATE', 'PID', ...(routed ? ['URL'] : []), 'PORTS'],
      ...view.services.map((s) => [
        s.name,
        s.runtime,
        stateColor(s.state),
        s.pid ? String(s.pid) : '-',
        ...(routed ? [s.url ?? '-'] : []),
        portsText(s.ports),
      ]),
    ])
  );
}

const awaiting = (view: SessionView) =>
  view.awaiting_promotion
    ? `${yellow('awaiting promotion')}: ${view.awaiting_promotion.join(', ')} (\`sess promote ${view.name}\` or \`sess promote ${view.name} --abort\`)\n`
    : '';

export function renderUp(view: SessionView, urls: Record<string, string>): string {
  const lines = [`${bold(view.name)} is ${stateColor(view.status)} (${view.mode} mode, branch ${view.branch})`];
  const rows: string[][] = [['  worktree', view.worktree]];
  if (view.url) rows.push(['  url', view.url]);
  for (const s of view.services) {
    const direct =
      own(urls, s.name) ??
      Object.values(s.ports)
        .map((p) => `127.0.0.1:${p}`)
        .join(' ');
    rows.push([
      `  ${s.name}`,
      `${direct || dim('(no ports)')}  ${dim(`${s.runtime}${s.pid ? ` pid ${s.pid}` : ''}${s.state !== 'running' ? ` ${s.state}` : ''}`)}${s.url ? `  ${s.url}` : ''}`,
    ]);
  }
  rows.push(['  logs', `sess logs ${view.name} [-f]`]);
  rows.push(['  env', `sess exec ${view.name} -- <command>   (or source ${dim('the env file in the worktree')})`]);
  rows.push(['  stop', `sess down ${view.name}`]);
  const waiting = awaiting(view);
  return lines.join('\n') + '\n' + (waiting ? `  ${waiting}` : '') + table(rows);
}

export function renderHistory(releases: Release[]): string {
  if (releases.length === 0) return 'no releases yet';
  return table([
    ['#', 'STARTED', 'TOOK', 'TRIGGER', 'STATUS', 'SERVICES'],
    ...releases.map((r) => [
      String(r.id),
      r.started,
      `${((Date.parse(r.ended) - Date.parse(r.started)) / 1000).toFixed(1)}s`,
      r.trigger,
      r.status === 'completed' || r.status === 'promoted'
        ? green(r.status)
        : r.status === 'awaiting_promotion'
          ? yellow(r.status)
          : red(r.status),
      r.services.map((s) => `${s.name}:${s.action}${s.then ? `→${s.then}` : ''}`).join(' '),
    ]),
  ]);
}
