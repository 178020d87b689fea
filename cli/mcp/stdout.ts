// On stdio, stdout is the protocol: one stray line there (a console.log in a dependency, a warning)
// and the client drops the connection. The transport gets a stream of its own onto the real stdout,
// and everything else that writes to process.stdout is sent to stderr instead.
import { Writable } from 'node:stream';

export function claimStdout(): Writable {
  const stdout = process.stdout;
  const write = stdout.write.bind(stdout) as (chunk: Uint8Array | string, callback: (error?: Error | null) => void) => boolean;
  const protocol = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      write(chunk, (error) => callback(error ?? null));
    },
  });
  stdout.write = process.stderr.write.bind(process.stderr) as typeof stdout.write;
  return protocol;
}
