/**
 * A minimal Hessian2 reader for the Dubbo hot path: reads strings and ints, skips any value, and walks
 * maps entry by entry. It never builds argument objects; it only finds where they end.
 *
 * Grammar: http://hessian.caucho.com/doc/hessian-serialization.html (Hessian 2.0). Strings count UTF-16
 * units; Java writes them as CESU-8 (surrogates as two 3-byte sequences), others as UTF-8: both are read.
 *
 * Errors are reported by return value (`false` / `undefined` / `NaN`) with the reason in
 * {@linkcode Hessian2Reader.error}; nothing on the data path throws.
 *
 * @module
 */

import { decodeText } from "./hessian2_text.ts";

/** Limits applied while reading one body. */
export interface HessianLimits {
  /** Longest string (UTF-16 units) materialised as a JS string. */
  readonly maxStringLength: number;
  /** Largest declared element count of a fixed-length list. */
  readonly maxElements: number;
  /** Deepest nesting of lists/maps/objects. */
  readonly maxDepth: number;
  /** Most class definitions in one body. */
  readonly maxClassDefs: number;
}

/** Defaults: generous for RPC metadata, small enough that hostile input costs little. */
export const DEFAULT_HESSIAN_LIMITS: HessianLimits = {
  maxStringLength: 1 << 20,
  maxElements: 1 << 20,
  maxDepth: 64,
  maxClassDefs: 4096,
};

// Tags (Hessian 2.0 §"Bytecode map"); ranges are inclusive.
const T_STR_SHORT_MAX = 0x1f; // 0x00-0x1f: string, length in tag
const T_BIN_SHORT = 0x20; // 0x20-0x2f: binary, length in tag
const T_STR_MEDIUM = 0x30; // 0x30-0x33: string, length (tag-0x30)<<8 | b0
const T_BIN_MEDIUM = 0x34; // 0x34-0x37: binary, length (tag-0x34)<<8 | b0
const T_LONG_3 = 0x38; // 0x38-0x3f: long in 3 bytes
const T_BIN_CHUNK = 0x41; // 'A'
const T_BIN_FINAL = 0x42; // 'B'
const T_CLASS_DEF = 0x43; // 'C'
const T_DOUBLE = 0x44; // 'D'
const T_FALSE = 0x46; // 'F'
const T_MAP_UNTYPED = 0x48; // 'H'
const T_INT = 0x49; // 'I'
const T_DATE_MS = 0x4a; // 'J'
const T_DATE_MIN = 0x4b; // 'K'
const T_LONG = 0x4c; // 'L'
const T_MAP_TYPED = 0x4d; // 'M'
const T_NULL = 0x4e; // 'N'
const T_OBJECT = 0x4f; // 'O'
const T_REF = 0x51; // 'Q'
const T_STR_CHUNK = 0x52; // 'R'
const T_STR = 0x53; // 'S'
const T_TRUE = 0x54; // 'T'
const T_LIST_TYPED_VAR = 0x55; // 'U'
const T_LIST_TYPED_FIXED = 0x56; // 'V'
const T_LIST_VAR = 0x57; // 'W'
const T_LIST_FIXED = 0x58; // 'X'
const T_LONG_INT = 0x59; // 'Y'
const T_END = 0x5a; // 'Z'
const T_DOUBLE_ZERO = 0x5b;
const T_DOUBLE_ONE = 0x5c;
const T_DOUBLE_BYTE = 0x5d;
const T_DOUBLE_SHORT = 0x5e;
const T_DOUBLE_FLOAT = 0x5f;
const T_OBJECT_SHORT = 0x60; // 0x60-0x6f: object, class ref in tag
const T_LIST_TYPED_SHORT = 0x70; // 0x70-0x77: typed list, length in tag
const T_LIST_SHORT = 0x78; // 0x78-0x7f: untyped list, length in tag
const T_INT_1 = 0x80; // 0x80-0xbf: int, value tag-0x90
const T_INT_2 = 0xc0; // 0xc0-0xcf: int in 2 bytes
const T_INT_3 = 0xd0; // 0xd0-0xd7: int in 3 bytes
const T_LONG_1 = 0xd8; // 0xd8-0xef: long in 1 byte
const T_LONG_2 = 0xf0; // 0xf0-0xff: long in 2 bytes

/** Whether `tag` starts a string (any of its encodings). */
export function isStringTag(tag: number): boolean {
  return tag <= T_STR_SHORT_MAX || (tag >= T_STR_MEDIUM && tag <= 0x33) || tag === T_STR ||
    tag === T_STR_CHUNK;
}

