/**
 * THeader transport: reads the header area of a THeader frame (Apache magic 0x0FFF with varint fields, or
 * Kitex TTHeader magic 0x1000 with u8/u16 fields) and rewrites its string key/value block.
 *
 * Fixed part: length(4) magic(2) flags(2) seqid(4) header-words(2). Header area (`words * 4` bytes):
 * protocol id, transform count (+ ids), info blocks, zero padding. Info blocks read here: key/value (1),
 * Apache persistent key/value (2), Kitex int-key/value (0x10) and ACL token (0x11). A transform (zlib...)
 * hides the message from the codec, so such frames are rejected. An unknown info id ends the parse; its
 * bytes are kept verbatim on rewrite.
 *
 * @module
 */
import {
  HEADER_AREA_OFFSET,
  HEADER_MAGIC_OFFSET,
  HEADER_WORD_SIZE,
  HEADER_WORDS_OFFSET,
  HeaderProtocolId,
  InfoId,
  KITEX_INT_KEYS,
  MAX_HEADER_WORDS,
  THEADER_MAGIC,
  TTHEADER_MAGIC,
} from "./constants.ts";
import { readU16, writeI32 } from "./walk_state.ts";

const utf8 = new TextDecoder();
const utf8Encoder = new TextEncoder();

/** What a THeader's header area holds. */
export interface HeaderInfo {
  /** true for Kitex TTHeader (u8/u16 fields), false for Apache THeader (varints). */
  readonly kitex: boolean;
  /** Protocol id of the payload: 0 binary, 2 compact. */
  readonly protocolId: number;
  /** Absolute offset where the payload (the Thrift message) starts. */
  readonly payloadStart: number;
  /** Offset after protocol id and transform count. */
  readonly transformsEnd: number;
  /** String key/values of the key/value block(s) (the shared {@linkcode NO_INFO} when there are none). */
  readonly strings: ReadonlyMap<string, string>;
  /** Other metadata: persistent keys and Kitex int keys (by name); not rewritten. {@linkcode NO_INFO} when none. */
  readonly others: ReadonlyMap<string, string>;
  /** Flat [start, end) pairs of info blocks kept verbatim on rewrite (everything but key/value blocks). */
  readonly keep: readonly number[];
}

/** The info maps of a header area without info blocks (most frames): shared, never written. */
export const NO_INFO: ReadonlyMap<string, string> = new Map();
const NO_KEEP: readonly number[] = [];

/** Reads integers and strings inside the header area; `failed` latches on any overrun. */
class AreaReader {
  pos: number;
  failed = false;
  readonly #b: Uint8Array;
  readonly #end: number;
  readonly #kitex: boolean;

  constructor(b: Uint8Array, pos: number, end: number, kitex: boolean) {
    this.#b = b;
    this.pos = pos;
    this.#end = end;
    this.#kitex = kitex;
  }

  /** A u8 (Kitex) or varint (Apache) id or count. */
  id(): number {
    return this.#kitex ? this.u8() : this.varint();
  }

  /** A u16 (Kitex) or varint (Apache) count. */
  count(): number {
    return this.#kitex ? this.u16() : this.varint();
  }

