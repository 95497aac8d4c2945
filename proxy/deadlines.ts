/**
 * Request deadlines without one timer per request: entries with the same timeout expire in the order they
 * were added, so each distinct timeout gets a FIFO queue and a single timer armed for its oldest live entry.
 * Finished requests are skipped lazily (and trimmed from the head as new ones arrive), so a queue holds
 * about as many entries as there are requests in flight.
 *
 * @module
 */

/** Something that can expire. `expired()` is called at most once, only while `live()` is true. */
export interface Expirable {
  live(): boolean;
  expired(): void;
}

interface Entry {
  at: number;
  item: Expirable;
}

class Queue {
  #ms: number;
  #entries: Entry[] = [];
  #head = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ms: number) {
    this.#ms = ms;
  }

  add(item: Expirable): void {
    while (this.#head < this.#entries.length && !this.#entries[this.#head].item.live()) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    this.#entries.push({ at: performance.now() + this.#ms, item });
    if (this.#timer === undefined) this.#arm();
  }

  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#entries = [];
    this.#head = 0;
  }

  #arm(): void {
    const first = this.#entries[this.#head];
    this.#timer = first === undefined
      ? undefined
      : setTimeout(() => this.#fire(), Math.max(0, first.at - performance.now()));
  }

  #fire(): void {
    const now = performance.now();
    const due: Expirable[] = [];
    while (this.#head < this.#entries.length) {
      const e = this.#entries[this.#head];
      if (e.item.live() && e.at > now) break;
      this.#head++;
      if (e.item.live()) due.push(e.item);
    }
    if (this.#head === this.#entries.length) {
      this.#entries = [];
      this.#head = 0;
    }
    this.#arm();
    for (const item of due) if (item.live()) item.expired();
  }
}

/** Deadline queues by timeout value; one instance per proxy runtime. */
export class Deadlines {
  #queues = new Map<number, Queue>();

  /** Calls `item.expired()` after `ms` unless `item.live()` has turned false by then. */
  add(ms: number, item: Expirable): void {
    let q = this.#queues.get(ms);
    if (!q) this.#queues.set(ms, q = new Queue(ms));
    q.add(item);
  }

  /** Cancels every timer (the runtime is closing). */
  close(): void {
    for (const q of this.#queues.values()) q.close();
    this.#queues.clear();
  }
}
