/**
 * Transport and protocol detection from the first bytes of a connection, following Envoy's auto
 * transport/protocol (thrift_proxy `auto_transport_impl.cc`), extended to lax binary:
 *
 * 1. first byte 0x80 (binary version) or 0x82 (compact id): unframed; no frame length can start so, as
 *    it would be negative;
 * 2. otherwise 8 bytes: an i32 size in (0, max frame] followed by a binary/compact magic → framed, by a
 *    THeader (0x0FFF) or TTHeader (0x1000) magic → header;
 * 3. lax binary (no version word): framed when after the size comes `i32 name length, printable name,
 *    type 1..4`; unframed when that pattern starts at offset 0;
 * 4. anything else is not Thrift.
 *
 * @module
 */
import {
  BINARY_VERSION_1,
  COMPACT_PROTOCOL_ID,
  COMPACT_VERSION,
  COMPACT_VERSION_MASK,
  DETECT_PREFIX_SIZE,
  MAX_METHOD_NAME_LENGTH,
  MessageTypeId,
} from "./constants.ts";
import { isHeaderMagic } from "./header_transport.ts";
import { isPrintable, readI32, readU16 } from "./walk_state.ts";

/** A concrete transport. */
export type TransportKind = "framed" | "unframed" | "header";
/** A concrete protocol. */
export type ProtocolKind = "binary" | "compact";

/** Outcome of detection: a transport, more bytes needed (`need` = total), or not Thrift. */
export type Detected =
  | { readonly kind: "transport"; readonly transport: TransportKind }
  | { readonly kind: "need-more"; readonly need: number }
  | { readonly kind: "error"; readonly reason: string };

const FRAMED: Detected = { kind: "transport", transport: "framed" };
const UNFRAMED: Detected = { kind: "transport", transport: "unframed" };
const HEADER: Detected = { kind: "transport", transport: "header" };
const BINARY_MAGIC_HIGH = BINARY_VERSION_1 >>> 24;
const BINARY_MAGIC_LOW = (BINARY_VERSION_1 >>> 16) & 0xff;

/** Whether `b[pos]`, `b[pos + 1]` start a strict binary or compact message. */
export function isMessageMagic(b: Uint8Array, pos: number): boolean {
  return (b[pos] === BINARY_MAGIC_HIGH && b[pos + 1] === BINARY_MAGIC_LOW) ||
    (b[pos] === COMPACT_PROTOCOL_ID && (b[pos + 1] & COMPACT_VERSION_MASK) === COMPACT_VERSION);
}

/**
 * Checks for a lax binary message header at `pos` (`i32 name length ≥ 1, printable name, type 1..4`) within
 * `b[0, limit)`. Returns 1 (yes), 0 (no) or a negative number: minus the total bytes needed to decide.
 */
function laxHeaderAt(b: Uint8Array, pos: number, limit: number): number {
  const nameLength = readI32(b, pos);
  if (nameLength < 1 || nameLength > MAX_METHOD_NAME_LENGTH || pos + 4 + nameLength + 1 > limit) return 0;
  const typeAt = pos + 4 + nameLength;
  if (typeAt + 1 > b.length) {
    return isPrintable(b, pos + 4, Math.min(typeAt, b.length)) ? -(typeAt + 1) : 0;
  }
  if (!isPrintable(b, pos + 4, typeAt)) return 0;
  return b[typeAt] >= MessageTypeId.CALL && b[typeAt] <= MessageTypeId.ONEWAY ? 1 : 0;
}

/** Detects the transport of the message at the start of `b`. `allowLax` enables rule 3. */
export function detectTransport(b: Uint8Array, maxFrameSize: number, allowLax: boolean): Detected {
  if (b.length < 2) return { kind: "need-more", need: 2 };
  if (isMessageMagic(b, 0)) return UNFRAMED;
  if (b.length < DETECT_PREFIX_SIZE) return { kind: "need-more", need: DETECT_PREFIX_SIZE };
  const size = readI32(b, 0);
  const magicAt4 = isMessageMagic(b, 4) || isHeaderMagic(readU16(b, 4));
  if (magicAt4 && (size <= 0 || size > maxFrameSize)) {
    return { kind: "error", reason: `frame size ${size >>> 0} exceeds limit ${maxFrameSize}` };
  }
  if (size > 0 && size <= maxFrameSize) {
    if (isMessageMagic(b, 4)) return FRAMED;
    if (isHeaderMagic(readU16(b, 4))) return HEADER;
    if (allowLax) {
      const framedLax = laxHeaderAt(b, 4, 4 + size);
      if (framedLax === 1) return FRAMED;
      if (framedLax < 0) return { kind: "need-more", need: -framedLax };
    }
  }
  if (allowLax) {
    const unframedLax = laxHeaderAt(b, 0, maxFrameSize);
    if (unframedLax === 1) return UNFRAMED;
    if (unframedLax < 0) return { kind: "need-more", need: -unframedLax };
  }
  const start = Array.from(b.subarray(0, DETECT_PREFIX_SIZE), (x) => x.toString(16).padStart(2, "0"));
  return { kind: "error", reason: `unknown transport frame start ${start.join(" ")}` };
}

/** The protocol of the message starting at `b[pos]` (whose first byte is present). */
export function detectProtocol(b: Uint8Array, pos: number): ProtocolKind {
  return b[pos] === COMPACT_PROTOCOL_ID ? "compact" : "binary";
}
