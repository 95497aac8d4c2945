/**
 * Reading and writing the parts of brpc's `RpcMeta` protobuf the codec needs: the request's service and
 * method, the response's error, the correlation id (exact int64, position kept for rewriting) and the
 * `user_fields` map. Unknown fields are skipped by wire type; nothing is re-serialised.
 *
 * @module
 */
import type { RequestId } from "../codec.ts";
import { readVarint, utf8, utf8Bytes, varint, writeVarint } from "../declarative/wire.ts";
import {
  MapEntryField,
  MAX_USER_FIELDS,
  RpcMetaField,
  RpcRequestMetaField,
  RpcResponseMetaField,
  WireType,
} from "./constants.ts";
import { concatBytes } from "../../crds/bytes.ts";

/** What the codec reads from one RpcMeta. Positions are absolute in the frame. */
export interface RpcMetaFacts {
  hasRequest: boolean;
  hasResponse: boolean;
  service: string;
  method: string;
  errorCode: number;
  errorText: string;
  correlationId: RequestId;
  /** Start of the last `correlation_id` field (its tag), or -1 when absent. */
  idAt: number;
  /** End of that field. */
  idEnd: number;
  /** `user_fields` entries in wire order (later ones win), or null when none. */
  userFields: [string, string][] | null;
}

/** Position after the value of a field of `wireType` starting at `at`, or -1 when cut or unsupported. */
function skip(b: Uint8Array, at: number, end: number, wireType: number): number {
  switch (wireType) {
    case WireType.varint:
      return readVarint(b, at, end);
    case WireType.fixed64:
      return at + 8 <= end ? at + 8 : -1;
    case WireType.fixed32:
      return at + 4 <= end ? at + 4 : -1;
    case WireType.len: {
      const p = readVarint(b, at, end);
      return p < 0 || varint.value > end - p ? -1 : p + varint.value;
    }
    default:
      return -1; // groups are not used by RpcMeta
  }
}

/** The low 32 bits of the varint at [at, end) as a signed int32 (protobuf `int32`). */
function int32At(b: Uint8Array, at: number, end: number): number {
  let v = 0;
  for (let shift = 0; at < end && shift < 32; shift += 7) v |= (b[at++] & 0x7f) << shift;
  return v | 0;
}

