/**
 * RESP2 (REdis Serialization Protocol) incremental decoder with limits checked before anything is
 * allocated, for both directions of a proxy: requests (arrays of bulk strings, or inline commands) and
 * replies (any RESP2 value).
 *
 * Decoded values are views into the decoder's buffer. The decoder never rewrites bytes it handed out:
 * when it needs room it moves the unconsumed tail to a fresh buffer, so views stay valid for as long
 * as the caller holds them (a proxy forwards them after the read that produced them).
 *
 * @module
 */
import { encodeCommand } from "./encode.ts";

/** RESP2 type bytes (https://redis.io/docs/latest/develop/reference/protocol-spec/). */
export const RespType = {
  SIMPLE: 0x2b, // +
  ERROR: 0x2d, // -
  INTEGER: 0x3a, // :
  BULK: 0x24, // $
  ARRAY: 0x2a, // *
} as const;

const CR = 0x0d;
const LF = 0x0a;

/** Redis' own `proto-max-bulk-len` default: 512 MiB. */
export const DEFAULT_MAX_BULK_LENGTH = 512 * 1024 * 1024;
/** Elements allowed in one array (Redis allows more; a proxy has no business buffering more). */
export const DEFAULT_MAX_ARRAY_LENGTH = 1_048_576;
/** Nesting depth of arrays (requests are depth 1, replies such as CLUSTER SLOTS depth 3). */
export const DEFAULT_MAX_DEPTH = 32;
/** Redis' `PROTO_INLINE_MAX_SIZE`: longest inline command and simple-string line. */
export const DEFAULT_MAX_LINE_LENGTH = 64 * 1024;
/** Digits in a length or count header: more than 15 cannot be a valid length below 2^53. */
const MAX_HEADER_DIGITS = 15;

const INITIAL_BUFFER = 64 * 1024;
const EMPTY = new Uint8Array(0);
/** A read gets at least this much free space; less and the unconsumed tail moves to a new buffer. */
const MIN_READ_SPACE = 16 * 1024;

/**
 * One decoded value. `raw` is its complete encoding (forwardable as is). `data` is the payload of a
 * simple string, error, integer or bulk string (`null` for a null bulk); `items` the elements of an
 * array (`null` for a null array or a non-array).
 */
export interface RespValue {
  readonly type: number;
  readonly raw: Uint8Array;
  readonly data: Uint8Array | null;
  readonly items: RespValue[] | null;
}

/** Limits of a {@linkcode RespDecoder}; every one is checked before the value is buffered. */
export interface RespLimits {
  /** Longest bulk string (default 512 MiB). */
  maxBulkLength?: number;
  /** Most elements in one array (default 1,048,576). */
  maxArrayLength?: number;
  /** Deepest array nesting (default 32). */
  maxDepth?: number;
  /** Longest line: inline command, simple string, error (default 64 KiB). */
  maxLineLength?: number;
  /** Accept inline commands (`PING\r\n`): true for requests, false for replies. */
  inline?: boolean;
}

/** Bad peer bytes: the connection cannot continue (its stream position is lost). */
export class RespProtocolError extends Error {
  override name = "RespProtocolError";
}

interface Frame {
  items: RespValue[];
  remaining: number;
  start: number;
}

/** Incremental RESP2 decoder; feed it with {@linkcode readTarget} + {@linkcode commit}, drain with `next`. */
export class RespDecoder {
  #buf: Uint8Array = EMPTY;
  /** First byte of the value being decoded (everything before it was handed out). */
  #start = 0;
  #pos = 0;
  #end = 0;
  #stack: Frame[] = [];
  /** Length of the bulk whose header was read and whose body is awaited, else -1. */
  #bulkLen = -1;
  #bulkStart = 0;
  readonly #maxBulk: number;
  readonly #maxArray: number;
  readonly #maxDepth: number;
  readonly #maxLine: number;
  readonly #inline: boolean;

  constructor(limits: RespLimits = {}) {
    this.#maxBulk = limits.maxBulkLength ?? DEFAULT_MAX_BULK_LENGTH;
    this.#maxArray = limits.maxArrayLength ?? DEFAULT_MAX_ARRAY_LENGTH;
    this.#maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.#maxLine = limits.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    this.#inline = limits.inline ?? false;
  }

  /** Bytes received but not yet returned as values. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** Whether no value is partly decoded: scanners (`scan.ts`) may then look at `buffer[start, end)`. */
  get idle(): boolean {
    return this.#stack.length === 0 && this.#bulkLen < 0 && this.#pos === this.#start;
  }

