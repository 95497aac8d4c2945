/**
 * The Thrift codec instance: one per connection and role. It finds message boundaries (frame length, or a
 * walk of the message struct when unframed), forwards the original bytes, exports `method`/`service` and
 * THeader info headers as metadata, rewrites seqids for multiplexing and renders TApplicationException
 * local replies in the request's transport and protocol.
 *
 * Message types: call → request, oneway → oneway, reply → response, exception (TApplicationException) →
 * error with ok=false, and a reply whose result struct holds a field id ≠ 0 (a declared IDL exception) →
 * error with ok=false: both are failed calls for access logs and stats, and both are forwarded.
 *
 * @module
 */
import type {
  Codec,
  DecodeResult,
  EncodeResult,
  Frame,
  LocalError,
  MessageType,
  RequestId,
} from "../codec.ts";
import { compactWalkMessage } from "./compact_protocol.ts";
import { binaryWalkMessage } from "./binary_protocol.ts";
import {
  FRAME_LENGTH_SIZE,
  HEADER_AREA_OFFSET,
  HEADER_MAGIC_OFFSET,
  HEADER_SEQID_OFFSET,
  HEADER_WORD_SIZE,
  HEADER_WORDS_OFFSET,
  HeaderProtocolId,
  MessageTypeId,
  MULTIPLEX_SEPARATOR,
} from "./constants.ts";
import { type HeaderInfo, NO_INFO, parseHeader, rewriteHeader } from "./header_transport.ts";
import { renderAppException, type ReplyShape } from "./local_reply.ts";
import { allocate } from "./slab.ts";
import { detectProtocol, detectTransport, type ProtocolKind, type TransportKind } from "./transport.ts";
import { MALFORMED, NEED_MORE, readI32, readU16, WalkState, writeI32 } from "./walk_state.ts";

/** Validated codec options (see `mod.ts` for the config fields). */
export interface ThriftOptions {
  readonly transport: "auto" | TransportKind;
  readonly protocol: "auto" | ProtocolKind;
  readonly maxFrameSize: number;
  readonly maxDepth: number;
}

/** What the codec remembers about a frame (`Frame.private`). */
export interface ThriftFrameFacts extends ReplyShape {
  readonly messageType: number;
  /** The method name without a `Service:` prefix. */
  readonly method: string;
  readonly seqid: number;
}

const utf8 = new TextDecoder();
const TYPE_NAMES: readonly MessageType[] = ["request", "request", "response", "error", "oneway"];
const I32_MIN = -(2 ** 31);
const U32_LIMIT = 2 ** 32;

function error(reason: string): DecodeResult {
  return { kind: "error", reason: `Cannot decode Thrift message: ${reason}` };
}

/** A Thrift codec bound to one connection. */
export class ThriftCodec implements Codec {
  readonly #options: ThriftOptions;
  readonly #walk = new WalkState();
  /** Pinned by config, or learnt from the first frame (sticky afterwards, as Envoy's auto transport). */
  #transport: "auto" | TransportKind;
  #protocol: "auto" | ProtocolKind;
  /** The last method name decoded and its bytes (see `#name`). */
  #lastName = "";
  #lastNameBytes = new Uint8Array(0);

  constructor(options: ThriftOptions) {
    this.#options = options;
    this.#transport = options.transport;
    this.#protocol = options.protocol;
    this.#walk.maxDepth = options.maxDepth;
    this.#walk.maxLength = options.maxFrameSize;
  }