/** Whether `tag` starts a map (untyped `H` or typed `M`). */
export function isMapTag(tag: number): boolean {
  return tag === T_MAP_UNTYPED || tag === T_MAP_TYPED;
}

/** A cursor over one Hessian2 body. Reuse one instance per connection via {@linkcode reset}. */
export class Hessian2Reader {
  /** The bytes being read (not retained beyond the current frame). */
  bytes: Uint8Array = new Uint8Array(0);
  /** Offset of the next unread byte. */
  pos = 0;
  /** Offset just past the last readable byte. */
  end = 0;
  /** Why the last failing call failed. */
  error = "";
  #limits: HessianLimits;
  /** Field counts of the class definitions seen in this body, by definition order. */
  #classFields: number[] = [];

  constructor(limits: HessianLimits = DEFAULT_HESSIAN_LIMITS) {
    this.#limits = limits;
  }

  /** Points the reader at `bytes[start, end)` and forgets class definitions. */
  reset(bytes: Uint8Array, start: number, end: number): void {
    this.bytes = bytes;
    this.pos = start;
    this.end = end;
    this.error = "";
    this.#classFields.length = 0;
  }

  /** The tag at the cursor, or -1 at the end. */
  peek(): number {
    return this.pos < this.end ? this.bytes[this.pos] : -1;
  }

  /** Reads an int (any int encoding); `NaN` on failure. */
  readInt(): number {
    const b = this.bytes, p = this.pos;
    if (p >= this.end) return this.#fail("truncated int");
    const tag = b[p];
    if (tag >= T_INT_1 && tag < T_INT_2) {
      this.pos = p + 1;
      return tag - 0x90;
    }
    if (tag >= T_INT_2 && tag < T_INT_3) {
      if (p + 2 > this.end) return this.#fail("truncated int");
      this.pos = p + 2;
      return ((tag - 0xc8) << 8) | b[p + 1];
    }
    if (tag >= T_INT_3 && tag < T_LONG_1) {
      if (p + 3 > this.end) return this.#fail("truncated int");
      this.pos = p + 3;
      return ((tag - 0xd4) << 16) | (b[p + 1] << 8) | b[p + 2];
    }
    if (tag === T_INT) {
      if (p + 5 > this.end) return this.#fail("truncated int");
      this.pos = p + 5;
      return (b[p + 1] << 24) | (b[p + 2] << 16) | (b[p + 3] << 8) | b[p + 4];
    }
    return this.#fail(`expected int, found tag 0x${tag.toString(16)}`);
  }

