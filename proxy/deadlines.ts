/**
 * Request deadlines without one timer per request: entries with the same timeout expire in the order they
 * were added, so each distinct timeout gets a FIFO queue and a single timer armed for its oldest live entry.
 * Finished requests are skipped lazily (and trimmed from the head as new ones arrive), so a queue holds
 * about as many entries as there are requests in flight. A skipped slot is cleared at once: a finished
 * request left reachable from the array (until the next compaction) would survive young-generation GCs
 * and be promoted, which made the old generation grow by megabytes per second under load.
 *
 * @module
 */

/** Something that can expire. `expired()` is called at most once, only while `live()` is true. */
export interface Expirable {
  live(): boolean;
  expired(): void;
}

class Queue {
  #ms: number;
  /** Parallel arrays (no entry object per request): due times and items, live from `#head`. */
  #ats: number[] = [];
  #items: (Expirable | undefined)[] = [];
  #head = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #fireTask = () => this.#fire();

  constructor(ms: number) {
    this.#ms = ms;
  }

  add(item: Expirable): void {
    const items = this.#items;
    let head = this.#head;
    while (head < items.length && !items[head]!.live()) items[head++] = undefined; // let it be collected
    this.#head = head;
    if (head > 1024 && head * 2 > items.length) this.#compact();
    this.#ats.push(performance.now() + this.#ms);
    this.#items.push(item);
    if (this.#timer === undefined) this.#arm();
  }

  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#ats = [];
    this.#items = [];
    this.#head = 0;
  }

  #compact(): void {
    this.#ats = this.#ats.slice(this.#head);
    this.#items = this.#items.slice(this.#head);
    this.#head = 0;
  }

  #arm(): void {
    this.#timer = this.#head < this.#items.length
      ? setTimeout(this.#fireTask, Math.max(0, this.#ats[this.#head] - performance.now()))
      : undefined;
  }

  #fire(): void {
    const t = performance.now();
    const due: Expirable[] = [];
    const ats = this.#ats, items = this.#items;
    let head = this.#head;
    while (head < items.length) {
      const item = items[head]!;
      const live = item.live();
      if (live && ats[head] > t) break;
      items[head++] = undefined;
      if (live) due.push(item);
    }
    this.#head = head;
    if (head === items.length) {
      this.#ats = [];
      this.#items = [];
      this.#head = 0;
    } else if (head > 1024 && head * 2 > items.length) this.#compact();
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
