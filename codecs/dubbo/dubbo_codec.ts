/**
 * The Dubbo codec instance: frames Dubbo 2 messages (16-byte header + Hessian2 body), exposes request
 * routing metadata, applies attachment mutations, rewrites request ids and renders native error replies.
 *
 * Decoding is stateless between calls (the header is re-read on every attempt, 16 bytes), so
 * `need-more` trivially changes nothing.
 *
 * @module
 */
import type { Codec, DecodeResult, EncodeResult, Frame, LocalError, RequestId } from "../codec.ts";
import {
  BODY_LENGTH_OFFSET,
  FLAG_EVENT,
  FLAG_OFFSET,
  FLAG_REQUEST,
  FLAG_TWO_WAY,
  HEADER_SIZE,
  HESSIAN_NULL,
  KNOWN_STATUS,
  MAGIC,
  REQUEST_ID_OFFSET,
  ResponseType,
  SERIALIZATION_HESSIAN2,
  SERIALIZATION_MASK,
  Status,
  STATUS_OFFSET,
} from "./constants.ts";
import { Hessian2Reader, type HessianLimits } from "./hessian2_reader.ts";
import { stringSize, writeString } from "./hessian2_writer.ts";
import {
  parseRequestBody,
  rebuildWithAttachments,
  type RequestInfo,
  type RequestLayout,
} from "./request_body.ts";

/** Limits of one codec instance. */
export interface DubboLimits {
  /** Largest accepted body, bytes. */
  readonly maxBodySize: number;
  /** Hessian2 reader limits. */
  readonly hessian: HessianLimits;
}

/** Codec-private facts kept on request frames (`Frame.private`). */
export interface DubboRequestPrivate {
  readonly layout: RequestLayout;
}

/** Frame flag of a response (serialization id only), and of a heartbeat response. */
const RESPONSE_FLAG = SERIALIZATION_HESSIAN2;
const HEARTBEAT_RESPONSE_FLAG = FLAG_EVENT | SERIALIZATION_HESSIAN2;

/** The metadata of responses and heartbeats (never parsed): one shared map that refuses writes. */
class NoMetadata extends Map<string, string> {
  override set(key: string, _value: string): this {
    throw new TypeError(`Cannot set '${key}': Dubbo response metadata is read-only`);
  }
}
const NO_METADATA: Map<string, string> = new NoMetadata();

const NEED_HEADER: DecodeResult = { kind: "need-more", atLeast: HEADER_SIZE };
const NO_REPLY_KINDS = new Set<Frame["type"]>(["oneway", "heartbeat"]);

/** Dubbo status sent for each local error kind (anything unlisted → 80 SERVER_ERROR). */
const LOCAL_STATUS: Partial<Record<LocalError["kind"], number>> = {
  route_not_found: Status.SERVICE_NOT_FOUND,
  bad_response: Status.BAD_RESPONSE,
  timeout: Status.SERVER_TIMEOUT,
  overloaded: Status.SERVER_THREADPOOL_EXHAUSTED_ERROR,
  rate_limited: Status.SERVER_THREADPOOL_EXHAUSTED_ERROR,
};

function hex(n: number, digits: number): string {
  return "0x" + n.toString(16).padStart(digits, "0");
}

