/**
 * RESP2 encoders: commands (arrays of bulk strings) and replies. Each computes the exact size first and
 * fills one buffer.
 *
 * @module
 */
import { RespType, type RespValue } from "./resp.ts";

const encoder = new TextEncoder();

function digits(n: number): number {
  return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : String(n).length;
}

function writeNumber(out: Uint8Array, off: number, n: number): number {
  if (n < 10) {
    out[off] = 0x30 + n;
    return off + 1;
  }
  const s = String(n);
  for (let i = 0; i < s.length; i++) out[off + i] = s.charCodeAt(i);
  return off + s.length;
}

function writeHeader(out: Uint8Array, off: number, type: number, n: number): number {
  out[off++] = type;
  off = writeNumber(out, off, n);
  out[off++] = 0x0d;
  out[off++] = 0x0a;
  return off;
}

/** Encodes a command as an array of bulk strings (strings are UTF-8 encoded). */
export function encodeCommand(args: readonly (Uint8Array | string)[]): Uint8Array {
  const bytes = args.map((a) => typeof a === "string" ? encoder.encode(a) : a);
  let size = 3 + digits(bytes.length);
  for (const b of bytes) size += 5 + digits(b.length) + b.length;
  const out = new Uint8Array(size);
  let off = writeHeader(out, 0, RespType.ARRAY, bytes.length);
  for (const b of bytes) {
    off = writeHeader(out, off, RespType.BULK, b.length);
    out.set(b, off);
    off += b.length;
    out[off++] = 0x0d;
    out[off++] = 0x0a;
  }
  return out;
}

/** `-<message>\r\n`; CR and LF in the message become spaces so the reply stays one line. */
export function encodeError(message: string): Uint8Array {
  return encoder.encode(`-${message.replace(/[\r\n]+/g, " ")}\r\n`);
}

/** `+<text>\r\n`. */
export function encodeSimple(text: string): Uint8Array {
  return encoder.encode(`+${text}\r\n`);
}

/** `:<n>\r\n`. */
export function encodeInteger(n: number): Uint8Array {
  return encoder.encode(`:${n}\r\n`);
}

/** `$<len>\r\n<bytes>\r\n`, or the null bulk for `null`. */
export function encodeBulk(value: Uint8Array | string | null): Uint8Array {
  if (value === null) return NULL_BULK;
  const b = typeof value === "string" ? encoder.encode(value) : value;
  const out = new Uint8Array(5 + digits(b.length) + b.length);
  const off = writeHeader(out, 0, RespType.BULK, b.length);
  out.set(b, off);
  out[off + b.length] = 0x0d;
  out[off + b.length + 1] = 0x0a;
  return out;
}

/** An array whose elements are already-encoded values. */
export function encodeArray(elements: readonly Uint8Array[]): Uint8Array {
  let size = 3 + digits(elements.length);
  for (const e of elements) size += e.length;
  const out = new Uint8Array(size);
  let off = writeHeader(out, 0, RespType.ARRAY, elements.length);
  for (const e of elements) {
    out.set(e, off);
    off += e.length;
  }
  return out;
}

/** Builds a synthetic reply value (for locally generated replies that flow where decoded ones do). */
export function errorValue(message: string): RespValue {
  const raw = encodeError(message);
  return { type: RespType.ERROR, raw, data: raw.subarray(1, raw.length - 2), items: null };
}

/** `+OK\r\n`. */
export const OK: Uint8Array = encodeSimple("OK");
/** `+PONG\r\n`. */
export const PONG: Uint8Array = encodeSimple("PONG");
/** `$-1\r\n`. */
export const NULL_BULK: Uint8Array = encoder.encode("$-1\r\n");
