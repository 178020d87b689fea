// An omitted <session> argument: the session whose worktree the command runs in (core/sessions/current.ts).
export async function targetOf(session: string | undefined, command: string): Promise<string> {
  if (session !== undefined) return session;
  const { currentSession } = await import('../core/sessions/current.js');
  return currentSession(process.cwd(), command);
}
