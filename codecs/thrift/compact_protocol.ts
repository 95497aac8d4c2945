/**
 * Compact protocol walk: finds where a message ends without building values.
 *
 * Message header: 0x82, `(type << 5) | 1`, varint seqid (the i32 as unsigned), varint name length, name.
 * Field header: one byte `delta << 4 | type` (delta 0: a zigzag varint id follows); booleans live in the
 * type nibble. Integers are zigzag varints, doubles 8 bytes, binaries varint-length prefixed.
 *
 * @module
 */
import {
  COMPACT_PROTOCOL_ID,
  COMPACT_TYPE_SHIFT,
  COMPACT_VERSION,
  COMPACT_VERSION_MASK,
  CType,
  MAX_METHOD_NAME_LENGTH,
  MessageTypeId,
} from "./constants.ts";
import { malformed, needMore, skipEntries, type WalkState } from "./walk_state.ts";

/** Varint byte limits: i32 takes at most 5 bytes, i64 at most 10. */
const VARINT32_MAX_BYTES = 5;
const VARINT64_MAX_BYTES = 10;
/** List/set header: a size nibble of 15 means "the size follows as a varint". */
const LONG_SIZE_NIBBLE = 15;

/** Reads an unsigned varint32 at `pos` into `s.varint` (as uint32); returns the next position. */
export function readVarint32(s: WalkState, pos: number): number {
  const b = s.bytes;
  let value = 0;
  for (let i = 0; i < VARINT32_MAX_BYTES; i++) {
    if (pos + i >= s.end) return needMore(s, pos + i + 1);
    const byte = b[pos + i];
    if (i === VARINT32_MAX_BYTES - 1 && byte > 0x0f) return malformed(s, "varint32 overflows 32 bits");
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (byte < 0x80) {
      s.varint = value;
      return pos + i + 1;
    }
  }
  return malformed(s, "varint32 longer than 5 bytes");
}

function skipVarint(s: WalkState, pos: number, maxBytes: number): number {
  for (let i = 0; i < maxBytes; i++) {
    if (pos + i >= s.end) return needMore(s, pos + i + 1);
    if (s.bytes[pos + i] < 0x80) return pos + i + 1;
  }
  return malformed(s, `varint longer than ${maxBytes} bytes`);
}

/** Reads the message header at `pos` into `s`; returns the body start. */
export function compactMessageBegin(s: WalkState, pos: number): number {
  const b = s.bytes;
  if (pos + 2 > s.end) return needMore(s, pos + 2);
  if (b[pos] !== COMPACT_PROTOCOL_ID) return malformed(s, `bad compact protocol id 0x${b[pos].toString(16)}`);
  if ((b[pos + 1] & COMPACT_VERSION_MASK) !== COMPACT_VERSION) {
    return malformed(s, `bad compact version ${b[pos + 1] & COMPACT_VERSION_MASK}`);
  }
  s.messageType = b[pos + 1] >> COMPACT_TYPE_SHIFT;
  if (s.messageType < MessageTypeId.CALL || s.messageType > MessageTypeId.ONEWAY) {
    return malformed(s, `unknown message type ${s.messageType}`);
  }
  s.seqidOffset = pos + 2;
  let next = readVarint32(s, pos + 2);
  if (next < 0) return next;
  s.seqid = s.varint | 0;
  s.seqidLength = next - s.seqidOffset;
  next = readVarint32(s, next);
  if (next < 0) return next;
  if (s.varint > MAX_METHOD_NAME_LENGTH) {
    return malformed(s, `method name length ${s.varint} exceeds limit ${MAX_METHOD_NAME_LENGTH}`);
  }
  s.nameStart = next;
  s.nameEnd = next + s.varint;
  return s.nameEnd > s.end ? needMore(s, s.nameEnd) : s.nameEnd;
}

