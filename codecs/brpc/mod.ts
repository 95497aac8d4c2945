/**
 * The brpc (`baidu_std`) codec factory and its registration as `aeraki.meta_protocol.codec.brpc`
 * (alias `brpc`).
 *
 * @module
 */
import type { CodecFactory, CodecRole } from "../codec.ts";
import { emptyConfigProvider, registerCodec } from "../registry.ts";
import { BrpcCodec, type BrpcLimits } from "./brpc_codec.ts";
import { DEFAULT_MAX_BODY_SIZE } from "./constants.ts";

/** The registered codec name (Aeraki's). */
export const BRPC_CODEC_NAME = "aeraki.meta_protocol.codec.brpc";
/** Type URL of Aeraki's (empty) brpc codec config message. */
export const BRPC_CONFIG_TYPE = "type.googleapis.com/aeraki.meta_protocol.codec.BrpcCodec";

/** Options of {@linkcode createBrpcCodecFactory}. */
export interface BrpcCodecOptions {
  /** Largest accepted body in bytes (default 64 MiB, brpc's `-max_body_size`). */
  readonly maxBodySize?: number;
}

/** Makes the brpc codec factory; throws `RangeError` on a bad limit. */
export function createBrpcCodecFactory(options: BrpcCodecOptions = {}): CodecFactory {
  const maxBodySize = options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE;
  if (!Number.isInteger(maxBodySize) || maxBodySize < 0 || maxBodySize > 0xffffffff) {
    throw new RangeError(`Cannot create brpc codec: maxBodySize ${maxBodySize} is not in 0..4294967295`);
  }
  const limits: BrpcLimits = Object.freeze({ maxBodySize });
  return Object.freeze({
    name: BRPC_CODEC_NAME,
    multiplexable: true,
    create: (role: CodecRole) => new BrpcCodec(limits, role),
  });
}

registerCodec(
  [BRPC_CODEC_NAME, "brpc"],
  emptyConfigProvider("brpc", BRPC_CONFIG_TYPE, createBrpcCodecFactory()),
);