/** Reads the int64 request id at offset 4 as an unsigned value (Aeraki stores it as u64). */
function readRequestId(bytes: Uint8Array): RequestId {
  const hi = ((bytes[4] << 24) | (bytes[5] << 16) | (bytes[6] << 8) | bytes[7]) >>> 0;
  const lo = ((bytes[8] << 24) | (bytes[9] << 16) | (bytes[10] << 8) | bytes[11]) >>> 0;
  if (hi < 0x200000) return hi * 0x100000000 + lo; // < 2^53: exact as a number
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** A Dubbo codec bound to one connection; see {@linkcode Codec}. */
export class DubboCodec implements Codec {
  #limits: DubboLimits;
  #reader: Hessian2Reader;
  #info: RequestInfo = { interface: "", method: "", layout: undefined, error: "" };

  constructor(limits: DubboLimits) {
    this.#limits = limits;
    this.#reader = new Hessian2Reader(limits.hessian);
  }

  /** Decodes one frame from the start of `input`; see {@linkcode Codec.decode}. */
  decode(input: Uint8Array): DecodeResult {
    if (input.length < HEADER_SIZE) return NEED_HEADER;
    const magic = (input[0] << 8) | input[1];
    if (magic !== MAGIC) return fail(`Cannot decode Dubbo frame: bad magic ${hex(magic, 4)}`);
    const flag = input[FLAG_OFFSET];
    const serialization = flag & SERIALIZATION_MASK;
    if (serialization !== SERIALIZATION_HESSIAN2) {
      return fail(
        `Cannot decode Dubbo frame: serialization id ${serialization} is not hessian2 (${SERIALIZATION_HESSIAN2})`,
      );
    }
    const bodyLength = (input[BODY_LENGTH_OFFSET] << 24) | (input[BODY_LENGTH_OFFSET + 1] << 16) |
      (input[BODY_LENGTH_OFFSET + 2] << 8) | input[BODY_LENGTH_OFFSET + 3];
    if (bodyLength < 0) return fail(`Cannot decode Dubbo frame: negative body size ${bodyLength}`);
    if (bodyLength > this.#limits.maxBodySize) {
      return fail(
        `Cannot decode Dubbo frame: body size ${bodyLength} exceeds limit ${this.#limits.maxBodySize}`,
      );
    }
    const isRequest = (flag & FLAG_REQUEST) !== 0;
    const status = input[STATUS_OFFSET];
    if (!isRequest && !KNOWN_STATUS[status]) {
      return fail(`Cannot decode Dubbo frame: unknown response status ${status}`);
    }
    const size = HEADER_SIZE + bodyLength;
    if (input.length < size) return { kind: "need-more", atLeast: size };
    const bytes = size === input.length ? input : input.subarray(0, size);
    const requestId = readRequestId(bytes);
    if ((flag & FLAG_EVENT) !== 0) {
      return found({ type: "heartbeat", requestId, bytes, metadata: NO_METADATA, ok: true, operation: "" });
    }
    if (isRequest) return this.#decodeRequest(bytes, flag, requestId);
    if (status !== Status.OK) {
      return found({ type: "error", requestId, bytes, metadata: NO_METADATA, ok: false, operation: "" });
    }
    return this.#decodeResponse(bytes, requestId);
  }

  #decodeRequest(bytes: Uint8Array, flag: number, requestId: RequestId): DecodeResult {
    const reader = this.#reader, info = this.#info;
    reader.reset(bytes, HEADER_SIZE, bytes.length);
    info.error = "";
    info.layout = undefined;
    const metadata = new Map<string, string>();
    parseRequestBody(reader, metadata, info);
    if (info.error) return fail(info.error);
    const type = (flag & FLAG_TWO_WAY) !== 0 ? "request" : "oneway";
    const priv: DubboRequestPrivate = { layout: info.layout! };
    const operation = `${info.interface}/${info.method}`;
    return found({ type, requestId, bytes, metadata, ok: true, operation, private: priv });
  }

  /** Status-20 response: only the leading response-type int is read, values are never parsed. */
  #decodeResponse(bytes: Uint8Array, requestId: RequestId): DecodeResult {
    const reader = this.#reader;
    reader.reset(bytes, HEADER_SIZE, bytes.length);
    const kind = reader.readInt();
    if (Number.isNaN(kind)) return fail(`Cannot decode Dubbo response: response type: ${reader.error}`);
    if (kind < ResponseType.EXCEPTION || kind > ResponseType.NULL_VALUE_WITH_ATTACHMENTS) {
      return fail(`Cannot decode Dubbo response: response type ${kind} is not supported`);
    }
    if (kind === ResponseType.NULL_VALUE && reader.pos !== bytes.length) {
      return fail(`Cannot decode Dubbo response: null value followed by ${bytes.length - reader.pos} bytes`);
    }
    const exception = kind === ResponseType.EXCEPTION || kind === ResponseType.EXCEPTION_WITH_ATTACHMENTS;
    const type = exception ? "error" : "response";
    return found({ type, requestId, bytes, metadata: NO_METADATA, ok: !exception, operation: "" });
  }

  /** Applies `mutation` to a request's attachments; see {@linkcode Codec.encode}. */
  encode(frame: Frame, mutation: ReadonlyMap<string, string>): EncodeResult {
    if (mutation.size === 0) return { kind: "bytes", bytes: frame.bytes };
    if (frame.type !== "request" && frame.type !== "oneway") {
      return { kind: "not-applicable", reason: `Dubbo ${frame.type} frames carry no mutable attachments` };
    }
    const layout = (frame.private as DubboRequestPrivate).layout;
    if (layout.attachEnd < 0) {
      return { kind: "not-applicable", reason: "Dubbo request attachments are not a map" };
    }
    const out = rebuildWithAttachments(this.#reader, frame.bytes, layout, mutation);
    // The map was walked once at decode time, so a failure here is a broken invariant.
    if (!out) throw new Error(`Cannot rebuild Dubbo attachments: ${this.#reader.error}`);
    return { kind: "bytes", bytes: out };
  }

  /** Writes `id` as the int64 at offset 4 of `bytes`; see {@linkcode Codec.setRequestId}. */
  setRequestId(_frame: Frame, bytes: Uint8Array, id: RequestId): Uint8Array {
    if (typeof id === "bigint") {
      new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE)
        .setBigUint64(REQUEST_ID_OFFSET, BigInt.asUintN(64, id));
    } else {
      writeU32(bytes, REQUEST_ID_OFFSET, Math.floor(id / 0x100000000));
      writeU32(bytes, REQUEST_ID_OFFSET + 4, id >>> 0);
    }
    return bytes;
  }

  /**
   * A response with the status of `error.kind` and ONE Hessian2 string (the message) as body: what a Java
   * Dubbo client reads for a non-20 status (`DecodeableRpcResult` is only used for status 20). Aeraki
   * writes int 0 + string here, which a Java client would show as "0"; we deliberately do not copy that.
   */
  localReply(request: Frame, error: LocalError): Uint8Array | null {
    if (NO_REPLY_KINDS.has(request.type)) return null;
    const status = LOCAL_STATUS[error.kind] ?? Status.SERVER_ERROR;
    const bodyLength = stringSize(error.message);
    const out = new Uint8Array(HEADER_SIZE + bodyLength);
    writeHeader(out, request.bytes, RESPONSE_FLAG, status, bodyLength);
    writeString(out, HEADER_SIZE, error.message);
    return out;
  }

  /**
   * Answers a two-way heartbeat request: flag 0x22, status 20, same id, body `N` (17 bytes; Aeraki and
   * Envoy once declared one byte less). Heartbeat responses and one-way events get no answer.
   */
  heartbeatReply(heartbeat: Frame): Uint8Array | null {
    const flag = heartbeat.bytes[FLAG_OFFSET];
    if ((flag & FLAG_REQUEST) === 0 || (flag & FLAG_TWO_WAY) === 0) return null;
    const out = new Uint8Array(HEADER_SIZE + 1);
    writeHeader(out, heartbeat.bytes, HEARTBEAT_RESPONSE_FLAG, Status.OK, 1);
    out[HEADER_SIZE] = HESSIAN_NULL;
    return out;
  }
}

/** Writes a header into `out`, copying the 8 request-id bytes from `request` unchanged. */
function writeHeader(
  out: Uint8Array,
  request: Uint8Array,
  flag: number,
  status: number,
  bodyLength: number,
): void {
  out[0] = MAGIC >> 8;
  out[1] = MAGIC & 0xff;
  out[FLAG_OFFSET] = flag;
  out[STATUS_OFFSET] = status;
  out.set(request.subarray(REQUEST_ID_OFFSET, BODY_LENGTH_OFFSET), REQUEST_ID_OFFSET);
  new DataView(out.buffer, out.byteOffset).setInt32(BODY_LENGTH_OFFSET, bodyLength);
}

function writeU32(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
}

function fail(reason: string): DecodeResult {
  return { kind: "error", reason };
}

function found(frame: Frame): DecodeResult {
  return { kind: "frame", frame, size: frame.bytes.length };
}