/** Walks one whole message (header and body struct) at `pos`; returns its end. */
export function compactWalkMessage(s: WalkState, pos: number): number {
  const body = compactMessageBegin(s, pos);
  if (body < 0) return body;
  if (body + 1 > s.end) return needMore(s, body + 1);
  const header = s.bytes[body];
  if (header !== CType.STOP) {
    if (header >> 4 !== 0) s.firstFieldId = header >> 4;
    else {
      const next = readVarint32(s, body + 1);
      if (next < 0) return next;
      s.firstFieldId = (s.varint >>> 1) ^ -(s.varint & 1);
    }
  }
  return skipStruct(s, body, 1);
}

function skipStruct(s: WalkState, pos: number, depth: number): number {
  if (depth > s.maxDepth) return malformed(s, `nesting deeper than ${s.maxDepth}`);
  for (;;) {
    if (pos + 1 > s.end) return needMore(s, pos + 1);
    const header = s.bytes[pos];
    if (header === CType.STOP) return pos + 1;
    pos++;
    if (header >> 4 === 0) {
      pos = skipVarint(s, pos, VARINT32_MAX_BYTES);
      if (pos < 0) return pos;
    }
    const type = header & 0x0f;
    // Booleans as fields carry their value in the type nibble.
    if (type === CType.BOOL_TRUE || type === CType.BOOL_FALSE) continue;
    pos = skipValue(s, type, pos, depth);
    if (pos < 0) return pos;
  }
}

function skipValue(s: WalkState, type: number, pos: number, depth: number): number {
  switch (type) {
    case CType.BOOL_TRUE:
    case CType.BOOL_FALSE:
    case CType.BYTE:
      return pos + 1 > s.end ? needMore(s, pos + 1) : pos + 1;
    case CType.I16:
    case CType.I32:
      return skipVarint(s, pos, VARINT32_MAX_BYTES);
    case CType.I64:
      return skipVarint(s, pos, VARINT64_MAX_BYTES);
    case CType.DOUBLE:
      return pos + 8 > s.end ? needMore(s, pos + 8) : pos + 8;
    case CType.UUID:
      return pos + 16 > s.end ? needMore(s, pos + 16) : pos + 16;
    case CType.BINARY: {
      const next = readVarint32(s, pos);
      if (next < 0) return next;
      if (s.varint > s.maxLength) {
        return malformed(s, `string length ${s.varint} exceeds limit ${s.maxLength}`);
      }
      const end = next + s.varint;
      return end > s.end ? needMore(s, end) : end;
    }
    case CType.STRUCT:
      return skipStruct(s, pos, depth + 1);
    case CType.LIST:
    case CType.SET: {
      if (pos + 1 > s.end) return needMore(s, pos + 1);
      const header = s.bytes[pos];
      let count = header >> 4;
      let next = pos + 1;
      if (count === LONG_SIZE_NIBBLE) {
        next = readVarint32(s, next);
        if (next < 0) return next;
        count = s.varint;
      }
      return skipElements(s, next, count, header & 0x0f, -1, depth);
    }
    case CType.MAP: {
      let next = readVarint32(s, pos);
      if (next < 0) return next;
      const count = s.varint;
      if (count === 0) return next;
      if (next + 1 > s.end) return needMore(s, next + 1);
      const types = s.bytes[next++];
      return skipElements(s, next, count, types >> 4, types & 0x0f, depth);
    }
    default:
      return malformed(s, `unknown field type ${type}`);
  }
}

/** Skips `count` elements (pairs when `valueType` ≥ 0); every element takes ≥ 1 byte, so `count` is bounded first. */
function skipElements(
  s: WalkState,
  pos: number,
  count: number,
  keyType: number,
  valueType: number,
  depth: number,
): number {
  if (depth + 1 > s.maxDepth) return malformed(s, `nesting deeper than ${s.maxDepth}`);
  const each = valueType >= 0 ? 2 : 1;
  return skipEntries(s, pos, count, each, keyType, valueType, depth, skipValue);
}
