/**
 * A consistent-hash ring: points (hash, value) sorted by hash; a key's hash picks the first point at or after
 * it, wrapping to the first. Shared by the `RING_HASH` load balancer and Redis's ketama-style distribution;
 * each brings its own point hashes.
 *
 * @module
 */
export class HashRing<T> {
  readonly #hashes: Uint32Array;
  readonly #values: T[];

  constructor(points: Iterable<readonly [number, T]>) {
    const sorted = [...points].sort((a, b) => a[0] - b[0]);
    this.#hashes = Uint32Array.from(sorted, (p) => p[0]);
    this.#values = sorted.map((p) => p[1]);
  }

  /** Number of points. */
  get size(): number {
    return this.#values.length;
  }

  /** The value of the first point at or after `hash` (uint32), wrapping. The ring must not be empty. */
  pick(hash: number): T {
    const hashes = this.#hashes;
    let lo = 0;
    let hi = hashes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (hashes[mid] < hash) lo = mid + 1;
      else hi = mid;
    }
    return this.#values[lo === hashes.length ? 0 : lo];
  }
}
