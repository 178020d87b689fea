// How the layers below cli/ tell the person what is happening, without printing: cli/ decides
// where it goes (stderr for the CLI, progress notifications for the MCP server).
export interface Progress {
  /** A step of the work has been done ("worktree created"). */
  step(text: string): void;
  info(text: string): void;
  warn(text: string): void;
}
