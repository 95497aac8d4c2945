/**
 * Registers Envoy's `redis_proxy` network filter (RESP2) with the proxy core.
 *
 * @module
 */
import { type FilterContext, registerNetworkFilter } from "../../proxy/extension.ts";
import { readRedisProxyConfig } from "./config.ts";
import { RedisProxyFilter, type RedisProxyOptions } from "./filter.ts";

export { readRedisProxyConfig } from "./config.ts";
export { RedisProxyFilter, type RedisProxyOptions, type RedisProxyStats } from "./filter.ts";

/** Type URL of the filter's typed_config. */
export const REDIS_PROXY_TYPE_URL =
  "type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy";
/** Filter name Envoy (and Aeraki) use. */
export const REDIS_PROXY_FILTER_NAME = "envoy.filters.network.redis_proxy";

/** Builds the filter from its canonical typed_config (throws `TypeError` with the field path on bad config). */
export function createRedisProxyFilter(
  typedConfig: Record<string, unknown>,
  ctx: FilterContext,
  options?: RedisProxyOptions,
): RedisProxyFilter {
  const config = readRedisProxyConfig(typedConfig);
  return new RedisProxyFilter(config, ctx, options);
}

registerNetworkFilter(
  [REDIS_PROXY_TYPE_URL, REDIS_PROXY_FILTER_NAME],
  (typedConfig, ctx) => createRedisProxyFilter(typedConfig, ctx),
);
