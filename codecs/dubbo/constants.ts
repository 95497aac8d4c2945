/**
 * Dubbo 2 wire facts (the "dubbo" protocol as Apache Dubbo 2.x/3.x writes it, Hessian2 bodies only).
 * Header layout from `org.apache.dubbo.remoting.exchange.codec.ExchangeCodec`; see
 * shared/specs/meta-protocol-proxy.md §3.1.
 *
 * @module
 */

/** Bytes in the fixed header that starts every frame. */
export const HEADER_SIZE = 16;
/** First two header bytes, big-endian. */
export const MAGIC = 0xdabb;
/** Offset of the flag byte (request/two-way/event bits + serialization id). */
export const FLAG_OFFSET = 2;
/** Offset of the response status byte (requests send 0). */
export const STATUS_OFFSET = 3;
/** Offset of the int64 big-endian request id. */
export const REQUEST_ID_OFFSET = 4;
/** Offset of the int32 big-endian body length. */
export const BODY_LENGTH_OFFSET = 12;

/** Flag bit: the frame is a request (clear = response). */
export const FLAG_REQUEST = 0x80;
/** Flag bit: the request expects a response. */
export const FLAG_TWO_WAY = 0x40;
/** Flag bit: an event (heartbeat, read-only notice), never routed. */
export const FLAG_EVENT = 0x20;
/** Flag bits holding the serialization id. */
export const SERIALIZATION_MASK = 0x1f;
/** The only serialization this codec reads: Hessian2. */
export const SERIALIZATION_HESSIAN2 = 2;

/**
 * Default body-size cap: 16 MiB, as Aeraki (and Envoy's `MaxBodySize`); Dubbo's own default payload
 * limit is 8 MiB, so every legitimate frame fits.
 */
export const DEFAULT_MAX_BODY_SIZE = 16 * 1024 * 1024;

/** Response status codes (`org.apache.dubbo.remoting.exchange.Response`). */
export const Status = {
  OK: 20,
  CLIENT_TIMEOUT: 30,
  SERVER_TIMEOUT: 31,
  BAD_REQUEST: 40,
  BAD_RESPONSE: 50,
  SERVICE_NOT_FOUND: 60,
  SERVICE_ERROR: 70,
  SERVER_ERROR: 80,
  CLIENT_ERROR: 90,
  SERVER_THREADPOOL_EXHAUSTED_ERROR: 100,
} as const;

/**
 * Statuses a response may carry, indexed by status byte. Includes 80 SERVER_ERROR, which Aeraki 1.3.1
 * rejects although it emits 80 in its own local replies (a chained sidecar would then close the
 * connection): we accept it on purpose.
 */
export const KNOWN_STATUS: readonly boolean[] = (() => {
  const known = new Array<boolean>(256).fill(false);
  for (const code of Object.values(Status)) known[code] = true;
  return known;
})();

/** Leading Hessian int of a status-20 response body (`DecodeableRpcResult`). */
export const ResponseType = {
  EXCEPTION: 0,
  VALUE: 1,
  NULL_VALUE: 2,
  EXCEPTION_WITH_ATTACHMENTS: 3,
  VALUE_WITH_ATTACHMENTS: 4,
  NULL_VALUE_WITH_ATTACHMENTS: 5,
} as const;

/** Hessian2 `N` (null): the body of heartbeat events. */
export const HESSIAN_NULL = 0x4e;
