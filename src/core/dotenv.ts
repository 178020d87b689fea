// The env file format (and `sess env --format dotenv`): KEY=value lines, values quoted when they need it.
export function dotenv(env: Record<string, string>): string {
  return (
    Object.entries(env)
      .map(([k, v]) => `${k}=${/^[A-Za-z0-9_./:@+-]*$/.test(v) ? v : JSON.stringify(v)}`)
      .join('\n') + '\n'
  );
}