  /** Reads a string; `undefined` (with {@linkcode error} set) when the value is not a whole string. */
  readString(): string | undefined {
    let parts: string | undefined;
    for (;;) {
      if (this.pos >= this.end) return this.#failUndefined("truncated string");
      const tag = this.bytes[this.pos];
      const chars = this.#chunkLength(tag);
      if (chars < 0) return undefined;
      const start = this.pos;
      if (!this.#skipChars(chars)) return undefined;
      const text = decodeText(this.bytes, start, this.pos, chars);
      parts = parts === undefined ? text : parts + text;
      if (parts.length > this.#limits.maxStringLength) {
        return this.#failUndefined(`string longer than ${this.#limits.maxStringLength}`);
      }
      if (tag !== T_STR_CHUNK) return parts;
    }
  }

  /** Skips one value of any type; `false` on malformed or truncated input. */
  skipValue(depth = 0): boolean {
    if (depth > this.#limits.maxDepth) return this.#failFalse(`nesting deeper than ${this.#limits.maxDepth}`);
    const b = this.bytes;
    for (;;) {
      if (this.pos >= this.end) return this.#failFalse("truncated value");
      const tag = b[this.pos];
      if (isStringTag(tag)) return this.#skipString();
      if (tag >= T_INT_1) {
        return this.#skipBytes(
          tag < T_INT_2 ? 1 : tag < T_INT_3 ? 2 : tag < T_LONG_1 ? 3 : tag < T_LONG_2 ? 1 : 2,
        );
      }
      if (tag >= T_LIST_SHORT) return this.#skipElements(tag - T_LIST_SHORT, 1, depth);
      if (tag >= T_LIST_TYPED_SHORT) {
        this.pos++;
        return this.#skipType() && this.#skipElements(tag - T_LIST_TYPED_SHORT, 0, depth);
      }
      if (tag >= T_OBJECT_SHORT) return this.#skipObject(tag - T_OBJECT_SHORT, 1, depth);
      if ((tag >= T_BIN_SHORT && tag < T_STR_MEDIUM) || (tag >= T_BIN_MEDIUM && tag < T_LONG_3)) {
        return this.#skipBinary();
      }
      if (tag >= T_LONG_3 && tag < 0x40) return this.#skipBytes(3);
      switch (tag) {
        case T_NULL:
        case T_TRUE:
        case T_FALSE:
        case T_DOUBLE_ZERO:
        case T_DOUBLE_ONE:
          return this.#skipBytes(1);
        case T_DOUBLE_BYTE:
          return this.#skipBytes(2);
        case T_DOUBLE_SHORT:
          return this.#skipBytes(3);
        case T_INT:
        case T_LONG_INT:
        case T_DATE_MIN:
        case T_DOUBLE_FLOAT:
          return this.#skipBytes(5);
        case T_LONG:
        case T_DOUBLE:
        case T_DATE_MS:
          return this.#skipBytes(9);
        case T_BIN_CHUNK:
        case T_BIN_FINAL:
          return this.#skipBinary();
        case T_REF:
          this.pos++;
          return !Number.isNaN(this.readInt());
        case T_CLASS_DEF:
          // A definition is followed by the object using it: read it, then loop for that value.
          if (!this.#readClassDef()) return false;
          continue;
        case T_OBJECT: {
          this.pos++;
          const ref = this.readInt();
          return !Number.isNaN(ref) && this.#skipObject(ref, 0, depth);
        }
        case T_MAP_UNTYPED:
        case T_MAP_TYPED:
          return this.#skipMap(depth);
        case T_LIST_VAR:
          this.pos++;
          return this.#skipUntilEnd(depth);
        case T_LIST_TYPED_VAR:
          this.pos++;
          return this.#skipType() && this.#skipUntilEnd(depth);
        case T_LIST_FIXED: {
          this.pos++;
          const n = this.readInt();
          return !Number.isNaN(n) && this.#skipElements(n, 0, depth);
        }
        case T_LIST_TYPED_FIXED: {
          this.pos++;
          if (!this.#skipType()) return false;
          const n = this.readInt();
          return !Number.isNaN(n) && this.#skipElements(n, 0, depth);
        }
        default:
          return this.#failFalse(`unexpected tag 0x${tag.toString(16)} at offset ${this.pos}`);
      }
    }
  }

  /**
   * Steps into a map at the cursor (`H`, or `M` + type). Then call {@linkcode atMapEnd} before each entry
   * and read key and value; {@linkcode atMapEnd} consumes the closing `Z`.
   */
  enterMap(): boolean {
    const tag = this.peek();
    if (tag === T_MAP_UNTYPED) {
      this.pos++;
      return true;
    }
    if (tag === T_MAP_TYPED) {
      this.pos++;
      return this.#skipType();
    }
    return this.#failFalse("expected map");
  }

  /** True (and consumes it) when the cursor is at a map/list `Z` terminator. */
  atMapEnd(): boolean {
    if (this.pos < this.end && this.bytes[this.pos] === T_END) {
      this.pos++;
      return true;
    }
    return false;
  }

  #skipMap(depth: number): boolean {
    if (!this.enterMap()) return false;
    for (;;) {
      if (this.pos >= this.end) return this.#failFalse("truncated map");
      if (this.atMapEnd()) return true;
      if (!this.skipValue(depth + 1) || !this.skipValue(depth + 1)) return false;
    }
  }

  #skipUntilEnd(depth: number): boolean {
    for (;;) {
      if (this.pos >= this.end) return this.#failFalse("truncated list");
      if (this.atMapEnd()) return true;
      if (!this.skipValue(depth + 1)) return false;
    }
  }

  /** Skips `n` values after advancing `tagBytes` (the tag itself when the count lived in it). */
  #skipElements(n: number, tagBytes: number, depth: number): boolean {
    this.pos += tagBytes;
    // Each value takes at least one byte: a larger count is truncated or hostile.
    if (n < 0 || n > this.#limits.maxElements || n > this.end - this.pos) {
      return this.#failFalse(`list length ${n} exceeds what remains`);
    }
    for (let i = 0; i < n; i++) if (!this.skipValue(depth + 1)) return false;
    return true;
  }

  #skipObject(ref: number, tagBytes: number, depth: number): boolean {
    this.pos += tagBytes;
    if (ref < 0 || ref >= this.#classFields.length) return this.#failFalse(`unknown class definition ${ref}`);
    return this.#skipElements(this.#classFields[ref], 0, depth);
  }