  /** The current buffer (replaced, never rewritten, when it relocates). */
  get buffer(): Uint8Array {
    return this.#buf;
  }

  /** Offset of the first byte not yet handed out. */
  get start(): number {
    return this.#start;
  }

  /** Offset after the last byte received. */
  get end(): number {
    return this.#end;
  }

  /** Hands out the bytes before `to`, a value boundary found by a scanner while {@linkcode idle}. */
  skip(to: number): void {
    this.#start = this.#pos = to;
  }

  /** Free space to read into; call {@linkcode commit} with the byte count read. */
  readTarget(): Uint8Array {
    if (this.#buf.length - this.#end < MIN_READ_SPACE) this.#relocate();
    return this.#buf.subarray(this.#end);
  }

  /** Marks `n` bytes of the last {@linkcode readTarget} as received. */
  commit(n: number): void {
    this.#end += n;
  }

  /** Decodes from `bytes` in place (no copy; they must not change while views are held). Only when empty. */
  wrap(bytes: Uint8Array): void {
    if (this.#end !== this.#start) throw new Error("Cannot wrap bytes: the decoder holds undecoded bytes");
    this.#buf = bytes;
    this.#start = this.#pos = 0;
    this.#end = bytes.length;
  }

  /** Copies `bytes` in (for tests and callers that do not read sockets). */
  push(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) {
      const target = this.readTarget();
      const n = Math.min(target.length, bytes.length - off);
      target.set(bytes.subarray(off, off + n));
      this.commit(n);
      off += n;
    }
  }

  /** Moves the unconsumed bytes to a new buffer; old views keep the old buffer alive and unchanged. */
  #relocate(): void {
    const used = this.#end - this.#start;
    const size = Math.max(INITIAL_BUFFER, used * 2 + MIN_READ_SPACE);
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(this.#start, this.#end));
    const shift = this.#start;
    for (const frame of this.#stack) frame.start -= shift;
    this.#bulkStart -= shift;
    this.#pos -= shift;
    this.#end = used;
    this.#start = 0;
    this.#buf = next;
  }

  /** The next complete top-level value, `null` if more bytes are needed, or the protocol error. */
  next(): RespValue | null | RespProtocolError {
    const buf = this.#buf;
    for (;;) {
      let value: RespValue | null = null;
      if (this.#bulkLen >= 0) {
        const bodyEnd = this.#pos + this.#bulkLen;
        if (this.#end < bodyEnd + 2) return null;
        if (buf[bodyEnd] !== CR || buf[bodyEnd + 1] !== LF) {
          return new RespProtocolError("Cannot decode RESP: bulk string not terminated by CRLF");
        }
        value = {
          type: RespType.BULK,
          raw: buf.subarray(this.#bulkStart, bodyEnd + 2),
          data: buf.subarray(this.#pos, bodyEnd),
          items: null,
        };
        this.#pos = bodyEnd + 2;
        this.#bulkLen = -1;
      } else {
        const pos = this.#pos;
        if (pos >= this.#end) return null;
        const type = buf[pos];
        const cr = this.#findLineEnd(pos);
        if (cr < 0) {
          return this.#end - pos > this.#maxLine
            ? new RespProtocolError(`Cannot decode RESP: line longer than ${this.#maxLine} bytes`)
            : null;
        }
        if (isTypeByte(type) && buf[cr + 1] !== LF) {
          return new RespProtocolError("Cannot decode RESP: line not terminated by CRLF");
        }
        if (type === RespType.BULK || type === RespType.ARRAY) {
          const n = parseLength(buf, pos + 1, cr);
          if (n === undefined) {
            return new RespProtocolError(
              `Cannot decode RESP: invalid length '${latin1(buf.subarray(pos + 1, cr))}'`,
            );
          }
          const after = cr + 2;
          if (n === -1) {
            value = { type, raw: buf.subarray(pos, after), data: null, items: null };
            this.#pos = after;
          } else if (type === RespType.BULK) {
            if (n > this.#maxBulk) {
              return new RespProtocolError(
                `Cannot decode RESP: bulk length ${n} exceeds limit ${this.#maxBulk}`,
              );
            }
            this.#bulkLen = n;
            this.#bulkStart = pos;
            this.#pos = after;
            continue;
          } else {
            if (n > this.#maxArray) {
              return new RespProtocolError(
                `Cannot decode RESP: array length ${n} exceeds limit ${this.#maxArray}`,
              );
            }
            if (this.#stack.length >= this.#maxDepth) {
              return new RespProtocolError(`Cannot decode RESP: nesting deeper than ${this.#maxDepth}`);
            }
            this.#pos = after;
            if (n > 0) {
              this.#stack.push({ items: [], remaining: n, start: pos });
              continue;
            }
            value = { type, raw: buf.subarray(pos, after), data: null, items: [] };
          }
        } else if (type === RespType.SIMPLE || type === RespType.ERROR || type === RespType.INTEGER) {
          if (type === RespType.INTEGER && !isInteger(buf, pos + 1, cr)) {
            return new RespProtocolError(
              `Cannot decode RESP: invalid integer '${latin1(buf.subarray(pos + 1, cr))}'`,
            );
          }
          value = { type, raw: buf.subarray(pos, cr + 2), data: buf.subarray(pos + 1, cr), items: null };
          this.#pos = cr + 2;
        } else if (this.#inline && this.#stack.length === 0) {
          const lf = buf.indexOf(LF, pos);
          const lineEnd = lf > pos && buf[lf - 1] === CR ? lf - 1 : lf;
          this.#pos = lf + 1;
          const args = splitInline(buf.subarray(pos, lineEnd));
          this.#start = this.#pos;
          if (args.length === 0) continue; // Redis ignores empty inline lines
          return inlineCommand(args);
        } else {
          return new RespProtocolError(
            `Cannot decode RESP: unexpected type byte 0x${type.toString(16).padStart(2, "0")}`,
          );
        }
      }
      // A value is complete: fold it into the enclosing arrays.
      while (this.#stack.length > 0) {
        const top = this.#stack[this.#stack.length - 1];
        top.items.push(value);
        if (--top.remaining > 0) {
          value = null;
          break;
        }
        this.#stack.pop();
        value = {
          type: RespType.ARRAY,
          raw: buf.subarray(top.start, this.#pos),
          data: null,
          items: top.items,
        };
      }
      if (value !== null) {
        this.#start = this.#pos;
        return value;
      }
    }
  }

  /** Index of the CR of the line starting at `pos` (which must end CRLF), or -1 when incomplete. */
  #findLineEnd(pos: number): number {
    const buf = this.#buf;
    const limit = Math.min(this.#end, pos + this.#maxLine + 2);
    const stop = this.#inline && this.#stack.length === 0 && !isTypeByte(buf[pos]) ? LF : CR;
    let i = pos;
    while (i < limit && buf[i] !== stop) i++;
    if (i >= limit) return -1;
    if (stop === CR && i + 1 >= this.#end) return -1;
    return i;
  }
}

function isTypeByte(b: number): boolean {
  return b === RespType.ARRAY || b === RespType.BULK || b === RespType.SIMPLE || b === RespType.ERROR ||
    b === RespType.INTEGER;
}

/** Parses a length header (`-1` or digits); `undefined` when malformed or too long to be a length. */
function parseLength(buf: Uint8Array, from: number, to: number): number | undefined {
  if (to - from === 2 && buf[from] === 0x2d && buf[from + 1] === 0x31) return -1;
  if (to <= from || to - from > MAX_HEADER_DIGITS) return undefined;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return n;
}

function isInteger(buf: Uint8Array, from: number, to: number): boolean {
  if (buf[from] === 0x2d) from++;
  if (to <= from || to - from > 19) return false;
  for (let i = from; i < to; i++) if (buf[i] < 0x30 || buf[i] > 0x39) return false;
  return true;
}

function splitInline(line: Uint8Array): Uint8Array[] {
  const args: Uint8Array[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && (line[i] === 0x20 || line[i] === 0x09)) i++;
    if (i >= line.length) break;
    const start = i;
    while (i < line.length && line[i] !== 0x20 && line[i] !== 0x09) i++;
    args.push(line.subarray(start, i));
  }
  return args;
}

function inlineCommand(args: Uint8Array[]): RespValue {
  const raw = encodeCommand(args);
  const items = args.map((data): RespValue => ({ type: RespType.BULK, raw: data, data, items: null }));
  return { type: RespType.ARRAY, raw, data: null, items };
}

/** Decodes ASCII/Latin-1 bytes to a string (command names, error texts, numbers). */
export function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/** The integer of an `:n` value, or NaN for anything else. */
export function integerOf(value: RespValue): number {
  return value.type === RespType.INTEGER && value.data ? Number(latin1(value.data)) : NaN;
}

/** The text of a simple string, error or bulk string value (`""` for null or arrays). */
export function textOf(value: RespValue): string {
  return value.data ? latin1(value.data) : "";
}
