/**
 * Write coalescing for one connection: frames pushed during one tick (for example every response decoded
 * from one upstream read) leave in a single `write` call. Writes are never interleaved.
 *
 * @module
 */

/** Bytes a writer may hold for a peer that does not read before the connection is dropped. */
export const MAX_QUEUED = 64 * 1024 * 1024;

/** Queues frames and writes them in batches; see module doc. */
export class ConnWriter {
  #conn: Deno.Conn;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #busy = false;
  #closed = false;
  #onError: (error: unknown) => void;
  #idle: (() => void) | undefined;
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
      queueMicrotask(() => this.#drain());
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
        const chunk = q.length === 1 ? q[0] : concat(q, this.#queued);
        this.#queue = [];
        this.#queued = 0;
        let off = 0;
        while (off < chunk.length) off += await this.#conn.write(chunk.subarray(off));
        this.written += chunk.length;
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
}

/** Concatenates `parts` (total length `size`). */
export function concat(parts: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
