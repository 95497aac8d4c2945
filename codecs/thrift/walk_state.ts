/**
 * The shared state of one message walk: input bounds, limits, and what the message header said.
 * Walk functions return a position (≥ 0) or {@linkcode NEED_MORE} / {@linkcode MALFORMED}; no exceptions
 * on the data path. One instance lives per codec and is reset per decode.
 *
 * @module
 */
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_FRAME_SIZE } from "./constants.ts";

/** Walk result: the input ends before the message does; `needAt` holds the total length worth retrying at. */
export const NEED_MORE = -1;
/** Walk result: the bytes break the protocol or a limit; `reason` says how. */
export const MALFORMED = -2;

const EMPTY = new Uint8Array(0);

/** Mutable scratch state of a walk (reused; never escapes a decode call). */
export class WalkState {
  /** Bytes being walked and the exclusive end of the readable region. */
  bytes: Uint8Array = EMPTY;
  end = 0;
  /** Limits: nesting depth and the largest length (string, container bytes) accepted. */
  maxDepth: number = DEFAULT_MAX_DEPTH;
  maxLength: number = DEFAULT_MAX_FRAME_SIZE;
  /** Set on NEED_MORE: total bytes needed (a lower bound). */
  needAt = 0;
  /** Set on MALFORMED. */
  reason = "";
  /** Last varint read (compact). */
  varint = 0;
  /** Message header facts. */
  messageType = 0;
  nameStart = 0;
  nameEnd = 0;
  seqid = 0;
  seqidOffset = 0;
  seqidLength = 0;
  lax = false;
  /** Id of the first field of the body struct, or -1 when it is empty (for replies: 0 = success). */
  firstFieldId = -1;

  /** Points the walk at `bytes[0, end)`. */
  reset(bytes: Uint8Array, end: number): void {
    this.bytes = bytes;
    this.end = end;
    this.needAt = 0;
    this.reason = "";
    this.firstFieldId = -1;
    this.lax = false;
  }
}

/** Records that `needAt` bytes are needed; returns NEED_MORE. */
export function needMore(s: WalkState, needAt: number): number {
  s.needAt = needAt;
  return NEED_MORE;
}

/** Records `reason`; returns MALFORMED. */
export function malformed(s: WalkState, reason: string): number {
  s.reason = reason;
  return MALFORMED;
}

/**
 * Skips `count` container elements (key–value pairs when `valueType` ≥ 0) of at least `each` bytes apiece with
 * the protocol's `skipValue`: `count` is checked against the length limit and the bytes at hand before looping,
 * so a forged count costs nothing.
 */
export function skipEntries(
  s: WalkState,
  pos: number,
  count: number,
  each: number,
  keyType: number,
  valueType: number,
  depth: number,
  skipValue: (s: WalkState, type: number, pos: number, depth: number) => number,
): number {
  if (count < 0 || count * each > s.maxLength) {
    return malformed(s, `container size ${count} exceeds limit ${s.maxLength}`);
  }
  if (pos + count * each > s.end) return needMore(s, pos + count * each);
  for (let i = 0; i < count; i++) {
    pos = skipValue(s, keyType, pos, depth + 1);
    if (pos < 0) return pos;
    if (valueType >= 0) {
      pos = skipValue(s, valueType, pos, depth + 1);
      if (pos < 0) return pos;
    }
  }
  return pos;
}

/** Reads a big-endian i32 (signed) at `pos`; the caller checked bounds. */
export function readI32(b: Uint8Array, pos: number): number {
  return (b[pos] << 24) | (b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3];
}

/** Reads a big-endian u16 at `pos`; the caller checked bounds. */
export function readU16(b: Uint8Array, pos: number): number {
  return (b[pos] << 8) | b[pos + 1];
}

/** Writes a big-endian i32 at `pos`. */
export function writeI32(b: Uint8Array, pos: number, value: number): void {
  b[pos] = value >>> 24;
  b[pos + 1] = value >>> 16;
  b[pos + 2] = value >>> 8;
  b[pos + 3] = value;
}

/** Whether `b[start, end)` is printable ASCII (how lax binary method names are told from lengths). */
export function isPrintable(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i] < 0x20 || b[i] > 0x7e) return false;
  return true;
}
