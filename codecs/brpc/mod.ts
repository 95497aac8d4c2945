/**
 * The brpc (`baidu_std`) codec factory and its registration as `aeraki.meta_protocol.codec.brpc`
 * (alias `brpc`).
 *
 * @module
 */
import type { CodecFactory, CodecRole } from "../codec.ts";
import { registerCodec } from "../registry.ts";
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

/** Registry provider: accepts an absent config or Aeraki's empty `BrpcCodec` message. */
function provide(config: Record<string, unknown> | undefined): CodecFactory {
  if (config !== undefined) {
    const type = config["@type"];
    if (type !== undefined && type !== BRPC_CONFIG_TYPE) {
      throw new TypeError(`Cannot configure brpc codec: config type '${type}' is not ${BRPC_CONFIG_TYPE}`);
    }
    const unknown = Object.keys(config).filter((key) => key !== "@type");
    if (unknown.length > 0) {
      throw new TypeError(
        `Cannot configure brpc codec: unknown field '${unknown[0]}' (BrpcCodec has no fields)`,
      );
    }
  }
  return defaultFactory;
}

const defaultFactory = createBrpcCodecFactory();

registerCodec([BRPC_CODEC_NAME, "brpc"], provide);