  #readClassDef(): boolean {
    if (this.#classFields.length >= this.#limits.maxClassDefs) {
      return this.#failFalse(`more than ${this.#limits.maxClassDefs} class definitions`);
    }
    this.pos++;
    if (!this.#skipString()) return false;
    const fields = this.readInt();
    if (Number.isNaN(fields)) return false;
    if (fields < 0 || fields > this.end - this.pos) return this.#failFalse(`class field count ${fields}`);
    for (let i = 0; i < fields; i++) if (!this.#skipString()) return false;
    this.#classFields.push(fields);
    return true;
  }

  /** type ::= string | int (a reference to an earlier type). */
  #skipType(): boolean {
    if (this.pos >= this.end) return this.#failFalse("truncated type");
    return isStringTag(this.bytes[this.pos]) ? this.#skipString() : !Number.isNaN(this.readInt());
  }

  #skipString(): boolean {
    for (;;) {
      if (this.pos >= this.end) return this.#failFalse("truncated string");
      const tag = this.bytes[this.pos];
      const chars = this.#chunkLength(tag);
      if (chars < 0 || !this.#skipChars(chars)) return false;
      if (tag !== T_STR_CHUNK) return true;
    }
  }

  /** binary ::= 'A' u16 data binary | 'B' u16 data | [x20-x2f] data | [x34-x37] b0 data */
  #skipBinary(): boolean {
    const b = this.bytes;
    for (;;) {
      if (this.pos >= this.end) return this.#failFalse("truncated binary");
      const tag = b[this.pos];
      if (tag >= T_BIN_SHORT && tag < T_STR_MEDIUM) return this.#skipBytes(1 + tag - T_BIN_SHORT);
      if (this.pos + 2 > this.end) return this.#failFalse("truncated binary");
      if (tag >= T_BIN_MEDIUM && tag < T_LONG_3) {
        return this.#skipBytes(2 + (((tag - T_BIN_MEDIUM) << 8) | b[this.pos + 1]));
      }
      if (tag !== T_BIN_CHUNK && tag !== T_BIN_FINAL) return this.#failFalse("bad binary chunk");
      if (this.pos + 3 > this.end) return this.#failFalse("truncated binary");
      if (!this.#skipBytes(3 + ((b[this.pos + 1] << 8) | b[this.pos + 2]))) return false;
      if (tag === T_BIN_FINAL) return true;
    }
  }

  #skipBytes(n: number): boolean {
    if (this.pos + n > this.end) return this.#failFalse("truncated value");
    this.pos += n;
    return true;
  }

  /** Reads a string chunk header at the cursor; returns its length in UTF-16 units, or -1. */
  #chunkLength(tag: number): number {
    const b = this.bytes, p = this.pos;
    if (tag <= T_STR_SHORT_MAX) {
      this.pos = p + 1;
      return tag;
    }
    if (tag >= T_STR_MEDIUM && tag <= 0x33) {
      if (p + 2 > this.end) return this.#failIndex("truncated string");
      this.pos = p + 2;
      return ((tag - T_STR_MEDIUM) << 8) | b[p + 1];
    }
    if (tag === T_STR || tag === T_STR_CHUNK) {
      if (p + 3 > this.end) return this.#failIndex("truncated string");
      this.pos = p + 3;
      return (b[p + 1] << 8) | b[p + 2];
    }
    return this.#failIndex(`expected string, found tag 0x${tag.toString(16)}`);
  }

  /** Advances over `chars` UTF-16 units of UTF-8/CESU-8 data. */
  #skipChars(chars: number): boolean {
    const b = this.bytes, end = this.end;
    let p = this.pos;
    while (chars > 0) {
      if (p >= end) return this.#failFalse("truncated string");
      const c = b[p];
      if (c < 0x80) p += 1;
      else if (c >= 0xc0 && c < 0xe0) p += 2;
      else if (c >= 0xe0 && c < 0xf0) p += 3;
      else if (c >= 0xf0 && c < 0xf8) {
        p += 4;
        chars--; // a 4-byte UTF-8 sequence is a surrogate pair: two units
      } else return this.#failFalse(`bad UTF-8 byte 0x${c.toString(16)}`);
      chars--;
    }
    if (p > end) return this.#failFalse("truncated string");
    this.pos = p;
    return true;
  }

  #fail(reason: string): number {
    this.error = reason;
    return NaN;
  }

  #failIndex(reason: string): -1 {
    this.error = reason;
    return -1;
  }

  #failFalse(reason: string): false {
    this.error = reason;
    return false;
  }

  #failUndefined(reason: string): undefined {
    this.error = reason;
    return undefined;
  }
}
