/**
 * Byte-level primitives of the declarative codec: fixed-width integer reads/writes described by a
 * precompiled {@linkcode IntSpec}, protobuf varints and short UTF-8 strings. No DataView is allocated
 * per frame; reads are plain byte arithmetic on the caller's view.
 *
 * @module
 */

/** A fixed-width integer at a known place: everything `readInt` needs, computed once at compile time. */
export interface IntSpec {
  readonly offset: number;
  /** 1, 2, 4 or 8 bytes. */
  readonly width: number;
  readonly signed: boolean;
  readonly little: boolean;
}

/** Widths of the integer type names of a description. */
export const WIDTHS: Readonly<Record<string, number>> = {
  u8: 1,
  i8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  u64: 8,
  i64: 8,
};

/** Reads the unsigned integer of `width` bytes at `at` (64-bit values lose precision above 2^53). */
export function readUint(b: Uint8Array, at: number, width: number, little: boolean): number {
  switch (width) {
    case 1:
      return b[at];
    case 2:
      return little ? b[at] | (b[at + 1] << 8) : (b[at] << 8) | b[at + 1];
    case 4:
      return little
        ? (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16)) + b[at + 3] * 0x1000000
        : b[at] * 0x1000000 + ((b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]);
    default: {
      const hi = little ? readUint(b, at + 4, 4, true) : readUint(b, at, 4, false);
      const lo = little ? readUint(b, at, 4, true) : readUint(b, at + 4, 4, false);
      return hi * 0x100000000 + lo;
    }
  }
}

/** Reads the integer `spec` describes, relative to `base`. */
export function readInt(b: Uint8Array, base: number, spec: IntSpec): number {
  const v = readUint(b, base + spec.offset, spec.width, spec.little);
  if (!spec.signed) return v;
  switch (spec.width) {
    case 1:
      return (v << 24) >> 24;
    case 2:
      return (v << 16) >> 16;
    case 4:
      return v | 0;
    default:
      return v >= 2 ** 63 ? v - 2 ** 64 : v;
  }
}

/** Reads an unsigned 64-bit integer exactly (request ids that may exceed 2^53). */
export function readBigUint(b: Uint8Array, at: number, little: boolean): bigint {
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(b[little ? at + 7 - i : at + i]);
  return v;
}

/** Writes `value` (number or bigint, two's complement when negative) as `width` bytes at `at`. */
export function writeUint(
  b: Uint8Array,
  at: number,
  width: number,
  little: boolean,
  value: number | bigint,
): void {
  let v = BigInt.asUintN(width * 8, typeof value === "bigint" ? value : BigInt(Math.trunc(value)));
  for (let i = 0; i < width; i++) {
    b[little ? at + i : at + width - 1 - i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/** Largest value a fixed-width unsigned prefix of `width` bytes holds. */
export function maxUint(width: number): number {
  return width >= 7 ? Number.MAX_SAFE_INTEGER : 2 ** (width * 8) - 1;
}

/**
 * Position after a varint starting at `at`, or -1 when it is cut by `end` or longer than 10 bytes. The
 * value is left in {@linkcode varint.value} (module-level scratch: no allocation per read).
 */
export function readVarint(b: Uint8Array, at: number, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at >= end) return -1;
    const byte = b[at++];
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      varint.value = value;
      return at;
    }
    scale *= 128;
  }
  return -1;
}

/** Scratch result of {@linkcode readVarint}. */
export const varint = { value: 0 };

/** Bytes a varint of `value` (non-negative, or negative int32/int64 as 10 bytes) takes. */
export function varintSize(value: number): number {
  if (value < 0) return 10;
  let n = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

/** Writes `value` as a varint at `at`; returns the position after it. Negative values use 10 bytes. */
export function writeVarint(b: Uint8Array, at: number, value: number): number {
  if (value < 0) {
    let v = BigInt.asUintN(64, BigInt(Math.trunc(value)));
    for (let i = 0; i < 9; i++) {
      b[at++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    b[at++] = Number(v);
    return at;
  }
  while (value >= 128) {
    b[at++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  b[at++] = value;
  return at;
}

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

/** Decodes bytes [start, end) as UTF-8; short ASCII strings take a fast path without TextDecoder. */
export function utf8(b: Uint8Array, start: number, end: number): string {
  if (end - start <= 32) {
    let s = "";
    for (let i = start; i < end; i++) {
      const c = b[i];
      if (c >= 0x80) return utf8Decoder.decode(b.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8Decoder.decode(b.subarray(start, end));
}

/** UTF-8 bytes of `s` (for building replies and mutations, not on the decode path). */
export function utf8Bytes(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

/** Bytes of a hex string such as `"0930"`. */
export function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
