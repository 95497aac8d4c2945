/**
 * Protocol facts of brpc's `baidu_std` protocol, written once: framing, RpcMeta field numbers
 * (`brpc.policy` in brpc's `src/brpc/policy/baidu_rpc_meta.proto`; Aeraki's copy is
 * `aeraki.meta_protocol.brpc`) and the error codes of `src/brpc/errno.proto`.
 *
 * Frame: 12-byte header `"PRPC"`, u32 BE body size, u32 BE meta size; the body is the RpcMeta protobuf
 * (meta size bytes), then the payload, then the attachment (`RpcMeta.attachment_size` bytes).
 *
 * @module
 */
import type { LocalErrorKind } from "../codec.ts";

/** The four magic bytes, ASCII `PRPC`. */
export const MAGIC: Uint8Array = Uint8Array.of(0x50, 0x52, 0x50, 0x43);
/** Header length: magic, body size, meta size. */
export const HEADER_SIZE = 12;
/** Offset of the u32 BE body size (meta + payload + attachment). */
export const BODY_SIZE_AT = 4;
/** Offset of the u32 BE meta size. */
export const META_SIZE_AT = 8;
/** brpc's default `-max_body_size` (64 MiB): larger bodies are refused. */
export const DEFAULT_MAX_BODY_SIZE = 64 * 1024 * 1024;
/** Most `user_fields` map entries accepted in one RpcMeta. */
export const MAX_USER_FIELDS = 1024;

/** Field numbers of `RpcMeta`. */
export const RpcMetaField = Object.freeze({
  request: 1,
  response: 2,
  compressType: 3,
  correlationId: 4,
  attachmentSize: 5,
  chunkInfo: 6,
  authenticationData: 7,
  streamSettings: 8,
  userFields: 9,
});

/** Field numbers of `RpcRequestMeta`. */
export const RpcRequestMetaField = Object.freeze({
  serviceName: 1,
  methodName: 2,
  logId: 3,
  traceId: 4,
  spanId: 5,
  parentSpanId: 6,
  requestId: 7, // string: x-request-id
  timeoutMs: 8,
});

/** Field numbers of `RpcResponseMeta`. */
export const RpcResponseMetaField = Object.freeze({ errorCode: 1, errorText: 2 });

/** Field numbers of a protobuf `map<string, string>` entry. */
export const MapEntryField = Object.freeze({ key: 1, value: 2 });

/** Protobuf wire types. */
export const WireType = Object.freeze({
  varint: 0,
  fixed64: 1,
  len: 2,
  startGroup: 3,
  endGroup: 4,
  fixed32: 5,
});

/** The `brpc::Errno` values the proxy answers with (brpc `errno.proto`). */
export const Errno = Object.freeze({
  ENOSERVICE: 1001, // Service not found
  ENOMETHOD: 1002, // Method not found
  EREQUEST: 1003, // Bad Request
  ERPCTIMEDOUT: 1008, // RPC call is timed out
  EFAILEDSOCKET: 1009, // Broken socket
  EOVERCROWDED: 1011, // The server is overcrowded
  EINTERNAL: 2001, // Internal Server Error
  ERESPONSE: 2002, // Bad Response
  ELIMIT: 2004, // Reached server's limit on resources
});

/** The brpc error code a local reply of each kind carries. */
export const LOCAL_ERROR_CODES: Readonly<Record<LocalErrorKind, number>> = Object.freeze({
  route_not_found: Errno.ENOSERVICE,
  cluster_not_found: Errno.ENOSERVICE,
  no_healthy_upstream: Errno.EFAILEDSOCKET,
  upstream_connect_failure: Errno.EFAILEDSOCKET,
  upstream_reset: Errno.EFAILEDSOCKET,
  timeout: Errno.ERPCTIMEDOUT,
  overloaded: Errno.EOVERCROWDED,
  rate_limited: Errno.ELIMIT,
  bad_response: Errno.ERESPONSE,
  fault_injected: Errno.EINTERNAL,
});

/** Metadata keys the codec exports (routable). */
export const MetadataKey = Object.freeze({
  service: "service",
  method: "method",
  errorCode: "error_code",
  errorText: "error_text",
});
