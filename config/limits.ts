// How big a sess.yaml may be. A real one is a few KiB; the cap only stops a file that would keep the
// validator busy for seconds (or, before duplicate keys were checked in linear time, for minutes).
// Its own module so that reading a file can check it without loading the validator (yaml + zod).
import { ConfigError } from '../common/errors.js';

/**
 * Measured on a busy 2-core machine: `sess config validate` of a file this size, all in one map of
 * short keys (the most keys per byte), takes 0.9 s, 0.3 s of which a tiny file takes too.
 */

export const CONFIG_MAX_BYTES = 256 * 1024;

/**
 * Aliases (`*name`) in one sess.yaml. The yaml library looks each one up among every anchor and
 * alias before it, so their cost grows with the square of their number (11,000 of them, what fits
 * in a file at the cap, took 2 s); a real file has a handful.
 */
export const CONFIG_MAX_ALIASES = 1000;

/** Refuse a sess.yaml of `bytes` bytes when it is above the cap. */
export function checkConfigSize(bytes: number, file: string): void {
  if (bytes <= CONFIG_MAX_BYTES) return;
  throw new ConfigError(
    file,
    [{ path: '', message: `the file is ${kib(bytes)} (${bytes} bytes), more than the ${kib(CONFIG_MAX_BYTES, 0)} a sess.yaml may have` }],
    { hint: 'a sess.yaml is a few KiB: is this the right file? Move generated data into files your services read.' },
  );
}

function kib(bytes: number, digits = 1): string {
  return `${(bytes / 1024).toFixed(digits)} KiB`;
}
