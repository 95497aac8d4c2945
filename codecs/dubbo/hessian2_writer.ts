/**
 * Hessian2 string and untyped-map writing, size first then bytes, so callers allocate once.
 * Strings are written as Java's Hessian2Output does: length in UTF-16 units, CESU-8 data, chunks of
 * at most {@linkcode STRING_CHUNK} units that never split a surrogate pair.
 *
 * @module
 */

/** Longest string chunk written (as hessian.js and Java Hessian2Output). */
export const STRING_CHUNK = 0x8000;
const TAG_STR_CHUNK = 0x52; // 'R' non-final chunk, u16 length
const TAG_STR = 0x53; // 'S' final chunk, u16 length
const TAG_STR_MEDIUM = 0x30; // 0x30-0x33 + b0: length < 1024
const SHORT_MAX = 31; // 0x00-0x1f: length in the tag
const MEDIUM_MAX = 1023;
/** 'H': untyped map start. */
export const TAG_MAP_UNTYPED = 0x48;
/** 'Z': map end. */
export const TAG_END = 0x5a;

/** Bytes of the CESU-8 form of `s[from, to)`. */
function cesu8Size(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
  }
  return n;
}

/** End of the chunk starting at `from`: at most STRING_CHUNK units, not ending inside a surrogate pair. */
function chunkEnd(s: string, from: number): number {
  let to = Math.min(s.length, from + STRING_CHUNK);
  if (to < s.length) {
    const last = s.charCodeAt(to - 1);
    if (last >= 0xd800 && last <= 0xdbff) to--;
  }
  return to;
}

function headerSize(units: number, final: boolean): number {
  return !final || units > MEDIUM_MAX ? 3 : units > SHORT_MAX ? 2 : 1;
}

/** Encoded size of `s` as one Hessian2 string value. */
export function stringSize(s: string): number {
  let size = 0;
  let from = 0;
  do {
    const to = chunkEnd(s, from);
    size += headerSize(to - from, to === s.length) + cesu8Size(s, from, to);
    from = to;
  } while (from < s.length);
  return size;
}

/** Writes `s` as one Hessian2 string at `out[pos]`; returns the offset after it. */
export function writeString(out: Uint8Array, pos: number, s: string): number {
  let from = 0;
  do {
    const to = chunkEnd(s, from);
    const units = to - from;
    const final = to === s.length;
    if (!final || units > MEDIUM_MAX) {
      out[pos++] = final ? TAG_STR : TAG_STR_CHUNK;
      out[pos++] = units >> 8;
      out[pos++] = units & 0xff;
    } else if (units > SHORT_MAX) {
      out[pos++] = TAG_STR_MEDIUM + (units >> 8);
      out[pos++] = units & 0xff;
    } else {
      out[pos++] = units;
    }
    for (let i = from; i < to; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) out[pos++] = c;
      else if (c < 0x800) {
        out[pos++] = 0xc0 | (c >> 6);
        out[pos++] = 0x80 | (c & 0x3f);
      } else {
        out[pos++] = 0xe0 | (c >> 12);
        out[pos++] = 0x80 | ((c >> 6) & 0x3f);
        out[pos++] = 0x80 | (c & 0x3f);
      }
    }
    from = to;
  } while (from < s.length);
  return pos;
}
