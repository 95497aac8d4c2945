/**
 * Allocation-free RESP2 scanners for the proxy's hot path. They find where a command or a reply ends
 * and where a command's name and first key are, without building values: the proxy forwards the
 * original bytes. They handle the common shapes only and answer {@linkcode SLOW} for anything else
 * (inline commands, nested requests, bad bytes, limits exceeded, very long arrays), so the caller lets
 * the full {@linkcode RespDecoder} decode the value and report errors exactly as before.
 *
 * Scans restart from the value's first byte on every call; they are bounded (at most
 * {@linkcode MAX_FAST_ARGS} arguments, {@linkcode MAX_FAST_ELEMENTS} reply elements) and skip bulk
 * bodies by length, so a value arriving over many reads costs little to rescan.
 *
 * @module
 */
import { RespType } from "./resp.ts";

/** More bytes are needed. */
export const NEED_MORE = 0;
/** A complete value was found (see the scan record). */
export const FOUND = 1;
/** Not a shape the fast scanner handles: decode with the full decoder. */
export const SLOW = -1;

/** Commands with more arguments than this take the full decoder (bounds rescans). */
export const MAX_FAST_ARGS = 64;
/** Replies with more elements than this (nested included) take the full decoder. */
export const MAX_FAST_ELEMENTS = 1024;
/** Longest simple-string / error / integer line the fast reply scanner looks through. */
const MAX_FAST_LINE = 4096;
/** Deepest nesting the fast reply scanner follows. */
const MAX_FAST_DEPTH = 8;
/** A length header has at most 15 digits (as in the full decoder). */
const MAX_DIGITS = 15;

const CR = 0x0d;
const LF = 0x0a;

/** Where the last scan found things (reused: one record per connection). */
export class ScanRecord {
  /** End (exclusive) of the value. */
  end = 0;
  /** Type byte of a reply. */
  type = 0;
  /** Arguments of a command. */
  argc = 0;
  nameStart = 0;
  nameEnd = 0;
  /** First argument after the name (`keyStart === keyEnd` when there is none). */
  keyStart = 0;
  keyEnd = 0;
  /** Number parsed by the last header. */
  num = 0;
}

/**
 * Parses `<type><digits>\r\n` at `pos` (digits may be `-1` when `allowNull`): the index after the LF
 * with the number in `out.num`, {@linkcode NEED_MORE} (0) or {@linkcode SLOW}.
 */
function header(buf: Uint8Array, pos: number, end: number, out: ScanRecord, allowNull: boolean): number {
  let i = pos + 1;
  if (allowNull && i < end && buf[i] === 0x2d) {
    if (i + 3 >= end) return NEED_MORE;
    if (buf[i + 1] !== 0x31 || buf[i + 2] !== CR || buf[i + 3] !== LF) return SLOW;
    out.num = -1;
    return i + 4;
  }
  let n = 0;
  const stop = Math.min(end, i + MAX_DIGITS + 1);
  for (; i < stop; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
  }
  if (i >= end) return NEED_MORE;
  if (buf[i] !== CR || i === pos + 1) return SLOW;
  if (i + 1 >= end) return NEED_MORE;
  if (buf[i + 1] !== LF) return SLOW;
  out.num = n;
  return i + 2;
}

/**
 * Scans a request `*N\r\n` of N bulk strings starting at `pos` (which must be `< end`). On
 * {@linkcode FOUND}, `out` has its end, argument count, name and first-key offsets.
 */
export function scanCommand(
  buf: Uint8Array,
  pos: number,
  end: number,
  out: ScanRecord,
  maxBulk: number,
  maxArray: number,
): number {
  if (buf[pos] !== RespType.ARRAY) return SLOW;
  let p = header(buf, pos, end, out, false);
  if (p <= 0) return p;
  const argc = out.num;
  if (argc === 0 || argc > MAX_FAST_ARGS || argc > maxArray) return SLOW;
  out.keyStart = out.keyEnd = 0;
  for (let a = 0; a < argc; a++) {
    if (p >= end) return NEED_MORE;
    if (buf[p] !== RespType.BULK) return SLOW;
    const q = header(buf, p, end, out, false);
    if (q <= 0) return q;
    const len = out.num;
    if (len > maxBulk) return SLOW;
    const bodyEnd = q + len;
    if (bodyEnd + 2 > end) return NEED_MORE;
    if (buf[bodyEnd] !== CR || buf[bodyEnd + 1] !== LF) return SLOW;
    if (a === 0) {
      out.nameStart = q;
      out.nameEnd = bodyEnd;
    } else if (a === 1) {
      out.keyStart = q;
      out.keyEnd = bodyEnd;
    }
    p = bodyEnd + 2;
  }
  out.argc = argc;
  out.end = p;
  return FOUND;
}

/** Nesting stack of the reply scanner (module-wide: scans are synchronous). */
const remaining = new Int32Array(MAX_FAST_DEPTH);

/**
 * Finds the end of the reply starting at `pos` (which must be `< end`). On {@linkcode FOUND},
 * `out.end` and `out.type` (the top-level type byte) are set.
 */
export function scanReply(
  buf: Uint8Array,
  pos: number,
  end: number,
  out: ScanRecord,
  maxBulk: number,
  maxArray: number,
): number {
  let p = pos;
  let depth = 0;
  let elements = 0;
  out.type = buf[pos];
  for (;;) {
    if (p >= end) return NEED_MORE;
    const type = buf[p];
    if (type === RespType.BULK) {
      const q = header(buf, p, end, out, true);
      if (q <= 0) return q;
      const len = out.num;
      if (len < 0) {
        p = q;
      } else {
        if (len > maxBulk) return SLOW;
        const bodyEnd = q + len;
        if (bodyEnd + 2 > end) return NEED_MORE;
        if (buf[bodyEnd] !== CR || buf[bodyEnd + 1] !== LF) return SLOW;
        p = bodyEnd + 2;
      }
    } else if (type === RespType.SIMPLE || type === RespType.ERROR || type === RespType.INTEGER) {
      const stop = Math.min(end, p + MAX_FAST_LINE);
      let i = p + 1;
      while (i < stop && buf[i] !== CR) i++;
      if (i >= stop) return end - p >= MAX_FAST_LINE ? SLOW : NEED_MORE;
      if (i + 1 >= end) return NEED_MORE;
      if (buf[i + 1] !== LF) return SLOW;
      if (type === RespType.INTEGER && !isInteger(buf, p + 1, i)) return SLOW;
      p = i + 2;
    } else if (type === RespType.ARRAY) {
      const q = header(buf, p, end, out, true);
      if (q <= 0) return q;
      const n = out.num;
      p = q;
      if (n > 0) {
        if (n > maxArray || depth >= MAX_FAST_DEPTH) return SLOW;
        elements += n;
        if (elements > MAX_FAST_ELEMENTS) return SLOW;
        remaining[depth++] = n;
        continue;
      }
    } else {
      return SLOW;
    }
    // One value is complete: close the arrays it completes.
    while (depth > 0 && --remaining[depth - 1] === 0) depth--;
    if (depth === 0) {
      out.end = p;
      return FOUND;
    }
  }
}

function isInteger(buf: Uint8Array, from: number, to: number): boolean {
  if (buf[from] === 0x2d) from++;
  if (to <= from || to - from > 19) return false;
  for (let i = from; i < to; i++) if (buf[i] < 0x30 || buf[i] > 0x39) return false;
  return true;
}
