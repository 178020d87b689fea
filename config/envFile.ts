// The project's own env files (`env_from: [.env, .env.local]`), in the syntax docker compose and the
// dotenv libraries read: `KEY=value`, `export KEY=value`, `#` comments, blank lines; 'single quotes'
// keep their text as it is, "double quotes" know \n \t \" \\ and may span lines; an unquoted value
// ends at ` #`. Values are taken as text: nothing is expanded, nothing runs.
export class EnvSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export function parseEnvFile(text: string): Record<string, string> {
  const vars: Record<string, string> = Object.create(null);
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq === -1) throw new EnvSyntaxError(lineNo, `expected KEY=value, found "${clip(line)}"`);
    const key = line
      .slice(0, eq)
      .replace(/^export\s+/, '')
      .trim();
    if (!KEY.test(key)) throw new EnvSyntaxError(lineNo, `"${clip(key)}" is not a variable name`);
    if (key === '__proto__') throw new EnvSyntaxError(lineNo, '"__proto__" is not a variable name');
    let rest = line.slice(eq + 1).trimStart();
    const quote = rest[0];
    if (quote === "'" || quote === '"') {
      // the value may go on over the next lines until its closing quote
      let body = rest.slice(1);
      let end = closing(body, quote);
      while (end === -1 && i + 1 < lines.length) {
        body += '\n' + lines[++i]!;
        end = closing(body, quote);
      }
      if (end === -1) throw new EnvSyntaxError(lineNo, `the ${quote === '"' ? 'double' : 'single'} quote of ${key} is never closed`);
      const after = body.slice(end + 1).trim();
      if (after && !after.startsWith('#'))
        throw new EnvSyntaxError(i + 1, `unexpected text after the quoted value of ${key}: "${clip(after)}"`);
      const raw = body.slice(0, end);
      vars[key] = quote === "'" ? raw : unescape(raw);
      continue;
    }
    const comment = rest.search(/\s#/);
    if (comment !== -1) rest = rest.slice(0, comment);
    vars[key] = rest.trim();
  }
  return vars;
}

function closing(body: string, quote: string): number {
  for (let j = 0; j < body.length; j++) {
    if (quote === '"' && body[j] === '\\') j++;
    else if (body[j] === quote) return j;
  }
  return -1;
}

function unescape(raw: string): string {
  return raw.replace(/\\([nrt"\\$])/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t' })[c] ?? c);
}

const clip = (text: string) => (text.length > 40 ? `${text.slice(0, 40)}…` : text);
