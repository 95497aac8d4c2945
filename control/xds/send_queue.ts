/**
 * A server-wide byte budget for SotW responses being written. A response is written in pieces of the
 * snapshot's shared bytes (`chunked_writer.ts`; where that is unavailable, as a fresh copy through grpc-js),
 * and the HTTP/2 layer copies each piece; with many streams syncing at once, every stream's LDS+CDS+RDS+EDS
 * would otherwise be in that layer together. Writes wait in one FIFO (so each stream's order is kept) and are
 * framed only when the bytes in flight drop under the budget; a write larger than the budget goes out alone.
 *
 * @module
 */

/** Default bytes in flight across all streams. */
export const DEFAULT_SEND_BUDGET = 8 * 1024 * 1024;

interface Pending {
  readonly channel: SendChannel;
  readonly size: number;
  readonly write: (done: () => void) => void;
}

/** What to run after every `every` bytes written (e.g. a full GC that frees the written copies). */
export interface AfterWrites {
  readonly every: number;
  readonly run: () => void;
}

/** The budget and the queue of writes waiting for it. */
export class SendQueue {
  readonly budget: number;
  #inFlight = 0;
  #queue: Pending[] = [];
  #head = 0;
  #after: AfterWrites | undefined;
  #written = 0;
  #scheduled = false;

  constructor(budget = DEFAULT_SEND_BUDGET, after?: AfterWrites) {
    this.budget = budget;
    this.#after = after;
  }

  /** Bytes handed to streams and not yet written. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Writes waiting for the budget. */
  get waiting(): number {
    return this.#queue.length - this.#head;
  }

  /** A channel for one stream; close it when the stream ends (releases its bytes, drops its waiting writes). */
  channel(): SendChannel {
    return new SendChannel(this);
  }

  /** @internal */
  enqueue(item: Pending): void {
    this.#queue.push(item);
    this.#pump();
  }

  /** @internal */
  release(size: number): void {
    this.#inFlight -= size;
    this.#written += size;
    if (this.#after && this.#written >= this.#after.every && !this.#scheduled) {
      this.#scheduled = true;
      // Outside the write callback: the released copy is unreferenced by then.
      setTimeout(() => {
        this.#scheduled = false;
        this.#written = 0;
        this.#after?.run();
      }, 0);
    }
    this.#pump();
  }

  #pump(): void {
    while (this.#head < this.#queue.length) {
      const item = this.#queue[this.#head];
      if (item.channel.closed) {
        this.#head++;
        continue;
      }
      if (this.#inFlight > 0 && this.#inFlight + item.size > this.budget) break;
      this.#head++;
      this.#inFlight += item.size;
      item.channel.start(item.size, item.write);
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}

/** One stream's writes through a {@linkcode SendQueue}. */
export class SendChannel {
  #queue: SendQueue;
  #open = new Set<{ size: number }>();
  closed = false;

  constructor(queue: SendQueue) {
    this.#queue = queue;
  }

  /**
   * Queues a write of about `size` bytes. `write` runs when the budget allows; it must call `done` once the
   * bytes are written (or failed).
   */
  send(size: number, write: (done: () => void) => void): void {
    if (this.closed) return;
    this.#queue.enqueue({ channel: this, size, write });
  }

  /** @internal */
  start(size: number, write: (done: () => void) => void): void {
    const token = { size };
    this.#open.add(token);
    const done = () => {
      if (!this.#open.delete(token)) return;
      this.#queue.release(size);
    };
    try {
      write(done);
    } catch (error) {
      done();
      throw error;
    }
  }

  /** Drops waiting writes and releases the bytes of writes that will never report back. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    let size = 0;
    for (const token of this.#open) size += token.size;
    this.#open.clear();
    if (size > 0) this.#queue.release(size);
  }
}
