// The env file format (and `sess env --format dotenv`): KEY=value lines that mean the same to a shell
// that sources the file (`set -a; . ./.env.sess`) and to dotenv readers (compose's env_file, the
// dotenv libraries). Values come from branch names, so nothing in them may run when sourced:
// single quotes wherever they can be used (no expansion at all), else double quotes with every
// character the shell treats specially inside them escaped.
export function dotenv(env: Record<string, string>): string {
  return (
    Object.entries(env)
      .map(([k, v]) => `${k}=${quote(v)}`)
      .join('\n') + '\n'
  );
}

function quote(value: string): string {
  if (/^[A-Za-z0-9_./:@+-]*$/.test(value)) return value;
  if (!/['\n\r]/.test(value)) return `'${value}'`;
  return `"${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}