  decode(input: Uint8Array): DecodeResult {
    let transport = this.#transport;
    if (transport === "auto") {
      const detected = detectTransport(input, this.#options.maxFrameSize, this.#protocol !== "compact");
      if (detected.kind === "need-more") return { kind: "need-more", atLeast: detected.need };
      if (detected.kind === "error") return error(detected.reason);
      transport = detected.transport;
    }
    if (transport === "unframed") return this.#decodeMessage(input, transport, 0, input.length, null);
    if (input.length < FRAME_LENGTH_SIZE) return { kind: "need-more", atLeast: FRAME_LENGTH_SIZE };
    const size = readI32(input, 0);
    if (size <= 0 || size > this.#options.maxFrameSize) {
      return error(`frame size ${size >>> 0} exceeds limit ${this.#options.maxFrameSize}`);
    }
    const frameEnd = FRAME_LENGTH_SIZE + size;
    if (transport === "header" && frameEnd < HEADER_AREA_OFFSET) {
      return error(`THeader frame size ${size} too small`);
    }
    if (input.length < frameEnd) return { kind: "need-more", atLeast: frameEnd };
    if (transport === "framed") {
      return this.#decodeMessage(input, transport, FRAME_LENGTH_SIZE, frameEnd, null);
    }
    const info = parseHeader(input, frameEnd);
    if (typeof info === "string") return error(info);
    return this.#decodeMessage(input, transport, info.payloadStart, frameEnd, info);
  }

  /** Walks the message at `start`; `end` is the frame end (framed/header) or the input end (unframed). */
  #decodeMessage(
    input: Uint8Array,
    transport: TransportKind,
    start: number,
    end: number,
    header: HeaderInfo | null,
  ): DecodeResult {
    if (start >= end) {
      return transport === "unframed" ? { kind: "need-more", atLeast: 1 } : error("empty frame");
    }
    let protocol = this.#protocol;
    const found: ProtocolKind = header
      ? (header.protocolId === HeaderProtocolId.COMPACT ? "compact" : "binary")
      : detectProtocol(input, start);
    if (protocol === "auto") protocol = found;
    else if (found !== protocol) return error(`expected ${protocol} protocol, got ${found}`);
    const s = this.#walk;
    s.reset(input, end);
    const walked = protocol === "compact" ? compactWalkMessage(s, start) : binaryWalkMessage(s, start, true);
    if (walked === MALFORMED) return error(s.reason);
    if (walked === NEED_MORE) {
      if (transport !== "unframed") {
        return error(`message truncated by its frame (needs ${s.needAt - start} bytes)`);
      }
      if (s.needAt > this.#options.maxFrameSize) {
        return error(`message size ${s.needAt} exceeds limit ${this.#options.maxFrameSize}`);
      }
      return { kind: "need-more", atLeast: s.needAt };
    }
    if (transport !== "unframed" && walked !== end) return error(`${end - walked} trailing bytes in frame`);
    if (this.#transport === "auto") this.#transport = transport;
    if (this.#options.protocol === "auto") this.#protocol = protocol;
    return this.#frame(
      walked === input.length ? input : input.subarray(0, walked),
      transport,
      protocol,
      header,
    );
  }

  #frame(bytes: Uint8Array, transport: TransportKind, protocol: ProtocolKind, header: HeaderInfo | null) {
    const s = this.#walk;
    const fullName = this.#name(bytes, s.nameStart, s.nameEnd);
    const metadata = new Map<string, string>();
    if (header) {
      if (header.others !== NO_INFO) { for (const [key, value] of header.others) metadata.set(key, value); }
      if (header.strings !== NO_INFO) { for (const [key, value] of header.strings) metadata.set(key, value); }
    }
    metadata.set("method", fullName);
    const split = fullName.indexOf(MULTIPLEX_SEPARATOR);
    const method = split < 0 ? fullName : fullName.slice(split + 1);
    if (split >= 0) metadata.set("service", fullName.slice(0, split));
    const declaredException = s.messageType === MessageTypeId.REPLY && s.firstFieldId > 0;
    const type = declaredException ? "error" : TYPE_NAMES[s.messageType];
    const facts: ThriftFrameFacts = {
      transport,
      protocol,
      lax: s.lax,
      headerMagic: header ? readU16(bytes, HEADER_MAGIC_OFFSET) : 0,
      headerProtocolId: header ? header.protocolId : 0,
      messageType: s.messageType,
      method,
      seqid: s.seqid,
    };
    const frame: Frame = {
      type,
      requestId: s.seqid,
      bytes,
      metadata,
      ok: type !== "error",
      operation: split < 0 ? fullName : `${fullName.slice(0, split)}/${method}`,
      private: facts,
    };
    return { kind: "frame" as const, frame, size: bytes.length };
  }

