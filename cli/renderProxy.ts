// What `sess proxy status` and `sess proxy routes` print for people.
import type { ListedRoute } from '../core/proxy/routes.js';
import type { ProxyStatusView } from '../core/proxy/status.js';
import { out } from './output.js';

const { dim, green, yellow, red } = out;

export function renderProxyStatus(view: ProxyStatusView): string {
  const lines: string[] = [];
  switch (view.state) {
    case 'running':
      lines.push(
        `${green('running')} on 127.0.0.1:${view.port} (pid ${view.pid}, since ${view.since}), ${view.routes} route(s), table generation ${view.generation}`,
      );
      break;
    case 'down':
      lines.push(
        `${yellow('not running')} (port ${view.port}); \`sess proxy start\` or the next \`sess up\` starts it, ${view.routes} route(s) waiting`,
      );
      break;
    case 'unresponsive':
      lines.push(`${red('not answering')} on 127.0.0.1:${view.port}: pid ${view.pid}, ${view.detail}; \`sess proxy start\` restarts it`);
      break;
    case 'taken':
      lines.push(`${red('port taken')}: 127.0.0.1:${view.port} is held by ${view.detail}; stop it or set SESS_PROXY_PORT`);
      break;
  }
  if (view.tableError) lines.push(`${red('!')} ${view.tableError}`);
  const busy = Object.entries(view.active ?? {});
  for (const [target, n] of busy) lines.push(`  in flight to ${target}: ${n.requests} request(s), ${n.websockets} WebSocket(s)`);
  lines.push(dim(`  log     ${view.log}`), dim(`  routes  ${view.routesFile}`));
  return lines.join('\n');
}

export function renderProxyRoutes(routes: ListedRoute[]): string {
  if (routes.length === 0) return dim('no routes: `sess up <branch>` routes its services');
  const sorted = [...routes].sort(
    (a, b) => a.repo.localeCompare(b.repo) || a.session.localeCompare(b.session) || a.url.localeCompare(b.url),
  );
  const rows = sorted.map((r) => [r.url, r.target, r.session, r.service + (r.kind === 'service' ? '' : ` (${r.kind})`), r.repo]);
  const header = ['URL', 'TARGET', 'SESSION', 'SERVICE', 'REPO'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [dim(line(header)), ...rows.map(line)].join('\n');
}
