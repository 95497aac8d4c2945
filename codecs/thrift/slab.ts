/**
 * New arrays for frames that change length (a compact seqid varint growing or shrinking) carved from
 * shared slabs: one `ArrayBuffer` per 64 KiB instead of one per frame. A fresh `Uint8Array` costs several
 * times a 40-byte copy (its backing store is external memory the GC accounts for); a view into a slab does
 * not. A view keeps its slab alive while referenced (frames are written and dropped); frames above 4 KiB
 * get their own buffer. Views are never handed out twice, so their bytes start zeroed.
 *
 * @module
 */

const SLAB = 64 * 1024;
const MAX_SMALL = 4 * 1024;
let slab = new Uint8Array(SLAB);
let used = 0;

/** A new zero-filled array of `n` bytes (a view into a slab when small). */
export function allocate(n: number): Uint8Array {
  if (n > MAX_SMALL) return new Uint8Array(n);
  if (used + n > SLAB) {
    slab = new Uint8Array(SLAB);
    used = 0;
  }
  const out = slab.subarray(used, used + n);
  used += (n + 7) & ~7; // 8-byte aligned, like the proxy's copies
  return out;
}
