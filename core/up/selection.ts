// Which services an up starts: all of them, or those `--only` names with what they depend on,
// minus those `--skip` names and what depends on them; `sess restart` names the ones it replaces.
// Decided from the config before anything changes (an unknown name is exit 2).
import { UsageError } from '../../common/errors.js';
import { own } from '../../common/records.js';
import type { Config } from '../../config/schema.js';

export interface Selection {
  /** the services this up may start or replace (dependency order is the plan's business) */
  names: string[];
  /** what to tell the person: which services are left out, and why */
  notes: string[];
}

/** Exit 2 naming every name that is no service of the config. */
export function requireServices(config: Config, names: string[], flag: string): void {
  const unknown = [...new Set(names)].filter((n) => !own(config.services, n));
  if (unknown.length) {
    throw new UsageError(`${flag}: no such service${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, {
      hint: `the services of sess.yaml: ${Object.keys(config.services).join(', ')}`,
    });
  }
}

/** `--only` / `--skip` over the config's services; undefined when neither was given. */
export function selectServices(config: Config, only: string[] = [], skip: string[] = []): Selection | undefined {
  if (!only.length && !skip.length) return undefined;
  requireServices(config, only, '--only');
  requireServices(config, skip, '--skip');
  const all = Object.keys(config.services);
  const dependsOn = (n: string) => own(config.services, n)?.depends_on ?? [];
  const notes: string[] = [];
  let chosen = new Set(all);
  if (only.length) {
    chosen = new Set();
    const visit = (n: string) => {
      if (chosen.has(n)) return;
      chosen.add(n);
      dependsOn(n).forEach(visit);
    };
    only.forEach(visit);
    const added = all.filter((n) => chosen.has(n) && !only.includes(n));
    notes.push(`starting only ${only.join(', ')}${added.length ? ` (and ${added.join(', ')}: what they depend on)` : ''}`);
  }
  // what depends on a skipped service is skipped with it, said with the dependency that took it
  const skipped = new Map<string, string | undefined>(skip.map((n) => [n, undefined]));
  for (let grew = true; grew;) {
    grew = false;
    for (const n of all) {
      if (skipped.has(n)) continue;
      const dep = dependsOn(n).find((d) => skipped.has(d));
      if (dep !== undefined) {
        skipped.set(n, dep);
        grew = true;
      }
    }
  }
  for (const [n, because] of skipped) {
    if (!chosen.has(n)) continue;
    chosen.delete(n);
    notes.push(because === undefined ? `skipping ${n}` : `skipping ${n} (depends on ${because})`);
  }
  const names = all.filter((n) => chosen.has(n));
  if (!names.length) throw new UsageError('--only and --skip leave no service to start');
  return { names, notes };
}