  u8(): number {
    if (this.pos + 1 > this.#end) return this.#fail();
    return this.#b[this.pos++];
  }

  u16(): number {
    if (this.pos + 2 > this.#end) return this.#fail();
    this.pos += 2;
    return readU16(this.#b, this.pos - 2);
  }

  varint(): number {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.#end) return this.#fail();
      const byte = this.#b[this.pos++];
      value += (byte & 0x7f) * 2 ** (7 * i);
      if (byte < 0x80) return value;
    }
    return this.#fail();
  }

  /** A length-prefixed string (u16 Kitex, varint Apache), bounded by the area end. */
  string(): string {
    const length = this.count();
    if (this.failed || this.pos + length > this.#end) return this.#fail(), "";
    this.pos += length;
    return utf8.decode(this.#b.subarray(this.pos - length, this.pos));
  }

  #fail(): number {
    this.failed = true;
    this.pos = this.#end;
    return 0;
  }
}

/** Whether the u16 at offset 4 is a THeader or TTHeader magic. */
export function isHeaderMagic(magic: number): boolean {
  return magic === THEADER_MAGIC || magic === TTHEADER_MAGIC;
}

/**
 * Parses the header area of the THeader frame `b[0, frameEnd)` (the whole frame is present).
 * Returns the facts, or a reason string when the header is malformed.
 */
export function parseHeader(b: Uint8Array, frameEnd: number): HeaderInfo | string {
  const kitex = readU16(b, HEADER_MAGIC_OFFSET) === TTHEADER_MAGIC;
  const areaEnd = HEADER_AREA_OFFSET + readU16(b, HEADER_WORDS_OFFSET) * HEADER_WORD_SIZE;
  if (areaEnd > frameEnd) return `header size ${areaEnd} exceeds frame size ${frameEnd}`;
  const r = new AreaReader(b, HEADER_AREA_OFFSET, areaEnd, kitex);
  const protocolId = r.id();
  if (protocolId !== HeaderProtocolId.BINARY && protocolId !== HeaderProtocolId.COMPACT) {
    return `unsupported header protocol id ${protocolId}`;
  }
  if (r.id() !== 0) return "header transforms are not supported";
  if (r.failed) return "header area truncated";
  const transformsEnd = r.pos;
  // Maps and the keep list are made only when a block needs them: most frames carry no info blocks.
  let strings: Map<string, string> | null = null;
  let others: Map<string, string> | null = null;
  let keep: number[] | null = null;
  while (r.pos < areaEnd) {
    const start = r.pos;
    const id = r.id();
    if (id === InfoId.PADDING) break;
    if (id === InfoId.KEY_VALUE) {
      strings ??= new Map();
      for (let n = r.count(); n > 0 && !r.failed; n--) strings.set(r.string(), r.string());
    } else if (id === InfoId.PERSISTENT_KEY_VALUE) {
      others ??= new Map();
      for (let n = r.count(); n > 0 && !r.failed; n--) others.set(r.string(), r.string());
    } else if (kitex && id === InfoId.INT_KEY_VALUE) {
      others ??= new Map();
      for (let n = r.count(); n > 0 && !r.failed; n--) {
        const key = r.u16();
        others.set(KITEX_INT_KEYS.get(key) ?? String(key), r.string());
      }
    } else if (kitex && id === InfoId.ACL_TOKEN) {
      r.string(); // a credential: kept on the wire, never exported as metadata
    } else {
      (keep ??= []).push(start, areaEnd); // unknown block: cannot be skipped, keep the rest verbatim
      break;
    }
    if (r.failed) return `header info block ${id} truncated`;
    if (id !== InfoId.KEY_VALUE) (keep ??= []).push(start, r.pos);
  }
  return {
    kitex,
    protocolId,
    payloadStart: areaEnd,
    transformsEnd,
    strings: strings ?? NO_INFO,
    others: others ?? NO_INFO,
    keep: keep ?? NO_KEEP,
  };
}

/** Byte size of a count/length field in the flavour (varint size for Apache). */
function intSize(kitex: boolean, value: number): number {
  if (kitex) return 2;
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function writeInt(out: Uint8Array, pos: number, kitex: boolean, value: number): number {
  if (kitex) {
    out[pos] = value >> 8;
    out[pos + 1] = value;
    return pos + 2;
  }
  while (value >= 0x80) {
    out[pos++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[pos++] = value;
  return pos;
}

/**
 * Re-emits the THeader frame `b` (`frameEnd` bytes) with `mutation` applied to its string key/value block.
 * Everything else is copied. Returns a reason string when the result cannot be represented.
 */
export function rewriteHeader(
  b: Uint8Array,
  frameEnd: number,
  info: HeaderInfo,
  mutation: ReadonlyMap<string, string>,
): Uint8Array | string {
  const kitex = info.kitex;
  const merged = new Map(info.strings);
  for (const [key, value] of mutation) merged.set(key, value);
  const encoded: Uint8Array[] = [];
  let kvSize = 0;
  for (const [key, value] of merged) {
    const k = utf8Encoder.encode(key);
    const v = utf8Encoder.encode(value);
    if (kitex && (k.length > 0xffff || v.length > 0xffff)) {
      return "TTHeader strings are limited to 65535 bytes";
    }
    encoded.push(k, v);
    kvSize += intSize(kitex, k.length) + k.length + intSize(kitex, v.length) + v.length;
  }
  if (merged.size > 0) kvSize += (kitex ? 1 : intSize(false, InfoId.KEY_VALUE)) + intSize(kitex, merged.size);
  let keptSize = 0;
  for (let i = 0; i < info.keep.length; i += 2) keptSize += info.keep[i + 1] - info.keep[i];
  const unpadded = info.transformsEnd - HEADER_AREA_OFFSET + kvSize + keptSize;
  const words = Math.ceil(unpadded / HEADER_WORD_SIZE);
  if (words > MAX_HEADER_WORDS) return `header area of ${unpadded} bytes exceeds the THeader limit`;
  const areaEnd = HEADER_AREA_OFFSET + words * HEADER_WORD_SIZE;
  const out = new Uint8Array(areaEnd + frameEnd - info.payloadStart);
  out.set(b.subarray(0, info.transformsEnd));
  writeI32(out, 0, out.length - 4);
  out[HEADER_WORDS_OFFSET] = words >> 8;
  out[HEADER_WORDS_OFFSET + 1] = words;
  let pos = info.transformsEnd;
  if (merged.size > 0) {
    pos = kitex ? (out[pos] = InfoId.KEY_VALUE, pos + 1) : writeInt(out, pos, false, InfoId.KEY_VALUE);
    pos = writeInt(out, pos, kitex, merged.size);
    for (const bytes of encoded) {
      pos = writeInt(out, pos, kitex, bytes.length);
      out.set(bytes, pos);
      pos += bytes.length;
    }
  }
  for (let i = 0; i < info.keep.length; i += 2) {
    out.set(b.subarray(info.keep[i], info.keep[i + 1]), pos);
    pos += info.keep[i + 1] - info.keep[i];
  }
  // Padding bytes are already zero; the payload follows the padded area unchanged.
  out.set(b.subarray(info.payloadStart, frameEnd), areaEnd);
  return out;
}
