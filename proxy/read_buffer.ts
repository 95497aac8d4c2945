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
    return this.#start === 0 && this.#end === this.#buf.length
      ? this.#buf
      : this.#buf.subarray(this.#start, this.#end);
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
   * The free tail to read into, after making room for at least `want` buffered bytes; report what was
   * read with {@linkcode ReadBuffer.filled}. When nothing is buffered this is the whole buffer itself (no
   * new view per read). Throws `RangeError` when `want` exceeds the cap.
   *
   * The read loop calls `conn.read(buf.tail(want))` directly rather than through an async helper, which
   * would add a promise per read.
   */
  tail(want = 0): Uint8Array {
    this.#reserve(want);
    return this.#end === 0 ? this.#buf : this.#buf.subarray(this.#end);
  }

  /** Marks `n` bytes just read into {@linkcode ReadBuffer.tail} as buffered. */
  filled(n: number): void {
    this.#end += n;
  }

  /** Reads once from `conn` into the free tail (see `tail`); the byte count, or `null` on EOF. */
  async read(conn: Deno.Conn, want = 0): Promise<number | null> {
    const n = await conn.read(this.tail(want));
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
