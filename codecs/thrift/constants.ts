/**
 * Thrift wire facts (Apache Thrift binary/compact protocols, framed/THeader transports, Kitex TTHeader)
 * and the codec's limits. Every layout number used by the codec is named here once.
 *
 * @module
 */

/** Message types as written in the message header. */
export const MessageTypeId = { CALL: 1, REPLY: 2, EXCEPTION: 3, ONEWAY: 4 } as const;

/** Field/element type ids of the binary protocol (TType). */
export const TType = {
  STOP: 0,
  VOID: 1,
  BOOL: 2,
  BYTE: 3,
  DOUBLE: 4,
  I16: 6,
  I32: 8,
  I64: 10,
  STRING: 11,
  STRUCT: 12,
  MAP: 13,
  SET: 14,
  LIST: 15,
  UUID: 16,
} as const;

/** Field/element type ids of the compact protocol. */
export const CType = {
  STOP: 0,
  BOOL_TRUE: 1,
  BOOL_FALSE: 2,
  BYTE: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  DOUBLE: 7,
  BINARY: 8,
  LIST: 9,
  SET: 10,
  MAP: 11,
  STRUCT: 12,
  UUID: 13,
} as const;

/** Strict binary: the first i32 is `0x8001_0000 | type`; the first two bytes are the magic. */
export const BINARY_VERSION_1 = 0x80010000;
export const BINARY_VERSION_MASK = 0xffff0000;
/** Compact: first byte 0x82, second byte `(type << 5) | version`, version 1. */
export const COMPACT_PROTOCOL_ID = 0x82;
export const COMPACT_VERSION = 1;
export const COMPACT_VERSION_MASK = 0x1f;
export const COMPACT_TYPE_SHIFT = 5;

/** Framed transport: 4-byte big-endian length prefix, excluding itself. */
export const FRAME_LENGTH_SIZE = 4;

/**
 * THeader (Apache `doc/specs/HeaderFormat.md`): length(4) magic(2) flags(2) seqid(4) header-words(2),
 * then `words * 4` bytes of header (varint protocol id, varint transform count, info blocks with
 * varint-length strings), then the payload.
 */
export const THEADER_MAGIC = 0x0fff;
/** Kitex TTHeader: the same fixed part with magic 0x1000; u8 ids, u16 counts and u16-length strings. */
export const TTHEADER_MAGIC = 0x1000;
export const HEADER_MAGIC_OFFSET = 4;
export const HEADER_FLAGS_OFFSET = 6;
export const HEADER_SEQID_OFFSET = 8;
export const HEADER_WORDS_OFFSET = 12;
/** Where the variable header area starts. */
export const HEADER_AREA_OFFSET = 14;
/** Header area is counted in 4-byte words in a u16. */
export const HEADER_WORD_SIZE = 4;
export const MAX_HEADER_WORDS = 0xffff;

/** THeader protocol ids (Kitex uses the same numbers). */
export const HeaderProtocolId = { BINARY: 0, COMPACT: 2 } as const;

/** Info block ids. Apache: 1 key/value, 2 persistent key/value. Kitex adds 0x10 int-key/value, 0x11 ACL token. */
export const InfoId = {
  PADDING: 0,
  KEY_VALUE: 1,
  PERSISTENT_KEY_VALUE: 2,
  INT_KEY_VALUE: 0x10,
  ACL_TOKEN: 0x11,
} as const;

/**
 * Kitex TTHeader int keys (cloudwego `metakey.go`) exported as metadata under these names; other int keys
 * are exported under their decimal number.
 */
export const KITEX_INT_KEYS: ReadonlyMap<number, string> = new Map([
  [1, "transport_type"],
  [2, "log_id"],
  [3, "from_service"],
  [4, "from_cluster"],
  [5, "from_idc"],
  [6, "to_service"],
  [7, "to_cluster"],
  [8, "to_idc"],
  [9, "to_method"],
  [10, "env"],
  [11, "dest_address"],
  [12, "rpc_timeout"],
  [14, "ring_hash_key"],
  [20, "from_method"],
  [21, "stress_tag"],
  [22, "msg_type"],
]);

/** TApplicationException types (Apache `TApplicationException.h`). */
export const AppExceptionType = { UNKNOWN_METHOD: 1, INTERNAL_ERROR: 6, PROTOCOL_ERROR: 7 } as const;

/** TMultiplexedProtocol joins service and method with this separator in the method name. */
export const MULTIPLEX_SEPARATOR = ":";

/** Default frame cap: 16 MiB, the order of Envoy's thrift_proxy limit (16,384,000); a frame above it closes the connection. */
export const DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;
/** Method names longer than this are not Thrift traffic (no real IDL has them). */
export const MAX_METHOD_NAME_LENGTH = 4096;
/** Structs nested deeper than this are rejected (the walk is recursive; this bounds the stack). */
export const DEFAULT_MAX_DEPTH = 64;
/** Bytes needed to tell transports apart when the first bytes are no message magic (Envoy reads 8). */
export const DETECT_PREFIX_SIZE = 8;
