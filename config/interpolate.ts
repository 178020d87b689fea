// `${...}` in env, commands, ready probes and hooks. Only the roots below are ours; anything else
// (`${HOME}` in a command) is left for the shell.
//
// Values that come from the branch name (session name, paths that contain it) never get pasted
// into a shell string: in shell text they become a reference to the environment variable that
// carries them, so a branch called `x;rm -rf ~` stays a string.
import { ConfigError } from '../common/errors.js';
import { hasOwn, own } from '../common/records.js';

const EXPR = /\$\{(ports|svc|session|repo)\.([^}]*)\}/g;

export const SESSION_VARS: Record<string, string> = {
  'session.name': 'SESS_SESSION',
  'session.branch': 'SESS_BRANCH',
  'session.dir': 'SESS_DIR',
  'session.worktree': 'SESS_WORKTREE',
  'repo.root': 'SESS_REPO_ROOT',
};

/** The environment variable that carries the leased port NAME: `SESS_PORT_<NAME>`, upper case. */
export function portVariable(portName: string): string {
  return `SESS_PORT_${portName.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`;
}

export interface Address {
  host: string;
  port: number;
}

export interface Scope {
  ports: Record<string, number>;
  /** Where the reading service reaches service NAME. */
  svc(name: string): Address;
  /** Values of SESSION_VARS, by expression. */
  values: Record<string, string>;
  /** Stable URLs through the local proxy: by routed service, and the session's own. */
  urls: { services: Record<string, string>; url?: string };
}

export function interpolate(text: string, scope: Scope, shell: boolean): string {
  return text.replace(EXPR, (_match, root: string, key: string) => {
    const expr = `${root}.${key}`;
    if (root === 'ports') {
      const port = own(scope.ports, key);
      if (port === undefined) throw new ConfigError('sess.yaml', [{ path: '', message: `unknown port \${${expr}}` }]);
      return String(port);
    }
    if (root === 'svc') {
      const [svc, field] = key.split('.');
      // a URL is made of lowercase DNS labels (core/proxy/labels.ts): safe as text, in a shell too
      if (field === 'url') return own(scope.urls.services, svc!) ?? unknown(expr);
      const address = scope.svc(svc!);
      return field === 'host' ? address.host : String(address.port);
    }
    if (expr === 'session.url') return scope.urls.url ?? unknown(expr);
    if (shell) return `"\${${own(SESSION_VARS, expr)}}"`;
    const value = own(scope.values, expr);
    if (value === undefined) throw new ConfigError('sess.yaml', [{ path: '', message: `unknown expression \${${expr}}` }]);
    return value;
  });
}

function unknown(expr: string): never {
  throw new ConfigError('sess.yaml', [{ path: '', message: `\${${expr}} has no value: no route of the local proxy for it` }]);
}

/** Every `${...}` of ours that does not name something that exists: for config validation. */
export function badReferences(
  text: string,
  known: { ports: Set<string>; servicesWithPorts: Set<string>; services: Set<string>; routed: Set<string> },
): string[] {
  const problems: string[] = [];
  for (const m of text.matchAll(EXPR)) {
    const [, root, key] = m as unknown as [string, string, string];
    const expr = `\${${root}.${key}}`;
    if (root === 'ports' && !known.ports.has(key)) problems.push(`${expr}: no port named "${key}" in ports`);
    if (root === 'svc') {
      const [svc, field, ...rest] = key.split('.');
      if (rest.length || (field !== 'host' && field !== 'port' && field !== 'url')) {
        problems.push(`${expr}: expected \${svc.NAME.host}, \${svc.NAME.port} or \${svc.NAME.url}`);
      } else if (!known.services.has(svc!)) problems.push(`${expr}: no service named "${svc}"`);
      else if (field === 'url' && !known.routed.has(svc!)) {
        problems.push(`${expr}: service "${svc}" has no stable URL (give it proxy: { port: NAME } or an http ready probe)`);
      } else if (!known.servicesWithPorts.has(svc!)) problems.push(`${expr}: service "${svc}" has no named port`);
    }
    if (`${root}.${key}` === 'session.url') {
      if (known.routed.size === 0)
        problems.push(`${expr}: no service has a stable URL (give one proxy: { port: NAME } or an http ready probe)`);
    } else if ((root === 'session' || root === 'repo') && !hasOwn(SESSION_VARS, `${root}.${key}`)) {
      problems.push(`${expr}: expected one of ${[...Object.keys(SESSION_VARS), 'session.url'].map((k) => `\${${k}}`).join(', ')}`);
    }
  }
  return problems;
}
