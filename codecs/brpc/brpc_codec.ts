/**
 * The brpc (`baidu_std`) codec: frames by the 12-byte `PRPC` header, exports the request's `service` and
 * `method` (and every `user_fields` entry) as metadata, uses `correlation_id` as the request id (rewritten
 * in place or re-encoded when its varint changes length, fixing both header sizes), applies mutations
 * as `user_fields` entries and answers local errors with a response meta carrying a brpc error code.
 *
 * @module
 */
import type {
  Codec,
  CodecRole,
  DecodeResult,
  EncodeResult,
  Frame,
  LocalError,
  MessageType,
  RequestId,
} from "../codec.ts";
import { readUint, writeUint } from "../declarative/wire.ts";
import {
  BODY_SIZE_AT,
  HEADER_SIZE,
  LOCAL_ERROR_CODES,
  MAGIC,
  META_SIZE_AT,
  MetadataKey,
} from "./constants.ts";
import { correlationIdField, parseRpcMeta, responseMeta, userFieldEntries } from "./meta.ts";

/** Limits shared by the instances of one factory. */
export interface BrpcLimits {
  /** Largest accepted body (meta + payload + attachment) in bytes. */
  readonly maxBodySize: number;
}

/** Codec-private facts of a frame: where its correlation id field is, relative to the frame start. */
interface BrpcPrivate {
  readonly idAt: number;
  readonly idEnd: number;
}

/** Builds a whole frame from an RpcMeta and the rest of the body. */
export function brpcFrame(meta: Uint8Array, rest: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + meta.length + rest.length);
  out.set(MAGIC);
  writeUint(out, BODY_SIZE_AT, 4, false, meta.length + rest.length);
  writeUint(out, META_SIZE_AT, 4, false, meta.length);
  out.set(meta, HEADER_SIZE);
  out.set(rest, HEADER_SIZE + meta.length);
  return out;
}

/**
 * Replaces bytes [from, to) of `frame` (which lie inside its RpcMeta) with `insert`, fixing the body
 * and meta sizes of the header.
 */
function splice(frame: Uint8Array, from: number, to: number, insert: Uint8Array): Uint8Array {
  const delta = insert.length - (to - from);
  const out = delta === 0 ? frame : new Uint8Array(frame.length + delta);
  if (delta !== 0) {
    out.set(frame.subarray(0, from));
    out.set(frame.subarray(to), from + insert.length);
    writeUint(out, BODY_SIZE_AT, 4, false, readUint(frame, BODY_SIZE_AT, 4, false) + delta);
    writeUint(out, META_SIZE_AT, 4, false, readUint(frame, META_SIZE_AT, 4, false) + delta);
  }
  out.set(insert, from);
  return out;
}

/** One brpc codec instance (stateless apart from its role). */
export class BrpcCodec implements Codec {
  readonly #limits: BrpcLimits;
  readonly #role: CodecRole;

  /** Makes an instance for one connection in `role`. */
  constructor(limits: BrpcLimits, role: CodecRole) {
    this.#limits = limits;
    this.#role = role;
  }

  /** Decodes one frame from the start of `input`. */
  decode(input: Uint8Array): DecodeResult {
    const seen = Math.min(input.length, MAGIC.length);
    for (let i = 0; i < seen; i++) {
      if (input[i] !== MAGIC[i]) {
        return { kind: "error", reason: "Cannot decode brpc frame: magic is not PRPC" };
      }
    }
    if (input.length < HEADER_SIZE) return { kind: "need-more", atLeast: HEADER_SIZE };
    const bodySize = readUint(input, BODY_SIZE_AT, 4, false);
    const metaSize = readUint(input, META_SIZE_AT, 4, false);
    if (bodySize > this.#limits.maxBodySize) {
      return {
        kind: "error",
        reason:
          `Cannot decode brpc frame: body size ${bodySize} exceeds the limit ${this.#limits.maxBodySize}`,
      };
    }
    if (metaSize > bodySize) {
      return {
        kind: "error",
        reason: `Cannot decode brpc frame: meta size ${metaSize} exceeds body size ${bodySize}`,
      };
    }
    const size = HEADER_SIZE + bodySize;
    if (input.length < size) return { kind: "need-more", atLeast: size };
    const facts = parseRpcMeta(input, HEADER_SIZE, HEADER_SIZE + metaSize);
    if (typeof facts === "string") return { kind: "error", reason: facts };
    let type: MessageType;
    if (facts.hasRequest) type = "request";
    else if (facts.hasResponse || this.#role === "client") type = "response";
    else return { kind: "error", reason: "Cannot decode brpc request: RpcMeta has no request meta" };
    const metadata = new Map<string, string>();
    for (const [k, v] of facts.userFields ?? []) metadata.set(k, v);
    if (type === "request") {
      metadata.set(MetadataKey.service, facts.service);
      metadata.set(MetadataKey.method, facts.method);
    } else if (facts.errorCode !== 0 || facts.errorText !== "") {
      metadata.set(MetadataKey.errorCode, String(facts.errorCode));
      metadata.set(MetadataKey.errorText, facts.errorText);
    }
    const frame: Frame = {
      type,
      requestId: facts.correlationId,
      bytes: input.subarray(0, size),
      metadata,
      ok: facts.errorCode === 0,
      operation: type === "request" ? `${facts.service}/${facts.method}` : "",
      private: { idAt: facts.idAt, idEnd: facts.idEnd } satisfies BrpcPrivate,
    };
    return { kind: "frame", frame, size };
  }

  /** Appends `mutation` to the RpcMeta as `user_fields` entries (a later map entry wins on parse). */
  encode(frame: Frame, mutation: ReadonlyMap<string, string>): EncodeResult {
    if (mutation.size === 0) return { kind: "bytes", bytes: frame.bytes };
    const metaEnd = HEADER_SIZE + readUint(frame.bytes, META_SIZE_AT, 4, false);
    return { kind: "bytes", bytes: splice(frame.bytes, metaEnd, metaEnd, userFieldEntries(mutation)) };
  }

  /** Rewrites (or adds) `correlation_id`; the frame grows or shrinks when the varint length changes. */
  setRequestId(frame: Frame, bytes: Uint8Array, id: RequestId): Uint8Array {
    const { idAt, idEnd } = frame.private as BrpcPrivate;
    const field = correlationIdField(id);
    if (idAt >= 0) return splice(bytes, idAt, idEnd, field);
    // No correlation_id on the wire (it defaults to 0): add one at the end of the meta.
    const metaEnd = HEADER_SIZE + readUint(bytes, META_SIZE_AT, 4, false);
    return splice(bytes, metaEnd, metaEnd, field);
  }

  /** A response meta with the brpc error code of `error.kind`, its message and the request's id. */
  localReply(request: Frame, error: LocalError): Uint8Array | null {
    return brpcFrame(responseMeta(request.requestId, LOCAL_ERROR_CODES[error.kind], error.message));
  }

  /** baidu_std has no heartbeat message. */
  heartbeatReply(_heartbeat: Frame): Uint8Array | null {
    return null;
  }
}
