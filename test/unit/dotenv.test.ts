// The env file must mean the same to a shell that sources it as to the values sess wrote: nothing in
// a value (from a branch name, say) may run or expand.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { dotenv } from '../../core/dotenv.js';

const values = [
  'plain-1.2_x/y:z@w+v',
  '',
  'with space',
  'evil$(touch /tmp/sess-dotenv-pwned)',
  'back`tick`',
  '$HOME and ${HOME}',
  "it's",
  'it\'s $(id) `id` "q" \\ back',
  'two\nlines',
  'trailing\\',
];

describe('dotenv', () => {
  it.each(values.map((v) => [v]))('%j round-trips through a shell that sources it, running nothing', (value) => {
    const text = dotenv({ V: value });
    const out = execFileSync('sh', ['-c', `set -a; eval "$(cat)"; printf %s "$V"`], { input: text, encoding: 'utf8' });
    expect(out).toBe(value);
  });

  it('keeps simple values bare and prefers single quotes', () => {
    expect(dotenv({ A: 'x-1', B: 'a b', C: "it's" })).toBe(`A=x-1\nB='a b'\nC="it's"\n`);
  });
});
