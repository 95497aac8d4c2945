/**
 * Local replies: a TApplicationException message (type EXCEPTION) carrying the request's method name and
 * seqid, in the request's protocol and transport, so stock clients (which match replies on seqid and
 * method) reject the call instead of hanging.
 *
 * Body: struct { 1: string message, 2: i32 type }. Kind → type: `route_not_found` → UNKNOWN_METHOD (1),
 * `bad_response` → PROTOCOL_ERROR (7), everything else → INTERNAL_ERROR (6); only Apache's own type
 * numbers are used so every client library knows them.
 *
 * @module
 */
import type { LocalErrorKind } from "../codec.ts";
import {
  AppExceptionType,
  BINARY_VERSION_1,
  COMPACT_PROTOCOL_ID,
  COMPACT_TYPE_SHIFT,
  COMPACT_VERSION,
  CType,
  FRAME_LENGTH_SIZE,
  HEADER_AREA_OFFSET,
  HEADER_MAGIC_OFFSET,
  HEADER_SEQID_OFFSET,
  HEADER_WORDS_OFFSET,
  MessageTypeId,
  TType,
} from "./constants.ts";
import { writeI32 } from "./walk_state.ts";

const utf8 = new TextEncoder();

/** How a reply must be framed and serialised to match its request. */
export interface ReplyShape {
  readonly transport: "framed" | "unframed" | "header";
  readonly protocol: "binary" | "compact";
  /** Binary without the version word. */
  readonly lax: boolean;
  /** THeader magic (0x0FFF or 0x1000) and protocol id, for header transport. */
  readonly headerMagic: number;
  readonly headerProtocolId: number;
}

/** The TApplicationException type a local error of `kind` is reported with. */
export function appExceptionType(kind: LocalErrorKind): number {
  if (kind === "route_not_found") return AppExceptionType.UNKNOWN_METHOD;
  if (kind === "bad_response") return AppExceptionType.PROTOCOL_ERROR;
  return AppExceptionType.INTERNAL_ERROR;
}

function varintSize(value: number): number {
  let size = 1;
  for (let v = value >>> 0; v >= 0x80; v >>>= 7) size++;
  return size;
}

function writeVarint(out: Uint8Array, pos: number, value: number): number {
  let v = value >>> 0;
  while (v >= 0x80) {
    out[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[pos++] = v;
  return pos;
}

/** Size of the message alone in the given protocol. */
function messageSize(
  shape: ReplyShape,
  name: Uint8Array,
  text: Uint8Array,
  seqid: number,
  type: number,
): number {
  if (shape.protocol === "compact") {
    return 2 + varintSize(seqid) + varintSize(name.length) + name.length + 1 + varintSize(text.length) +
      text.length + 1 + varintSize(((type << 1) ^ (type >> 31)) >>> 0) + 1;
  }
  const header = shape.lax ? 4 + name.length + 1 + 4 : 8 + name.length + 4;
  return header + 3 + 4 + text.length + 3 + 4 + 1;
}

function writeMessage(
  out: Uint8Array,
  pos: number,
  shape: ReplyShape,
  parts: { name: Uint8Array; text: Uint8Array; seqid: number; type: number },
): void {
  const { name, text, seqid, type } = parts;
  if (shape.protocol === "compact") {
    out[pos++] = COMPACT_PROTOCOL_ID;
    out[pos++] = (MessageTypeId.EXCEPTION << COMPACT_TYPE_SHIFT) | COMPACT_VERSION;
    pos = writeVarint(out, pos, seqid);
    pos = writeVarint(out, pos, name.length);
    out.set(name, pos);
    pos += name.length;
    out[pos++] = (1 << 4) | CType.BINARY; // field 1 (delta 1): message
    pos = writeVarint(out, pos, text.length);
    out.set(text, pos);
    pos += text.length;
    out[pos++] = (1 << 4) | CType.I32; // field 2 (delta 1): type, zigzag
    pos = writeVarint(out, pos, ((type << 1) ^ (type >> 31)) >>> 0);
    out[pos] = CType.STOP;
    return;
  }
  if (shape.lax) {
    writeI32(out, pos, name.length);
    out.set(name, pos + 4);
    pos += 4 + name.length;
    out[pos++] = MessageTypeId.EXCEPTION;
  } else {
    writeI32(out, pos, BINARY_VERSION_1 | MessageTypeId.EXCEPTION);
    writeI32(out, pos + 4, name.length);
    out.set(name, pos + 8);
    pos += 8 + name.length;
  }
  writeI32(out, pos, seqid);
  out.set([TType.STRING, 0, 1], pos + 4);
  writeI32(out, pos + 7, text.length);
  out.set(text, pos + 11);
  pos += 11 + text.length;
  out.set([TType.I32, 0, 2], pos);
  writeI32(out, pos + 3, type);
  out[pos + 7] = TType.STOP;
}

/** THeader area of a reply: protocol id and zero transforms, padded to one word. */
const REPLY_HEADER_AREA = 4;

/**
 * Renders the TApplicationException reply to a request with `method` and `seqid`, framed like `shape`.
 * `method` is the name without any `Service:` prefix (servers answer multiplexed calls that way).
 */
export function renderAppException(
  shape: ReplyShape,
  request: { method: string; seqid: number },
  error: { kind: LocalErrorKind; message: string },
): Uint8Array {
  const name = utf8.encode(request.method);
  const text = utf8.encode(error.message);
  const type = appExceptionType(error.kind);
  const size = messageSize(shape, name, text, request.seqid, type);
  const parts = { name, text, seqid: request.seqid, type };
  if (shape.transport === "unframed") {
    const out = new Uint8Array(size);
    writeMessage(out, 0, shape, parts);
    return out;
  }
  if (shape.transport === "framed") {
    const out = new Uint8Array(FRAME_LENGTH_SIZE + size);
    writeI32(out, 0, size);
    writeMessage(out, FRAME_LENGTH_SIZE, shape, parts);
    return out;
  }
  const payloadStart = HEADER_AREA_OFFSET + REPLY_HEADER_AREA;
  const out = new Uint8Array(payloadStart + size);
  writeI32(out, 0, out.length - FRAME_LENGTH_SIZE);
  out[HEADER_MAGIC_OFFSET] = shape.headerMagic >> 8;
  out[HEADER_MAGIC_OFFSET + 1] = shape.headerMagic;
  writeI32(out, HEADER_SEQID_OFFSET, request.seqid);
  out[HEADER_WORDS_OFFSET + 1] = 1;
  out[HEADER_AREA_OFFSET] = shape.headerProtocolId; // then 0 transforms and padding: already zero
  writeMessage(out, payloadStart, shape, parts);
  return out;
}
