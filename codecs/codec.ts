/**
 * The codec contract: the only thing the proxy core knows about a protocol.
 *
 * A codec turns bytes into frames (one whole protocol message each) with routable metadata, re-emits a
 * frame with a metadata mutation applied, rewrites request ids for multiplexing, and builds the
 * protocol's own error replies. A codec never owns a socket; the proxy feeds it bytes and writes what it
 * returns.
 *
 * Instances are made per connection and per role by a {@linkcode CodecFactory}: the server-role instance
 * decodes requests from a downstream connection and renders local replies; the client-role instance
 * decodes responses from an upstream connection. Per-connection state (for example Thrift's detected
 * transport) lives on the instance and changes only when a frame is returned.
 *
 * @module
 */

/** What a frame is, as the router sees it. */
export type MessageType =
  | "request" // two-way request: a response is expected
  | "oneway" // request with no response
  | "response" // normal response (may still carry an application-level error, see `Frame.status`)
  | "heartbeat" // keep-alive in either direction, answered by the codec, never routed
  | "error"; // response carrying a business exception (still forwarded like a response)

/** A protocol correlation id. Numbers when they fit in 2^53, bigint otherwise (used as a Map key as-is). */
export type RequestId = number | bigint;

/** Why the proxy answers a request itself. Each codec renders each kind as a native error response. */
export type LocalErrorKind =
  | "route_not_found"
  | "cluster_not_found"
  | "no_healthy_upstream"
  | "upstream_connect_failure"
  | "upstream_reset"
  | "timeout"
  | "overloaded"
  | "rate_limited"
  | "bad_response"
  | "fault_injected";

/** A local error: its kind plus the human-readable message sent to the client. */
export interface LocalError {
  readonly kind: LocalErrorKind;
  readonly message: string;
}

/** One decoded protocol message. */
export interface Frame {
  readonly type: MessageType;
  /** Correlation id read from the wire (0 when the protocol has none). */
  readonly requestId: RequestId;
  /**
   * The exact wire bytes of this message. A view into the connection's read buffer: valid only until the
   * next `decode` call on the same codec; the proxy copies it if the frame must outlive that.
   */
  readonly bytes: Uint8Array;
  /**
   * Routable string metadata (the keys MetaProtocolProxy exposes through `putString`). Keys are as the
   * codec names them (`interface`, `method`, attachment keys...); route matching lower-cases both sides.
   * Responses may leave this empty.
   */
  readonly metadata: Map<string, string>;
  /** `false` when a response reports failure (ResponseStatus Error; access log `%RESPONSE_CODE%` 1). */
  readonly ok: boolean;
  /** "service/method"-like name for logs and spans; "" when unknown. */
  readonly operation: string;
  /** Codec-private facts about this frame (offsets, detected protocol...). The proxy never reads it. */
  readonly private?: unknown;
}

/** Result of one decode attempt. */
export type DecodeResult =
  /** Not enough bytes for a whole frame. `atLeast` is the total buffered length worth retrying at, when known. */
  | { readonly kind: "need-more"; readonly atLeast?: number }
  /** One frame; `size` bytes of the input were consumed (equal to `frame.bytes.length`). */
  | { readonly kind: "frame"; readonly frame: Frame; readonly size: number }
  /** The bytes are not this protocol or break a limit: the connection must be closed. */
  | { readonly kind: "error"; readonly reason: string };

/** Outcome of applying a mutation to a frame. */
export type EncodeResult =
  /** The bytes to send (may be `frame.bytes` itself when nothing changed). */
  | { readonly kind: "bytes"; readonly bytes: Uint8Array }
  /** The protocol (or this frame's transport) has no place for key/values; the frame is sent unchanged. */
  | { readonly kind: "not-applicable"; readonly reason: string };

/** The role an instance plays on its connection. */
export type CodecRole = "server" | "client";

/** A codec instance bound to one connection and role. */
export interface Codec {
  /**
   * Decodes at most one frame from the start of `input` (the unconsumed bytes of the connection).
   * Must not retain `input` across calls and must not change state when returning `need-more`.
   * Every length read from the wire is checked against a limit before anything is allocated.
   */
  decode(input: Uint8Array): DecodeResult;

  /** Re-emits `frame` with `mutation` (key → value, set or overwrite) applied; unchanged parts are copied, not re-serialised. */
  encode(frame: Frame, mutation: ReadonlyMap<string, string>): EncodeResult;

  /**
   * Returns the frame's bytes with its request id replaced by `id` (multiplexing). `bytes` is a private
   * copy the proxy owns: the codec may write into it and return it, or return a new array when the id
   * changes length.
   */
  setRequestId(frame: Frame, bytes: Uint8Array, id: RequestId): Uint8Array;

  /**
   * Builds the protocol's native error response to `request` (same request id, same transport/framing),
   * so that a stock client reports an error instead of hanging. `null` when the request expects no reply.
   */
  localReply(request: Frame, error: LocalError): Uint8Array | null;

  /** The answer to a heartbeat frame received on this connection, or `null` to send nothing. */
  heartbeatReply(heartbeat: Frame): Uint8Array | null;
}

/** Static facts about a protocol and the factory for its instances. */
export interface CodecFactory {
  /** The registered codec name, e.g. `aeraki.meta_protocol.codec.dubbo`. */
  readonly name: string;
  /**
   * Whether request ids are unique correlation ids that can be rewritten, so many downstream requests can
   * share one upstream connection with responses in any order.
   */
  readonly multiplexable: boolean;
  /** Makes an independent instance for one connection. */
  create(role: CodecRole): Codec;
}

/**
 * Lower-cases metadata keys once for matching. Kept here so every caller agrees on the rule
 * (MetaProtocolProxy mirrors `putString` keys into a lower-cased header map).
 */
export function matchKey(key: string): string {
  return key.toLowerCase();
}
