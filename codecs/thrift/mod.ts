/**
 * The Thrift codec, registered as `aeraki.meta_protocol.codec.thrift` (alias `thrift`).
 *
 * Binary (strict and lax) and compact protocols over framed, unframed (buffered) and header transports
 * (Apache THeader and Kitex TTHeader), detected per connection like Envoy's auto transport/protocol, or
 * pinned by config. Optional config fields (canonical snake_case form, all may be absent):
 *
 * | field            | values                                  | default    |
 * | ---------------- | --------------------------------------- | ---------- |
 * | `transport`      | `auto`, `framed`, `unframed`, `header`  | `auto`     |
 * | `protocol`       | `auto`, `binary`, `compact`             | `auto`     |
 * | `max_frame_size` | bytes per frame/message, 1..2^31-1      | 16 MiB     |
 * | `max_depth`      | struct/container nesting, 1..1024       | 64         |
 *
 * Metadata: `method` (the wire name, `Service:method` for TMultiplexedProtocol), `service` (the prefix,
 * when present) and THeader info headers (string keys as-is; Kitex int keys by name, e.g. `to_service`).
 * The request id is the seqid. Mutations are written into the THeader key/value block; other transports
 * report them as not applicable.
 *
 * @module
 */
import type { CodecFactory } from "../codec.ts";
import { registerCodec } from "../registry.ts";
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_FRAME_SIZE } from "./constants.ts";
import { ThriftCodec, type ThriftOptions } from "./thrift_codec.ts";

/** The registered codec name. */
export const THRIFT_CODEC_NAME = "aeraki.meta_protocol.codec.thrift";

const TRANSPORTS = ["auto", "framed", "unframed", "header"] as const;
const PROTOCOLS = ["auto", "binary", "compact"] as const;
const MAX_DEPTH_LIMIT = 1024;

function choice<T extends string>(config: Record<string, unknown>, field: string, allowed: readonly T[]): T {
  const value = config[field] ?? "auto";
  if (typeof value !== "string" || !allowed.includes(value.toLowerCase() as T)) {
    throw new TypeError(
      `Cannot configure Thrift codec: ${field} must be one of ${allowed.join(", ")}, got ${value}`,
    );
  }
  return value.toLowerCase() as T;
}

function integer(config: Record<string, unknown>, field: string, fallback: number, max: number): number {
  const raw = config[field] ?? fallback;
  const value = typeof raw === "object" && raw !== null && "value" in raw
    ? (raw as { value: unknown }).value
    : raw;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    throw new TypeError(
      `Cannot configure Thrift codec: ${field} must be an integer in 1..${max}, got ${value}`,
    );
  }
  return value;
}

/** Validates the codec config (canonical form, may be undefined) into options. Throws `TypeError`. */
export function thriftOptions(config: Record<string, unknown> | undefined): ThriftOptions {
  const c = config ?? {};
  return Object.freeze({
    transport: choice(c, "transport", TRANSPORTS),
    protocol: choice(c, "protocol", PROTOCOLS),
    maxFrameSize: integer(c, "max_frame_size", DEFAULT_MAX_FRAME_SIZE, 2 ** 31 - 1),
    maxDepth: integer(c, "max_depth", DEFAULT_MAX_DEPTH, MAX_DEPTH_LIMIT),
  });
}

/** Builds the Thrift codec factory for `config`. */
export function thriftCodecFactory(config?: Record<string, unknown>): CodecFactory {
  const options = thriftOptions(config);
  return {
    name: THRIFT_CODEC_NAME,
    multiplexable: true,
    create: () => new ThriftCodec(options),
  };
}

registerCodec([THRIFT_CODEC_NAME, "thrift"], thriftCodecFactory);

export { ThriftCodec, type ThriftOptions };
export type { ThriftFrameFacts } from "./thrift_codec.ts";
