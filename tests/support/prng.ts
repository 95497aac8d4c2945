/**
 * mulberry32: a tiny seeded PRNG, so fuzz runs are reproducible from their seed.
 *
 * @module
 */

/** Uniform uint32 values. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Uniform values in [0, 1). */
export function unitPrng(seed: number): () => number {
  const next = prng(seed);
  return () => next() / 4294967296;
}
