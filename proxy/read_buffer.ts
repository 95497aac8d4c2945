/**
 * A growable read buffer for one connection: bytes are read straight into its free tail, decoded from
 * its unconsumed window, and compacted (slid down) before it grows, up to a hard cap.
 *
 * @module
 */

/** Default hard cap on buffered unconsumed bytes per connection (one frame must fit). */
export const DEFAULT_MAX_BUFFER = 32 * 1024 * 1024;

/** Read buffer with compaction; see module doc. */
export class ReadBuffer {
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #max: number;

  constructor(initial = 64 * 1024, max = DEFAULT_MAX_BUFFER) {
    this.#buf = new Uint8Array(initial);
    this.#max = max;
  }

  /** Unconsumed bytes (a view; valid until the next `read`/`consume`). */
  view(): Uint8Array {
    return this.#buf.subarray(this.#start, this.#end);
  }

  /** Number of unconsumed bytes. */
  get length(): number {
    return this.#end - this.#start;
  }

  /** Marks `n` bytes consumed. */
  consume(n: number): void {
    this.#start += n;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  /**
   * Reads once from `conn` into the free tail, making room for at least `want` buffered bytes.
   * Returns the byte count, or `null` on EOF. Throws `RangeError` when `want` exceeds the cap.
   */
  async read(conn: Deno.Conn, want = 0): Promise<number | null> {
    this.#reserve(want);
    const n = await conn.read(this.#buf.subarray(this.#end));
    if (n !== null) this.#end += n;
    return n;
  }

  #reserve(want: number): void {
    const len = this.#end - this.#start;
    const need = Math.max(want, len + 4096);
    if (need > this.#max) {
      throw new RangeError(`Cannot buffer ${need} bytes: limit is ${this.#max}`);
    }
    if (this.#buf.length - this.#end >= 4096 && this.#buf.length - this.#start >= need) return;
    if (need <= this.#buf.length && this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end); // compact before growing
    } else {
      const next = new Uint8Array(Math.min(this.#max, Math.max(need, this.#buf.length * 2)));
      next.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = next;
    }
    this.#start = 0;
    this.#end = len;
  }
}
