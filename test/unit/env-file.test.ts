// The syntax of the project's env files (env_from): what compose and the dotenv libraries read.
import { describe, expect, it } from 'vitest';
import { EnvSyntaxError, parseEnvFile } from '../../config/envFile.js';

describe('env files', () => {
  it('reads KEY=value, export, comments, quotes (double ones with escapes, over lines), nothing expanded', () => {
    const text = [
      '# comment',
      '',
      'A=1',
      'export B = two words  # trailing comment',
      "C='$HOME # kept'",
      'D="x\\ny \\"q\\" \\\\"',
      'E="first',
      'second"',
      'F=',
      'G=a#b',
      'H=${A}',
      '  I=spaced  ',
    ].join('\n');
    expect({ ...parseEnvFile(text) }).toEqual({
      A: '1',
      B: 'two words',
      C: '$HOME # kept',
      D: 'x\ny "q" \\',
      E: 'first\nsecond',
      F: '',
      G: 'a#b',
      H: '${A}',
      I: 'spaced',
    });
  });

  it('later keys win; CRLF files and a BOM read the same', () => {
    expect({ ...parseEnvFile('\uFEFFA=1\r\nA=2\r\nB=3\r\n') }).toEqual({ A: '2', B: '3' });
  });

  it.each([
    ['A=1\nnot a pair\n', 2, 'expected KEY=value'],
    ['A=1\n\n1X=2', 3, '"1X" is not a variable name'],
    ['A="open\nB=2\n', 1, 'double quote of A is never closed'],
    ["A='x' y", 1, 'unexpected text after the quoted value of A'],
    ['__proto__=x', 1, '"__proto__" is not a variable name'],
  ])('%j is a syntax error at line %i', (text, line, message) => {
    let caught: unknown;
    try {
      parseEnvFile(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(EnvSyntaxError);
    expect((caught as EnvSyntaxError).line).toBe(line);
    expect((caught as Error).message).toContain(message);
  });
});
