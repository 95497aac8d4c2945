import { concatBytes } from "../../crds/bytes.ts";
/**
 * Batched writes to a Deno.Conn: chunks pushed during one synchronous batch (one downstream read, one
 * upstream read) go out as one `write`, one write in flight at a time. Optionally holds bytes until a
 * size or a delay is reached (RedisProxy `max_buffer_size_before_flush` / `buffer_flush_timeout`).
 *
 * @module
 */

/** Options of a {@linkcode BatchWriter}. */
export interface BatchWriterOptions {
  /** Hold writes until this many bytes are pending (0 = flush every batch). */
  holdBytes?: number;
  /** With `holdBytes`, flush anyway after this many ms. */
  holdMs?: number;
  /** Called once when a write fails; the writer is closed after it. */
  onError?: (error: unknown) => void;
}

/** Coalescing writer; see the module doc. */
export class BatchWriter {
  #conn: Deno.Conn | null = null;
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  #writing = false;
  #scheduled = false;
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #waiters: (() => void)[] = [];
  readonly #holdBytes: number;
  readonly #holdMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #flushFn = (): void => this.#flush();
  readonly #writtenFn = (n: number): void => this.#written(n);
  readonly #failedFn = (error: unknown): void => this.#failed(error);
  /** The chunk array swapped in while the other is written (no array per write). */
  #spare: Uint8Array[] = [];
  /** What the write in flight still has to write, and the bytes of the whole batch. */
  #inflight: Uint8Array | null = null;
  #inflightBytes = 0;

  constructor(conn: Deno.Conn | null, options: BatchWriterOptions = {}) {
    this.#conn = conn;
    this.#holdBytes = options.holdBytes ?? 0;
    this.#holdMs = options.holdMs ?? 3;
    this.#onError = options.onError ?? (() => {});
  }

  /** Bytes accepted but not yet written. */
  get pendingBytes(): number {
    return this.#bytes;
  }

  /** Starts writing to `conn` (for connections that were still connecting when data arrived). */
  attach(conn: Deno.Conn): void {
    this.#conn = conn;
    if (this.#chunks.length > 0) this.#schedule();
  }

  /** Queues `chunk` (kept by reference: the caller must not rewrite it). */
  push(chunk: Uint8Array): void {
    if (this.#closed) return;
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    if (this.#holdBytes > 0 && this.#bytes < this.#holdBytes) {
      this.#timer ??= setTimeout(this.#flushFn, this.#holdMs);
      return;
    }
    this.#schedule();
  }

  /** Resolves once everything pushed so far is written (or the writer closed). */
  drained(): Promise<void> {
    if (this.#bytes === 0 || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Drops pending data and stops; later pushes are ignored. */
  close(): void {
    this.#closed = true;
    this.#chunks = [];
    this.#bytes = 0;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wake();
  }

  #schedule(): void {
    if (this.#scheduled || this.#writing) return;
    this.#scheduled = true;
    queueMicrotask(this.#flushFn);
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#conn === null || this.#writing || this.#closed || this.#chunks.length === 0) return;
    this.#writeNext(this.#conn);
  }

  /** Writes everything pending as one buffer. No async function: one promise per write. */
  #writeNext(conn: Deno.Conn): void {
    const chunks = this.#chunks;
    this.#chunks = this.#spare;
    const data = chunks.length === 1 ? chunks[0] : concatBytes(chunks);
    chunks.length = 0;
    this.#spare = chunks;
    this.#writing = true;
    this.#inflight = data;
    this.#inflightBytes = data.length;
    this.#write(conn, data);
  }

  #write(conn: Deno.Conn, data: Uint8Array): void {
    try {
      conn.write(data).then(this.#writtenFn, this.#failedFn);
    } catch (error) {
      this.#failed(error);
    }
  }

  #written(n: number): void {
    const conn = this.#conn;
    if (this.#closed || conn === null) return this.#failed(null);
    const data = this.#inflight!;
    if (n < data.length) {
      this.#inflight = data.subarray(n);
      return this.#write(conn, this.#inflight);
    }
    this.#inflight = null;
    this.#bytes -= this.#inflightBytes;
    if (this.#chunks.length > 0) return this.#writeNext(conn);
    this.#writing = false;
    if (this.#bytes === 0) this.#wake();
  }

  #failed(error: unknown): void {
    this.#writing = false;
    this.#inflight = null;
    if (!this.#closed) {
      this.close();
      this.#onError(error);
    } else {
      this.#wake();
    }
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
