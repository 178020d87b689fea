import type { Config } from './schema.js';
import { own } from '../common/records.js';

/** Services in an order where each comes after everything it depends on. */
export function dependencyOrder(config: Config, names: Iterable<string> = Object.keys(config.services)): string[] {
  const wanted = new Set(names);
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const dep of own(config.services, name)?.depends_on ?? []) visit(dep);

    if (wanted.has(name)) order.push(name);
  };
  for (const name of Object.keys(config.services)) visit(name);
  return order;
}
