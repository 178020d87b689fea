// What the proxy answers itself: 502 when a route's service does not answer, 404 for a host no route
// has. Short, and useful to a person looking at a browser tab: which session, which service, what
// sess last knew of it and the command that brings it up; or the URLs that do exist.
// HTML for browsers, plain text for everything else (curl, fetch in a test).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HostRoute } from './table.js';

export interface Page {
  status: number;
  title: string;
  lines: string[];
  /** host -> target, shown as a list of links */
  links?: { url: string; note: string }[];
}

/** What a backend error means, in words. */
function describeError(code: string | undefined): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'nothing listens there (connection refused)';
    case 'ECONNRESET':
      return 'it closed the connection';
    case 'ETIMEDOUT':
      return 'no answer in time';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'its address cannot be reached';
    default:
      return code ? `error ${code}` : 'no answer';
  }
}

export function badGatewayPage(route: HostRoute, errorCode: string | undefined): Page {
  const state = route.status ? `${route.status.state}${route.status.detail ? ` (${route.status.detail})` : ''}` : 'unknown';
  const up = `sess up ${route.session}`;
  const lines = [
    `session ${route.session}, service ${route.service}${route.kind === 'green' ? ' (green candidate)' : ''}, repository ${route.repo}`,
    `target ${route.target}: ${describeError(errorCode)}`,
    `status: ${state}`,
    `bring it up: ${route.root ? `cd ${route.root} && ${up}` : up}`,
  ];
  return { status: 502, title: `502: ${route.service} of ${route.session} is not answering`, lines };
}

export function notFoundPage(host: string, routes: HostRoute[], repoLabel: string | undefined, port: number): Page {
  const scope = repoLabel !== undefined && routes.length > 0 ? `repository ${routes[0]!.repo}` : 'this machine';
  const links = routes
    .map((r) => ({
      url: `http://${r.host}${port === 80 ? '' : `:${port}`}/`,
      note: `${r.target}  (session ${r.session}, service ${r.service}${r.kind === 'service' ? '' : `, ${r.kind}`})`,
    }))
    .sort((a, b) => a.url.localeCompare(b.url));
  const lines = [
    `no route for ${host || '(no Host header)'}.`,
    links.length ? `routes of ${scope}:` : `${scope} has no routes: run \`sess up <branch>\`.`,
  ];
  return { status: 404, title: `404: no route for ${host || '(no Host header)'}`, lines, links };
}

export function sendPage(req: IncomingMessage, res: ServerResponse, page: Page): void {
  const html = (req.headers.accept ?? '').includes('text/html');
  const body = html ? renderHtml(page) : renderText(page);
  res.writeHead(page.status, {
    'content-type': html ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-sess-proxy': '1',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function renderText(page: Page): string {
  const links = (page.links ?? []).map((l) => `  ${l.url}  ->  ${l.note}`);
  return [page.title, '', ...page.lines, ...links, ''].join('\n');
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function renderHtml(page: Page): string {
  const links = page.links?.length
    ? `<ul>${page.links.map((l) => `<li><a href="${escape(l.url)}">${escape(l.url)}</a> <code>${escape(l.note)}</code></li>`).join('')}</ul>`
    : '';
  return (
    `<!doctype html><html><head><meta charset="utf-8"><title>${escape(page.title)}</title>` +
    `<style>body{font:15px/1.5 system-ui,sans-serif;margin:2em auto;max-width:52em;padding:0 1em}code{font-size:90%}</style>` +
    `</head><body><h1>${escape(page.title)}</h1>${page.lines.map((l) => `<p>${escape(l)}</p>`).join('')}${links}` +
    `<p><small>sess proxy</small></p></body></html>\n`
  );
}
