/**
 * Copies of small frames carved from shared slabs: one `ArrayBuffer` per 256 KiB instead of one per frame,
 * which keeps allocation and GC (ArrayBuffer backing stores are external memory) off the hot path. A copy
 * keeps its slab alive while referenced; frames above 16 KiB get their own buffer.
 *
 * @module
 */

const SLAB = 256 * 1024;
const MAX_SMALL = 16 * 1024;
let slab = new Uint8Array(SLAB);
let used = 0;

/** A private, writable copy of `src` (a view into a slab for small inputs). */
export function copyBytes(src: Uint8Array): Uint8Array {
  const n = src.length;
  if (n > MAX_SMALL) return src.slice();
  if (used + n > SLAB) {
    slab = new Uint8Array(SLAB);
    used = 0;
  }
  const out = slab.subarray(used, used + n);
  out.set(src);
  used += (n + 7) & ~7; // keep 8-byte alignment for codecs that use DataView on the copy
  return out;
}
