// Names from sess.yaml (ports, services, env variables) index plain objects everywhere: in the
// config, the session record, the ledger. On a plain object `constructor`, `toString` or `valueOf`
// is always "there" (inherited from Object.prototype), so a name the user did not define must never
// be looked up with `record[name]`: these read own properties only. A leaf module, like errors.ts.

/** The value the record itself holds under `key`, never an inherited one. */
export function own<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Does the record itself hold `key`? */
export function hasOwn(record: Readonly<Record<string, unknown>> | undefined, key: string): boolean {
  return record !== undefined && Object.hasOwn(record, key);
}

/**
 * An empty record without a prototype, for records keyed by names we do not control (session names
 * come from branch names, and a branch may be called `__proto__`: on a plain object, assigning that
 * key would set the prototype instead of adding an entry).
 */
export function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}
