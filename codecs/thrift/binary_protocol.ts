/**
 * Binary protocol walk: finds where a message ends without building values.
 *
 * Strict message header: i32 `0x8001_0000 | type`, i32 name length, name, i32 seqid.
 * Lax (old, non-strict) header: i32 name length, name, i8 type, i32 seqid.
 * Body: a struct of fields `i8 type, i16 id, value`, ended by a STOP byte.
 *
 * @module
 */
import {
  BINARY_VERSION_1,
  BINARY_VERSION_MASK,
  MAX_METHOD_NAME_LENGTH,
  MessageTypeId,
  TType,
} from "./constants.ts";
import { malformed, needMore, readI32, skipEntries, type WalkState } from "./walk_state.ts";

/** Fixed sizes of scalar TTypes (0 = not a scalar). */
const SCALAR_SIZE = new Uint8Array(17);
SCALAR_SIZE[TType.BOOL] = 1;
SCALAR_SIZE[TType.BYTE] = 1;
SCALAR_SIZE[TType.I16] = 2;
SCALAR_SIZE[TType.I32] = 4;
SCALAR_SIZE[TType.DOUBLE] = 8;
SCALAR_SIZE[TType.I64] = 8;
SCALAR_SIZE[TType.UUID] = 16;

/** The smallest encoding of one value of each type (strings 4, structs 1), for container bounds. */
function minSize(type: number): number {
  const scalar = SCALAR_SIZE[type];
  if (scalar) return scalar;
  return type === TType.STRUCT ? 1 : type === TType.MAP ? 6 : 5;
}

function isValueType(type: number): boolean {
  return type < SCALAR_SIZE.length && (SCALAR_SIZE[type] !== 0 || type >= TType.STRING);
}

/**
 * Reads the message header at `pos` (strict or lax) into `s`; returns the body start.
 * `allowLax` false rejects a header whose first bit is clear.
 */
export function binaryMessageBegin(s: WalkState, pos: number, allowLax: boolean): number {
  const b = s.bytes;
  if (pos + 4 > s.end) return needMore(s, pos + 4);
  const first = readI32(b, pos);
  let nameLength: number;
  let namePos: number;
  if (first < 0) {
    if ((first & BINARY_VERSION_MASK) !== (BINARY_VERSION_1 | 0)) {
      return malformed(s, `bad binary version 0x${(first >>> 0).toString(16)}`);
    }
    s.messageType = first & 0xff;
    if (pos + 8 > s.end) return needMore(s, pos + 8);
    nameLength = readI32(b, pos + 4);
    namePos = pos + 8;
  } else {
    if (!allowLax) return malformed(s, "missing binary version (lax binary not allowed)");
    s.lax = true;
    nameLength = first;
    namePos = pos + 4;
  }
  if (nameLength < 0 || nameLength > MAX_METHOD_NAME_LENGTH) {
    return malformed(s, `method name length ${nameLength} exceeds limit ${MAX_METHOD_NAME_LENGTH}`);
  }
  s.nameStart = namePos;
  s.nameEnd = namePos + nameLength;
  let seqPos = s.nameEnd;
  if (s.lax) {
    if (seqPos + 1 > s.end) return needMore(s, seqPos + 1);
    s.messageType = b[seqPos++];
  }
  if (s.messageType < MessageTypeId.CALL || s.messageType > MessageTypeId.ONEWAY) {
    return malformed(s, `unknown message type ${s.messageType}`);
  }
  if (seqPos + 4 > s.end) return needMore(s, seqPos + 4);
  s.seqid = readI32(b, seqPos);
  s.seqidOffset = seqPos;
  s.seqidLength = 4;
  return seqPos + 4;
}

/** Walks one whole message (header and body struct) at `pos`; returns its end. */
export function binaryWalkMessage(s: WalkState, pos: number, allowLax: boolean): number {
  const body = binaryMessageBegin(s, pos, allowLax);
  if (body < 0) return body;
  if (body + 1 > s.end) return needMore(s, body + 1);
  if (s.bytes[body] !== TType.STOP) {
    if (body + 3 > s.end) return needMore(s, body + 3);
    s.firstFieldId = (s.bytes[body + 1] << 8 | s.bytes[body + 2]) << 16 >> 16;
  }
  return skipStruct(s, body, 1);
}

function skipStruct(s: WalkState, pos: number, depth: number): number {
  if (depth > s.maxDepth) return malformed(s, `nesting deeper than ${s.maxDepth}`);
  const b = s.bytes;
  for (;;) {
    if (pos + 1 > s.end) return needMore(s, pos + 1);
    const type = b[pos];
    if (type === TType.STOP) return pos + 1;
    if (pos + 3 > s.end) return needMore(s, pos + 3);
    pos = skipValue(s, type, pos + 3, depth);
    if (pos < 0) return pos;
  }
}

function skipValue(s: WalkState, type: number, pos: number, depth: number): number {
  if (!isValueType(type)) return malformed(s, `unknown field type ${type}`);
  const scalar = SCALAR_SIZE[type];
  if (scalar) return pos + scalar > s.end ? needMore(s, pos + scalar) : pos + scalar;
  const b = s.bytes;
  switch (type) {
    case TType.STRING: {
      if (pos + 4 > s.end) return needMore(s, pos + 4);
      const length = readI32(b, pos);
      if (length < 0 || length > s.maxLength) {
        return malformed(s, `string length ${length} exceeds limit ${s.maxLength}`);
      }
      const end = pos + 4 + length;
      return end > s.end ? needMore(s, end) : end;
    }
    case TType.STRUCT:
      return skipStruct(s, pos, depth + 1);
    case TType.MAP: {
      if (pos + 6 > s.end) return needMore(s, pos + 6);
      const keyType = b[pos];
      const valueType = b[pos + 1];
      const count = readI32(b, pos + 2);
      return skipElements(s, pos + 6, count, keyType, valueType, depth);
    }
    default: { // SET, LIST
      if (pos + 5 > s.end) return needMore(s, pos + 5);
      return skipElements(s, pos + 5, readI32(b, pos + 1), b[pos], -1, depth);
    }
  }
}

/** Skips `count` elements (pairs when `valueType` ≥ 0), bounding `count` before looping. */
function skipElements(
  s: WalkState,
  pos: number,
  count: number,
  keyType: number,
  valueType: number,
  depth: number,
): number {
  if (depth + 1 > s.maxDepth) return malformed(s, `nesting deeper than ${s.maxDepth}`);
  if (!isValueType(keyType) || (valueType >= 0 && !isValueType(valueType))) {
    return malformed(s, `unknown element type ${isValueType(keyType) ? valueType : keyType}`);
  }
  const each = minSize(keyType) + (valueType >= 0 ? minSize(valueType) : 0);
  return skipEntries(s, pos, count, each, keyType, valueType, depth, skipValue);
}
