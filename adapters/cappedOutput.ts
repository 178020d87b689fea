// Output kept within a byte budget, for callers that hand it to a program (an MCP client) rather
// than a terminal: a command that prints gigabytes must not take the memory of the server with it.
// The first and the last half of the budget are kept: the start says what ran, the end how it
// ended (a test runner's summary, the last error), and the count says how much was dropped between.

export class CappedOutput {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private readonly tail: Buffer[] = [];
  private tailBytes = 0;
  /** Every byte that came, kept or not. */
  total = 0;

  constructor(readonly maxBytes: number) {}

  push(chunk: Buffer | string): void {
    let rest = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.total += rest.length;
    const headRoom = this.headMax - this.headBytes;
    if (headRoom > 0) {
      const part = rest.subarray(0, headRoom);
      this.head.push(part);
      this.headBytes += part.length;
      rest = rest.subarray(part.length);
    }
    if (rest.length === 0) return;
    this.tail.push(rest);
    this.tailBytes += rest.length;
    const tailMax = this.maxBytes - this.headMax;
    // whole chunks first, then a cut into the oldest one: memory stays bounded by the budget (and
    // the one or two chunks its ends are views of)
    while (this.tail.length > 1 && this.tailBytes - this.tail[0]!.length >= tailMax) this.tailBytes -= this.tail.shift()!.length;
    if (this.tailBytes > tailMax) {
      this.tail[0] = this.tail[0]!.subarray(this.tailBytes - tailMax);
      this.tailBytes = tailMax;
    }
  }

  /** Bytes dropped from the middle (0 when everything fitted). */
  get omitted(): number {
    return this.total - this.headBytes - this.tailBytes;
  }

  /** What was kept, with a marker where bytes were dropped. A character cut at the seam shows as U+FFFD. */
  text(): string {
    const head = Buffer.concat(this.head).toString('utf8');
    const tail = Buffer.concat(this.tail).toString('utf8');
    if (this.omitted === 0) return Buffer.concat([...this.head, ...this.tail]).toString('utf8');
    return `${head}\n[... ${this.omitted} bytes omitted ...]\n${tail}`;
  }

  private get headMax(): number {
    return Math.ceil(this.maxBytes / 2);
  }
}
