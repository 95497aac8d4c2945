/**
 * Hessian2 string data to JS strings: lengths count UTF-16 units; Java writes CESU-8 (each surrogate as
 * its own 3-byte sequence), other writers UTF-8. Short ASCII strings are interned because the same
 * interface, method and attachment keys arrive on every request.
 *
 * @module
 */

const utf8 = new TextDecoder();

/** Interned short ASCII strings (interface, method, attachment keys repeat on every request). */
const INTERN_MAX_LENGTH = 64;
const INTERN_SLOTS = 1024; // power of two; a hostile peer can only make it miss
const interned: (string | undefined)[] = new Array(INTERN_SLOTS);

/** Decodes `bytes[start, end)` (UTF-8 or CESU-8) holding `chars` UTF-16 units. */
export function decodeText(bytes: Uint8Array, start: number, end: number, chars: number): string {
  if (end - start === chars) {
    if (chars <= INTERN_MAX_LENGTH) return internAscii(bytes, start, end);
    if (chars <= 256) {
      return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
    }
    return utf8.decode(bytes.subarray(start, end));
  }
  // CESU-8 surrogates (0xED 0xA0-0xBF ..) are not valid UTF-8: decode those by hand.
  for (let p = start; p < end - 1; p++) {
    if (bytes[p] === 0xed && bytes[p + 1] >= 0xa0) return decodeCesu8(bytes, start, end);
  }
  return utf8.decode(bytes.subarray(start, end));
}

/** Returns the cached string equal to the ASCII bytes, decoding (and caching) it on a miss. */
function internAscii(bytes: Uint8Array, start: number, end: number): string {
  let hash = 0x811c9dc5; // FNV-1a
  for (let p = start; p < end; p++) hash = Math.imul(hash ^ bytes[p], 0x01000193);
  const slot = (hash >>> 0) & (INTERN_SLOTS - 1);
  const cached = interned[slot];
  if (cached !== undefined && cached.length === end - start) {
    let same = true;
    for (let i = 0; i < cached.length; i++) {
      if (cached.charCodeAt(i) !== bytes[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return cached;
  }
  const text = String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
  interned[slot] = text;
  return text;
}

function decodeCesu8(bytes: Uint8Array, start: number, end: number): string {
  const units: number[] = [];
  let p = start;
  while (p < end) {
    const c = bytes[p];
    if (c < 0x80) {
      units.push(c);
      p += 1;
    } else if (c < 0xe0) {
      units.push(((c & 0x1f) << 6) | (bytes[p + 1] & 0x3f));
      p += 2;
    } else if (c < 0xf0) {
      units.push(((c & 0x0f) << 12) | ((bytes[p + 1] & 0x3f) << 6) | (bytes[p + 2] & 0x3f));
      p += 3;
    } else {
      const cp = ((c & 0x07) << 18) | ((bytes[p + 1] & 0x3f) << 12) | ((bytes[p + 2] & 0x3f) << 6) |
        (bytes[p + 3] & 0x3f);
      units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
      p += 4;
    }
  }
  return String.fromCharCode(...units);
}
