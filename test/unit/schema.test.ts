// The committed JSON Schema is generated from the zod schema; this fails when they drift apart.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { jsonSchema } from '../../config/schema.js';

describe('schema/sess.schema.json', () => {
  it('is what `npm run schema` generates from the zod schema', () => {
    const committed = JSON.parse(readFileSync(new URL('../../schema/sess.schema.json', import.meta.url), 'utf8'));
    expect(committed, 'run `npm run schema` and commit schema/sess.schema.json').toEqual(jsonSchema());
  });

  it('covers every top-level key of SPEC.md', () => {
    const keys = Object.keys((jsonSchema() as { properties: object }).properties);
    expect(keys.sort()).toEqual(
      [
        'compose',
        'env',
        'env_file',
        'env_from',
        'hooks',
        'hybrid',
        'mode',
        'ports',
        'proxy',
        'remote',
        'sandboxes',
        'services',
        'version',
        'worktree',
      ].sort(),
    );
  });
});
