// Who holds a TCP port, for a message a person can act on: "pid 4242 (python3 -m http.server 7377)".
import { readFileSync } from 'node:fs';
import { findPortHolder } from './proc.js';

export interface PortHolder {
  /** null when /proc does not show it (another user's process, a container's port forwarder) */
  pid: number | null;
  /** its command line, shortened */
  command?: string;
}

export function portHolder(port: number): PortHolder {
  const pid = findPortHolder(port);
  if (pid === null) return { pid };
  try {
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return { pid, command: command.length > 120 ? `${command.slice(0, 117)}...` : command };
  } catch {
    return { pid };
  }
}

export function describePortHolder(holder: PortHolder): string {
  if (holder.pid === null) return 'another process';
  return holder.command ? `pid ${holder.pid} (${holder.command})` : `pid ${holder.pid}`;
}
