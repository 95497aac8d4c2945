/**
 * The Dubbo codec factory and its registration as `aeraki.meta_protocol.codec.dubbo` (alias `dubbo`).
 *
 * @module
 */
import type { CodecFactory } from "../codec.ts";
import { registerCodec } from "../registry.ts";
import { DEFAULT_MAX_BODY_SIZE } from "./constants.ts";
import { DubboCodec, type DubboLimits } from "./dubbo_codec.ts";
import { DEFAULT_HESSIAN_LIMITS, type HessianLimits } from "./hessian2_reader.ts";

/** The registered codec name (Aeraki's). */
export const DUBBO_CODEC_NAME = "aeraki.meta_protocol.codec.dubbo";
/** Type URL of Aeraki's (empty) Dubbo codec config message. */
export const DUBBO_CONFIG_TYPE = "type.googleapis.com/aeraki.meta_protocol.codec.DubboCodec";

/** Options of {@linkcode createDubboCodecFactory}. */
export interface DubboCodecOptions {
  /** Largest accepted body in bytes (default 16 MiB, as Aeraki). */
  readonly maxBodySize?: number;
  /** Overrides of the Hessian2 reader limits. */
  readonly hessian?: Partial<HessianLimits>;
}

/** Makes the Dubbo codec factory; throws `RangeError` on a bad limit. Instances share only the limits. */
export function createDubboCodecFactory(options: DubboCodecOptions = {}): CodecFactory {
  const maxBodySize = options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE;
  if (!Number.isInteger(maxBodySize) || maxBodySize < 0 || maxBodySize > 0x7fffffff) {
    throw new RangeError(`Cannot create Dubbo codec: maxBodySize ${maxBodySize} is not in 0..2147483647`);
  }
  const limits: DubboLimits = Object.freeze({
    maxBodySize,
    hessian: Object.freeze({ ...DEFAULT_HESSIAN_LIMITS, ...options.hessian }),
  });
  return Object.freeze({
    name: DUBBO_CODEC_NAME,
    multiplexable: true,
    create: () => new DubboCodec(limits),
  });
}

/** Registry provider: accepts an absent config or Aeraki's empty `DubboCodec` message. */
function provide(config: Record<string, unknown> | undefined): CodecFactory {
  if (config !== undefined) {
    const type = config["@type"];
    if (type !== undefined && type !== DUBBO_CONFIG_TYPE) {
      throw new TypeError(`Cannot configure Dubbo codec: config type '${type}' is not ${DUBBO_CONFIG_TYPE}`);
    }
    const unknown = Object.keys(config).filter((key) => key !== "@type");
    if (unknown.length > 0) {
      throw new TypeError(
        `Cannot configure Dubbo codec: unknown field '${unknown[0]}' (DubboCodec has no fields)`,
      );
    }
  }
  return defaultFactory;
}

const defaultFactory = createDubboCodecFactory();

registerCodec([DUBBO_CODEC_NAME, "dubbo"], provide);
