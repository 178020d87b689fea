// The validator on hostile or unusual input: linear time, aliases, colliding env names, names that
// are properties of every JavaScript object.
import { describe, expect, it } from 'vitest';
import { parseConfig, readYaml } from '../../config/load.js';
import { CONFIG_MAX_BYTES } from '../../config/limits.js';
import { ConfigError } from '../../common/errors.js';

const SERVICE = 'services:\n  web: { host: { command: x } }\n';

/** A valid sess.yaml of about `bytes` bytes, all in one map of short keys (the most keys per byte). */
function oneBigMap(bytes: number): string {
  let text = 'version: 1\n' + SERVICE + 'env:\n';
  for (let i = 0; text.length < bytes - 16; i++) text += `  K${i}: 1\n`;
  return text;
}

/** CPU seconds `fn` takes: unlike wall time, not stretched by whatever else the machine runs. */
function cpuSeconds(fn: () => void): number {
  const before = process.cpuUsage();
  fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

function problemsOf(text: string): { path: string; message: string }[] {
  try {
    parseConfig(text, 'sess.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('YAML reading', () => {
  it('is linear in the number of keys of one map (1 MiB in seconds, not minutes)', () => {
    const text = oneBigMap(1024 * 1024);
    let value: { env: Record<string, number> } | undefined;
    // ~1 s; the yaml library's own pairwise check of these ~90,000 keys took over 100 s
    expect(cpuSeconds(() => (value = readYaml(text, 'sess.yaml') as typeof value))).toBeLessThan(10);
    expect(Object.keys(value!.env).length).toBeGreaterThan(80_000);
  });

  it('a file at the cap validates in well under a second of CPU time', () => {
    const text = oneBigMap(CONFIG_MAX_BYTES);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(CONFIG_MAX_BYTES);
    // measured ~0.3 s; it was ~4 s before duplicate keys were checked in linear time
    expect(cpuSeconds(() => parseConfig(text, 'sess.yaml'))).toBeLessThan(1.5);
  });

  it('a file above the cap is refused before it is parsed, naming its size and the cap', () => {
    const text = oneBigMap(CONFIG_MAX_BYTES + 1);
    expect(problemsOf(text + '#'.repeat(100))).toEqual([
      {
        path: '',
        message: expect.stringMatching(/^the file is 256\.1 KiB \(262\d{3} bytes\), more than the 256 KiB a sess\.yaml may have$/),
      },
    ]);
  });

  it('still names a key given twice, in any map, with its line and column', () => {
    expect(problemsOf('version: 1\nports:\n  web: {}\n  web: {}\n' + SERVICE)).toEqual([
      { path: 'line 4, column 3', message: 'Map keys must be unique' },
    ]);
    expect(problemsOf('version: 1\n' + SERVICE + '  db: { host: { command: x, command: y } }\n')).toEqual([
      { path: 'line 4, column 29', message: 'Map keys must be unique' },
    ]);
    // 1 and "1" are one key once read
    expect(problemsOf('version: 1\nenv: { 1: a, "1": b }\n' + SERVICE)[0]!.message).toBe('Map keys must be unique');
  });

  it('an alias bomb is a ConfigError, not a crash', () => {
    const lines = ['version: 1', 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const problems = problemsOf(lines.join('\n') + '\n' + SERVICE);
    expect(problems).toEqual([{ path: '', message: expect.stringContaining('aliases') }]);
  });

  it('a few aliases are fine', () => {
    const c = parseConfig('version: 1\nenv: &e { A: "1" }\nservices:\n  web: { host: { command: x }, env: *e }\n', 'sess.yaml');
    expect(c.services.web!.env).toEqual({ A: '1' });
  });
});

describe('names', () => {
  it('port names that become one SESS_PORT_ variable are refused, naming both', () => {
    expect(problemsOf('version: 1\nports: { web-1: {}, web_1: {}, Web-1: {} }\n' + SERVICE)).toEqual([
      { path: 'ports.web_1', message: 'ports "web-1" and "web_1" both become SESS_PORT_WEB_1' },
      { path: 'ports.Web-1', message: 'ports "web-1" and "Web-1" both become SESS_PORT_WEB_1' },
    ]);
  });

  it('ports and services named after Object properties are ordinary names', () => {
    const c = parseConfig(
      [
        'version: 1',
        'ports: { constructor: {}, toString: { prefer: 4000 } }',
        'services:',
        '  constructor: { host: { command: x }, ports: { constructor: 1 } }',
        '  valueOf: { host: { command: x }, depends_on: [constructor], ports: { toString: 2 } }',
      ].join('\n'),
      'sess.yaml',
    );
    expect(Object.keys(c.services)).toEqual(['constructor', 'valueOf']);
    expect(c.ports.toString).toEqual({ prefer: 4000 });
  });

  it('depends_on, hybrid.host and ports naming an absent Object property are refused', () => {
    expect(problemsOf('version: 1\nservices:\n  web: { host: { command: x }, depends_on: [constructor] }\n')).toEqual([
      { path: 'services.web.depends_on', message: 'no service named "constructor"' },
    ]);
    expect(problemsOf('version: 1\nhybrid: { host: [toString] }\n' + SERVICE)).toEqual([
      { path: 'hybrid.host', message: 'no service named "toString"' },
    ]);
    expect(problemsOf('version: 1\nservices:\n  web: { host: { command: x }, ports: { valueOf: 1 } }\n')).toEqual([
      { path: 'services.web.ports.valueOf', message: 'no port named "valueOf" in the top-level ports' },
    ]);
  });

  it('a key called __proto__ is refused (it would vanish silently)', () => {
    expect(problemsOf('version: 1\nenv:\n  __proto__: x\n' + SERVICE)).toEqual([
      { path: 'line 3, column 3', message: '__proto__ cannot be a key' },
    ]);
  });
});

describe('aliases', () => {
  it('more than 1000 aliases are refused before they are resolved (that is quadratic)', () => {
    let text = 'version: 1\n' + SERVICE + 'env:\n';
    for (let i = 0; text.length < CONFIG_MAX_BYTES - 40; i++) text += `  A${i}: &a${i} x\n  B${i}: *a${i}\n`;
    let problems: { path: string; message: string }[] = [];
    // ~2 s of CPU when every alias was resolved
    expect(cpuSeconds(() => (problems = problemsOf(text)))).toBeLessThan(1);
    expect(problems).toEqual([
      { path: expect.stringMatching(/^line \d+, column \d+$/), message: 'more than 1000 aliases (*name): sess reads no more' },
    ]);
    let fine = 'version: 1\n' + SERVICE + 'env:\n';
    for (let i = 0; i < 1000; i++) fine += `  A${i}: &a${i} x\n  B${i}: *a${i}\n`;
    expect(Object.keys(parseConfig(fine, 'sess.yaml').env)).toHaveLength(2000);
  });
});
