/**
 * Byte helpers shared by codecs, the xDS wire code and test peers.
 *
 * @module
 */

/** Concatenates `parts` into one new array (one allocation, one copy each). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const part of parts) size += part.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
