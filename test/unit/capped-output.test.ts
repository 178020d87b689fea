// The byte budget of output handed to programs (exec and logs over MCP): first and last halves
// kept, the count of what was dropped between, memory within the budget whatever the chunking.
import { describe, expect, it } from 'vitest';
import { CappedOutput } from '../../adapters/cappedOutput.js';

describe('CappedOutput', () => {
  it('keeps everything that fits, as it came', () => {
    const out = new CappedOutput(10);
    out.push('héllo');
    out.push(Buffer.from(' wo'));
    expect(out.text()).toBe('héllo wo');
    expect([out.total, out.omitted]).toEqual([9, 0]);
  });

  it('keeps the first and last halves of a larger output, and says how much went between', () => {
    for (const chunk of [1, 3, 7, 1000]) {
      const out = new CappedOutput(8);
      const text = 'abcdefghijklmnopqrstuvwxyz';
      for (let i = 0; i < text.length; i += chunk) out.push(text.slice(i, i + chunk));
      expect(out.text(), `chunks of ${chunk}`).toBe('abcd\n[... 18 bytes omitted ...]\nwxyz');
      expect(out.omitted).toBe(18);
      expect(out.total).toBe(26);
    }
  });

  it('holds no more than the budget while megabytes go through', () => {
    const out = new CappedOutput(1000);
    for (let i = 0; i < 1000; i++) out.push(Buffer.alloc(4096, 'x'));
    const held = (out as unknown as { tail: Buffer[]; head: Buffer[] }).tail.concat((out as unknown as { head: Buffer[] }).head);
    expect(held.reduce((n, b) => n + b.length, 0)).toBe(1000);
    expect(out.omitted).toBe(4096 * 1000 - 1000);
  });
});