/** The varint at [at, end) as an exact unsigned 64-bit id: a number up to 2^53, a bigint beyond. */
function idAt(b: Uint8Array, at: number, end: number): RequestId {
  if (end - at <= 7) {
    readVarint(b, at, end);
    return varint.value;
  }
  let v = 0n;
  for (let i = end - 1; i >= at; i--) v = (v << 7n) | BigInt(b[i] & 0x7f);
  v = BigInt.asUintN(64, v);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Reads `RpcRequestMeta` / `RpcResponseMeta` strings and codes into `out`; false when malformed. */
function readSub(b: Uint8Array, at: number, end: number, request: boolean, out: RpcMetaFacts): boolean {
  while (at < end) {
    const p = readVarint(b, at, end);
    if (p < 0) return false;
    const field = Math.floor(varint.value / 8);
    const wt = varint.value % 8;
    const next = skip(b, p, end, wt);
    if (next < 0) return false;
    if (request && wt === WireType.len) {
      const start = readVarint(b, p, end);
      if (field === RpcRequestMetaField.serviceName) out.service = utf8(b, start, next);
      else if (field === RpcRequestMetaField.methodName) out.method = utf8(b, start, next);
    } else if (!request && field === RpcResponseMetaField.errorCode && wt === WireType.varint) {
      out.errorCode = int32At(b, p, next);
    } else if (!request && field === RpcResponseMetaField.errorText && wt === WireType.len) {
      out.errorText = utf8(b, readVarint(b, p, end), next);
    }
    at = next;
  }
  return true;
}

/** Reads one `user_fields` entry at [at, end) into `out`; false when malformed. */
function readEntry(b: Uint8Array, at: number, end: number, out: [string, string][]): boolean {
  let key = "";
  let value = "";
  while (at < end) {
    const p = readVarint(b, at, end);
    if (p < 0) return false;
    const field = Math.floor(varint.value / 8);
    const wt = varint.value % 8;
    const next = skip(b, p, end, wt);
    if (next < 0) return false;
    if (wt === WireType.len && field === MapEntryField.key) key = utf8(b, readVarint(b, p, end), next);
    else if (wt === WireType.len && field === MapEntryField.value) {
      value = utf8(b, readVarint(b, p, end), next);
    }
    at = next;
  }
  out.push([key, value]);
  return true;
}

/** Parses the RpcMeta at [start, end) of `b`; returns a `Cannot …` reason when it is malformed. */
export function parseRpcMeta(b: Uint8Array, start: number, end: number): RpcMetaFacts | string {
  const out: RpcMetaFacts = {
    hasRequest: false,
    hasResponse: false,
    service: "",
    method: "",
    errorCode: 0,
    errorText: "",
    correlationId: 0,
    idAt: -1,
    idEnd: -1,
    userFields: null,
  };
  let at = start;
  while (at < end) {
    const p = readVarint(b, at, end);
    if (p < 0) return "Cannot parse brpc RpcMeta: field tag is cut or too long";
    const field = Math.floor(varint.value / 8);
    const wt = varint.value % 8;
    const next = skip(b, p, end, wt);
    if (next < 0 || field === 0) {
      return `Cannot parse brpc RpcMeta: field ${field} (wire type ${wt}) is malformed or cut at ${
        at - start
      }`;
    }
    if (wt === WireType.len && (field === RpcMetaField.request || field === RpcMetaField.response)) {
      const request = field === RpcMetaField.request;
      if (request) out.hasRequest = true;
      else out.hasResponse = true;
      if (!readSub(b, readVarint(b, p, end), next, request, out)) {
        return `Cannot parse brpc RpcMeta: ${request ? "request" : "response"} meta is malformed`;
      }
    } else if (field === RpcMetaField.correlationId && wt === WireType.varint) {
      out.correlationId = idAt(b, p, next);
      out.idAt = at;
      out.idEnd = next;
    } else if (field === RpcMetaField.userFields && wt === WireType.len) {
      out.userFields ??= [];
      if (out.userFields.length >= MAX_USER_FIELDS) {
        return `Cannot parse brpc RpcMeta: user_fields has more than ${MAX_USER_FIELDS} entries`;
      }
      if (!readEntry(b, readVarint(b, p, end), next, out.userFields)) {
        return "Cannot parse brpc RpcMeta: a user_fields entry is malformed";
      }
    }
    at = next;
  }
  return out;
}

/** Protobuf tag bytes of `field` with `wireType`. */
function tag(field: number, wireType: number): number {
  return field * 8 + wireType;
}

/** The `correlation_id` field (tag + varint) carrying `id` (bigints as unsigned 64-bit). */
export function correlationIdField(id: RequestId): Uint8Array {
  const out = new Uint8Array(11);
  out[0] = tag(RpcMetaField.correlationId, WireType.varint);
  let at = 1;
  if (typeof id === "number" && id >= 0) return out.slice(0, writeVarint(out, at, id));
  let v = BigInt.asUintN(64, BigInt(id));
  while (v >= 0x80n) {
    out[at++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  out[at++] = Number(v);
  return out.slice(0, at);
}

/** A length-delimited field: tag, varint length, bytes. */
function lenField(field: number, bytes: Uint8Array): Uint8Array {
  const head = new Uint8Array(11);
  head[0] = tag(field, WireType.len);
  const n = writeVarint(head, 1, bytes.length);
  return concatBytes([head.subarray(0, n), bytes]);
}

/** A varint field carrying a protobuf `int32` (negative values sign-extended to 10 bytes). */
function int32Field(field: number, value: number): Uint8Array {
  const out = new Uint8Array(11);
  out[0] = tag(field, WireType.varint);
  return out.slice(0, writeVarint(out, 1, value | 0));
}

/** `user_fields` entries (field 9 of RpcMeta) for `entries`, ready to append to an RpcMeta. */
export function userFieldEntries(entries: Iterable<readonly [string, string]>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [k, v] of entries) {
    const entry = concatBytes([
      lenField(MapEntryField.key, utf8Bytes(k)),
      lenField(MapEntryField.value, utf8Bytes(v)),
    ]);
    parts.push(lenField(RpcMetaField.userFields, entry));
  }
  return concatBytes(parts);
}

/** A response RpcMeta: `response {error_code, error_text}` and `correlation_id`. */
export function responseMeta(id: RequestId, errorCode: number, errorText: string): Uint8Array {
  const response = concatBytes([
    int32Field(RpcResponseMetaField.errorCode, errorCode),
    errorText === "" ? new Uint8Array(0) : lenField(RpcResponseMetaField.errorText, utf8Bytes(errorText)),
  ]);
  return concatBytes([lenField(RpcMetaField.response, response), correlationIdField(id)]);
}
