// Host services' logs: each one's output is appended to `<session dir>/logs/<service>.log`. Shown
// from the start (or the last N lines), then, with `follow`, read again as it grows.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../../common/sleep.js';
import type { LogOptions } from '../runtime.js';

export function logFileOf(sessionDir: string, service: string): string {
  return join(sessionDir, 'logs', `${service}.log`);
}

export async function followLogs(sessionDir: string, services: string[], options: LogOptions): Promise<void> {
  const readers = services.map((name) => ({ name, file: logFileOf(sessionDir, name), offset: 0, partial: '' }));
  for (const r of readers) {
    const text = readFrom(r.file, 0);
    r.offset = Buffer.byteLength(text);
    let lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    // a last line still being written: shown now without -f, with -f once it is whole
    else if (options.follow) r.partial = lines.pop() ?? '';
    if (options.tail !== undefined) lines = options.tail === 0 ? [] : lines.slice(-options.tail);
    for (const line of lines) options.write(r.name, line);
  }
  while (options.follow && !options.signal?.aborted) {
    for (const r of readers) {
      const text = readFrom(r.file, r.offset);
      if (!text) continue;
      r.offset += Buffer.byteLength(text);
      const lines = (r.partial + text).split('\n');
      r.partial = lines.pop() ?? '';
      for (const line of lines) options.write(r.name, line);
    }
    await sleep(200, options.signal).catch(() => undefined);
  }
}

function readFrom(file: string, offset: number): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const size = fstatSync(fd).size;
    if (size <= offset) return '';
    const buffer = Buffer.alloc(size - offset);
    readSync(fd, buffer, 0, buffer.length, offset);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}
