// How core tells the person what is happening, without printing: cli/ decides where it goes.
export interface Progress {
  /** A step of the work has been done ("worktree created"). */
  step(text: string): void;
  info(text: string): void;
  warn(text: string): void;
}

export const silentProgress: Progress = { step() {}, info() {}, warn() {} };
