/**
 * Write coalescing for one connection: frames pushed during one tick (for example every response decoded
 * from one upstream read) leave in a single `write` call. Writes are never interleaved. A single queued
 * frame is written as is; several are copied into one scratch buffer the writer keeps and reuses (one
 * write is in flight at a time, so the buffer is free again once it resolves).
 *
 * @module
 */

/** Bytes a writer may hold for a peer that does not read before the connection is dropped. */
export const MAX_QUEUED = 64 * 1024 * 1024;
/** Largest batch copied into the reusable scratch buffer; bigger batches get a buffer of their own. */
export const MAX_SCRATCH = 64 * 1024;

/** Queues frames and writes them in batches; see module doc. */
export class ConnWriter {
  #conn: Deno.Conn;
  #queue: Uint8Array[] = [];
  #spare: Uint8Array[] = [];
  #queued = 0;
  #busy = false;
  #closed = false;
  #onError: (error: unknown) => void;
  #idle: (() => void) | undefined;
  #scratch: Uint8Array | undefined;
  #drainTask = () => this.#drain();
  /** Bytes written so far. */
  written = 0;

  constructor(conn: Deno.Conn, onError: (error: unknown) => void = () => {}) {
    this.#conn = conn;
    this.#onError = onError;
  }

  /** Whether a write failed or `close` was called; pushes are then dropped. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes queued but not yet written. */
  get pending(): number {
    return this.#queued;
  }

  /**
   * Queues `bytes` (the writer takes ownership; the caller must not modify them afterwards). A peer that
   * stops reading while more than {@linkcode MAX_QUEUED} bytes pile up is cut off (`onError`).
   */
  push(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#queue.push(bytes);
    this.#queued += bytes.length;
    if (this.#queued > MAX_QUEUED) {
      this.close();
      this.#onError(new RangeError(`Cannot queue more than ${MAX_QUEUED} bytes: the peer is not reading`));
      return;
    }
    if (!this.#busy) {
      this.#busy = true;
      queueMicrotask(this.#drainTask);
    }
  }

  /** Resolves when everything queued so far has been written (or the writer failed). */
  flushed(): Promise<void> {
    if (!this.#busy) return Promise.resolve();
    return new Promise((resolve) => {
      const prev = this.#idle;
      this.#idle = () => {
        prev?.();
        resolve();
      };
    });
  }

  /** Drops anything queued and refuses further pushes. */
  close(): void {
    this.#closed = true;
    this.#queue = [];
    this.#queued = 0;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const q = this.#queue;
        const chunk = q.length === 1 ? q[0] : this.#batch(q, this.#queued);
        this.#queue = this.#spare; // the two queue arrays alternate: no new array per batch
        this.#queued = 0;
        let off = await this.#conn.write(chunk);
        while (off < chunk.length) off += await this.#conn.write(chunk.subarray(off));
        this.written += chunk.length;
        q.length = 0;
        this.#spare = q;
      }
    } catch (error) {
      this.close();
      this.#onError(error);
    } finally {
      this.#busy = false;
      const idle = this.#idle;
      this.#idle = undefined;
      idle?.();
    }
  }

  /** `q` (total length `size`) in one array: a view of the scratch buffer when the batch is small. */
  #batch(q: readonly Uint8Array[], size: number): Uint8Array {
    if (size > MAX_SCRATCH) return concat(q, size);
    if (this.#scratch === undefined || this.#scratch.length < size) {
      this.#scratch = new Uint8Array(Math.min(MAX_SCRATCH, Math.max(size, 4096) * 2));
    }
    return concat(q, size, this.#scratch);
  }
}

/** Concatenates `parts` (total length `size`) into `into` (a new array by default); returns the filled view. */
export function concat(parts: readonly Uint8Array[], size: number, into?: Uint8Array): Uint8Array {
  const out = into ? into.subarray(0, size) : new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
