/**
 * Requests waiting for a response on one multiplexed upstream connection, by the id the proxy gave them.
 *
 * Ids are `generation × capacity + slot + 1`: a request lives in array slot `(id - 1) & (capacity - 1)`,
 * so lookups need no hashing and no Map. A `Map` here reallocated its table as it filled and drained on
 * every batch, and each discarded (promoted) table kept finished requests reachable past young-generation
 * GCs. A slot moves to its next generation each time it is freed, so an id is not handed out again until
 * the ids wrap at {@linkcode MAX_ID} (like a counter): a late or duplicate answer never matches a newer
 * request. (Reusing answered ids would keep them short, which would let codecs with varint ids rewrite them
 * in place, but would deliver a misbehaving upstream's duplicate answer to the wrong request.)
 *
 * @module
 */

/** Largest id handed out (fits every protocol's id field; the narrowest is a signed 32-bit int). */
export const MAX_ID = 0x7fffffff;

/** See module doc. `T` is what waits (the request's callbacks). */
export class PendingSlots<T> {
  #items: (T | undefined)[] = [];
  #ids: number[] = [];
  #gens: number[] = [];
  #free: number[] = [];
  #count = 0;

  constructor(capacity = 64) {
    this.#resize(capacity, 0);
  }

  /** Requests waiting. */
  get size(): number {
    return this.#count;
  }

  /** Current number of slots (grows by doubling when all are taken). */
  get capacity(): number {
    return this.#items.length;
  }

  /** Takes a free slot and returns its id; `item` waits there (`undefined`: nothing waits, see `send`). */
  add(item: T | undefined): number {
    if (this.#free.length === 0) this.#grow();
    const n = this.#items.length;
    const slot = this.#free.pop()!;
    let id = this.#gens[slot] * n + slot + 1;
    if (id > MAX_ID) {
      this.#gens[slot] = 0;
      id = slot + 1;
    }
    if (item === undefined) {
      this.#retire(slot); // nothing waits; an answer that comes anyway is unknown
      return id;
    }
    this.#items[slot] = item;
    this.#ids[slot] = id;
    this.#count++;
    return id;
  }

  /** Removes and returns what waits for `id` (undefined when unknown or already gone). */
  take(id: number): T | undefined {
    const slot = this.#slotOf(id);
    if (slot < 0) return undefined;
    const item = this.#items[slot];
    this.#items[slot] = undefined;
    this.#count--;
    this.#retire(slot);
    return item;
  }

  /** Forgets `id` if `item` still waits there (its answer, if it still comes, is then unknown). */
  cancel(id: number, item: T): boolean {
    const slot = this.#slotOf(id);
    if (slot < 0 || this.#items[slot] !== item) return false;
    this.#items[slot] = undefined;
    this.#count--;
    this.#retire(slot);
    return true;
  }

  /** Removes and returns everything waiting (the connection closed). */
  drain(): T[] {
    const out: T[] = [];
    for (let slot = 0; slot < this.#items.length; slot++) {
      const item = this.#items[slot];
      if (item === undefined) continue;
      out.push(item);
      this.#items[slot] = undefined;
      this.#retire(slot);
    }
    this.#count = 0;
    return out;
  }

  /** The slot where `id` waits, or -1. */
  #slotOf(id: number): number {
    if (!Number.isInteger(id) || id < 1) return -1;
    const slot = (id - 1) & (this.#items.length - 1);
    return this.#items[slot] !== undefined && this.#ids[slot] === id ? slot : -1;
  }

  #retire(slot: number): void {
    this.#gens[slot]++;
    this.#free.push(slot);
  }

  #grow(): void {
    const items = this.#items, ids = this.#ids;
    // Every new id must differ from any old one whose answer may still come: start above all of them.
    let gen = 0;
    for (const g of this.#gens) gen = Math.max(gen, g + 1);
    this.#resize(items.length * 2, gen);
    for (let i = 0; i < items.length; i++) {
      if (items[i] === undefined) continue;
      const slot = (ids[i] - 1) & (this.#items.length - 1); // distinct: the old slots differed in fewer bits
      this.#items[slot] = items[i];
      this.#ids[slot] = ids[i];
      this.#count++;
    }
    this.#free = this.#free.filter((s) => this.#items[s] === undefined);
    items.fill(undefined); // the old array may be promoted garbage: it must not keep requests reachable
  }

  #resize(n: number, gen: number): void {
    this.#items = new Array(n).fill(undefined);
    this.#ids = new Array(n).fill(0);
    this.#gens = new Array(n).fill(gen);
    this.#free = [];
    for (let s = n - 1; s >= 0; s--) this.#free.push(s); // pop() hands out low slots first
    this.#count = 0;
  }
}
