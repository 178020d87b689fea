// The README says what the code does: its list of failpoints is up's list of steps.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { allFailpoints } from '../../core/up/steps.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it("lists exactly the failpoints of up's steps (and doctor's)", () => {
    const paragraph = README.slice(README.indexOf('- Fault injection for tests'));
    const listed = paragraph.slice(paragraph.indexOf('Steps,'), paragraph.indexOf('\n- ') + 1 || undefined);
    const names = [...listed.matchAll(/`([a-z_<>:-]+)`/g)].map((m) => m[1]!).filter((n) => !n.includes('/'));
    expect(new Set(names)).toEqual(new Set([...allFailpoints(), 'doctor-fix']));
  });
});
