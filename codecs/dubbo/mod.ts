/**
 * The Dubbo codec factory and its registration as `aeraki.meta_protocol.codec.dubbo` (alias `dubbo`).
 *
 * @module
 */
import type { CodecFactory } from "../codec.ts";
import { emptyConfigProvider, registerCodec } from "../registry.ts";
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

registerCodec(
  [DUBBO_CODEC_NAME, "dubbo"],
  emptyConfigProvider("Dubbo", DUBBO_CONFIG_TYPE, createDubboCodecFactory()),
);