  /**
   * The method name at `b[start, end)`: the previous frame's string when the bytes are the same (a
   * connection mostly repeats a few methods; comparing a short name costs less than decoding it).
   */
  #name(b: Uint8Array, start: number, end: number): string {
    const last = this.#lastNameBytes;
    const length = end - start;
    if (last.length === length) {
      let i = 0;
      while (i < length && b[start + i] === last[i]) i++;
      if (i === length) return this.#lastName;
    }
    this.#lastName = utf8.decode(b.subarray(start, end));
    this.#lastNameBytes = b.slice(start, end);
    return this.#lastName;
  }

  encode(frame: Frame, mutation: ReadonlyMap<string, string>): EncodeResult {
    if (mutation.size === 0) return { kind: "bytes", bytes: frame.bytes };
    const facts = frame.private as ThriftFrameFacts;
    if (facts.transport !== "header") {
      return { kind: "not-applicable", reason: `Thrift ${facts.transport} transport carries no headers` };
    }
    const info = parseHeader(frame.bytes, frame.bytes.length);
    const out = typeof info === "string"
      ? info
      : rewriteHeader(frame.bytes, frame.bytes.length, info, mutation);
    if (typeof out === "string") return { kind: "not-applicable", reason: `Cannot rewrite THeader: ${out}` };
    return { kind: "bytes", bytes: out };
  }

  setRequestId(frame: Frame, bytes: Uint8Array, id: RequestId): Uint8Array {
    const n = Number(id);
    if (!Number.isInteger(n) || n < I32_MIN || n >= U32_LIMIT) {
      throw new RangeError(`Cannot set Thrift seqid ${id}: seqids are 32-bit`);
    }
    const seqid = n | 0;
    const facts = frame.private as ThriftFrameFacts;
    // Offsets are found in `bytes` itself: it may be an encoded (header-rewritten) copy of the frame.
    let start = 0;
    if (facts.transport === "framed") start = FRAME_LENGTH_SIZE;
    if (facts.transport === "header") {
      start = HEADER_AREA_OFFSET + readU16(bytes, HEADER_WORDS_OFFSET) * HEADER_WORD_SIZE;
      writeI32(bytes, HEADER_SEQID_OFFSET, seqid);
    }
    if (facts.protocol === "binary") {
      const at = facts.lax ? start + 4 + readI32(bytes, start) + 1 : start + 8 + readI32(bytes, start + 4);
      writeI32(bytes, at, seqid);
      return bytes;
    }
    return setCompactSeqid(bytes, start, facts.transport !== "unframed", seqid);
  }

  localReply(request: Frame, error: LocalError): Uint8Array | null {
    if (request.type === "oneway") return null;
    const facts = request.private as ThriftFrameFacts;
    return renderAppException(facts, { method: facts.method, seqid: facts.seqid }, error);
  }

  heartbeatReply(_heartbeat: Frame): Uint8Array | null {
    return null; // Thrift has no heartbeat message
  }
}

/** Rewrites the varint seqid of the compact message at `start`; a length change makes a new array. */
function setCompactSeqid(
  bytes: Uint8Array,
  start: number,
  lengthPrefixed: boolean,
  seqid: number,
): Uint8Array {
  const at = start + 2;
  let oldLength = 1;
  while (bytes[at + oldLength - 1] >= 0x80) oldLength++;
  let newLength = 1;
  for (let v = seqid >>> 0; v >= 0x80; v >>>= 7) newLength++;
  const out = newLength === oldLength ? bytes : allocate(bytes.length - oldLength + newLength);
  if (out !== bytes) {
    out.set(bytes.subarray(0, at));
    out.set(bytes.subarray(at + oldLength), at + newLength);
    if (lengthPrefixed) writeI32(out, 0, out.length - FRAME_LENGTH_SIZE);
  }
  let pos = at;
  let v = seqid >>> 0;
  for (; v >= 0x80; v >>>= 7) out[pos++] = (v & 0x7f) | 0x80;
  out[pos] = v;
  return out;
}
