/**
 * The MetaProtocolProxy network filter as Aeraki emits it (spec aeraki-control-plane §6.1, §6.2): outbound with
 * RDS, inbound with an inline route and the MetaRouter's rate limits. metamesh serves RDS over ADS, so the
 * config source is `{ads: {}, resource_api_version: V3}` instead of Aeraki's `aeraki-xds` gRPC cluster.
 *
 * @module
 */
import { durationToMs, type MetaRouter } from "../../crds/resources/mod.ts";
import type { TokenBucket } from "../../crds/resources/metarouter.ts";
import { TypeUrls } from "../../crds/protos.ts";
import { headerMatchers } from "./meta_routes.ts";
import { inboundClusterName, inboundStatPrefix, metaRouteName, outboundStatPrefix } from "./names.ts";

type Obj = Record<string, unknown>;

/** Network filter name of the MetaProtocolProxy (Envoy resolves the factory by type URL). */
export const META_PROTOCOL_PROXY_FILTER = "envoy.filters.network.meta_protocol_proxy";

const FILTER_TYPE = "type.googleapis.com/aeraki.meta_protocol_proxy.filters.";

/** `{ads: {}, resource_api_version: V3}`: the config source of every dynamic resource metamesh serves. */
export function adsConfigSource(): Obj {
  return { ads: {}, resource_api_version: "V3" };
}

/** A MetaProtocol application protocol: its name and codec factory. */
export interface AppProtocol {
  readonly name: string;
  readonly codec: string;
  /** The codec's config (Any, canonical), when the ApplicationProtocol carries one. */
  readonly codecConfig?: Readonly<Record<string, unknown>>;
}

/** Overrides of {@linkcode outboundMetaFilter} for a listener shared by several services. */
export interface OutboundOverrides {
  readonly statPrefix?: string;
  readonly routeName?: string;
  /** `istio_stats` destination_service (`""` leaves it out). */
  readonly destinationService?: string;
}

/** The outbound MetaProtocolProxy filter for `host:port` (RDS route `<host>_<port>`). */
export function outboundMetaFilter(
  host: string,
  port: number,
  protocol: AppProtocol,
  overrides: OutboundOverrides = {},
): Obj {
  return metaFilter({
    stat_prefix: overrides.statPrefix ?? outboundStatPrefix(port, host),
    ...protocolFields(protocol),
    rds: {
      config_source: adsConfigSource(),
      route_config_name: overrides.routeName ?? metaRouteName(host, port),
    },
    meta_protocol_filters: commonFilters(overrides.destinationService ?? host),
  });
}

/**
 * The inbound MetaProtocolProxy filter of a workload's service port: inline route to `inbound|<port>||`, the
 * MetaRouter's local and global rate limits first (they are enforced server-side, as Aeraki).
 */
export function inboundMetaFilter(
  host: string,
  port: number,
  protocol: AppProtocol,
  router: MetaRouter | undefined,
): Obj {
  const name = inboundClusterName(port);
  return metaFilter({
    stat_prefix: inboundStatPrefix(port),
    ...protocolFields(protocol),
    route_config: { name, routes: [{ route: { cluster: name } }] },
    meta_protocol_filters: [...rateLimitFilters(router), ...commonFilters(host)],
  });
}

function metaFilter(config: Obj): Obj {
  return {
    name: META_PROTOCOL_PROXY_FILTER,
    typed_config: { "@type": TypeUrls.metaProtocolProxy, ...config },
  };
}

// Aeraki 1.3.0 fills the deprecated `application_protocol` + `codec`; metamesh proxies prefer `protocol`.
function protocolFields(protocol: AppProtocol): Obj {
  const codec = protocol.codecConfig
    ? { name: protocol.codec, config: protocol.codecConfig }
    : { name: protocol.codec };
  return { application_protocol: protocol.name, codec, protocol: { name: protocol.name, codec } };
}

function commonFilters(host: string): Obj[] {
  return [
    metaProtocolFilter("metadata_exchange", "metadata_exchange.v1alpha.MetadataExchange", {}),
    metaProtocolFilter(
      "istio_stats",
      "istio_stats.v1alpha.IstioStats",
      host ? { destination_service: host } : {},
    ),
    metaProtocolFilter("router", "router.v1alpha.Router", {}),
  ];
}

function metaProtocolFilter(name: string, type: string, config: Obj): Obj {
  return { name: `aeraki.meta_protocol.filters.${name}`, config: { "@type": FILTER_TYPE + type, ...config } };
}

/** The local (`local_ratelimit`) and global (`ratelimit`) rate limit filters of a MetaRouter, in that order. */
export function rateLimitFilters(router: MetaRouter | undefined): Obj[] {
  const out: Obj[] = [];
  const local = router?.spec.localRateLimit;
  if (local) {
    const config: Obj = { stat_prefix: router!.spec.hosts?.[0] ?? router!.metadata.name };
    if (local.tokenBucket) config.token_bucket = tokenBucket(local.tokenBucket);
    // Aeraki drops conditions without a bucket.
    const conditions = (local.conditions ?? []).filter((c) => c.tokenBucket).map((c) => ({
      match: routeMatch(c.match),
      token_bucket: tokenBucket(c.tokenBucket!),
    }));
    if (conditions.length) config.conditions = conditions;
    out.push(metaProtocolFilter("local_ratelimit", "local_ratelimit.v1alpha.LocalRateLimit", config));
  }
  const global = router?.spec.globalRateLimit;
  if (global) {
    const config: Obj = {
      domain: global.domain ?? "",
      rate_limit_service: { grpc_service: { envoy_grpc: { cluster_name: global.rateLimitService ?? "" } } },
      descriptors: (global.descriptors ?? []).map((d) => ({
        property: d.property ?? "",
        descriptor_key: d.descriptorKey ?? "",
      })),
    };
    const match = routeMatch(global.match);
    if (Object.keys(match).length) config.match = match;
    if (global.requestTimeout) config.timeout = duration(global.requestTimeout);
    if (global.denyOnFail) config.failure_mode_deny = true;
    out.push(metaProtocolFilter("ratelimit", "ratelimit.v1alpha.RateLimit", config));
  }
  return out;
}

function routeMatch(match: Parameters<typeof headerMatchers>[0]): Obj {
  const metadata = headerMatchers(match);
  return metadata.length ? { metadata } : {};
}

function tokenBucket(bucket: TokenBucket): Obj {
  const out: Obj = { max_tokens: bucket.maxTokens ?? 0 };
  if (bucket.tokensPerFill) out.tokens_per_fill = { value: bucket.tokensPerFill };
  out.fill_interval = duration(bucket.fillInterval ?? "0s");
  return out;
}

/** A Go duration string as a canonical `Duration` (zero fields omitted). */
export function duration(text: string): { seconds?: number; nanos?: number } {
  return durationFromMs(durationToMs(text));
}

/** Milliseconds as a canonical `Duration` (zero fields omitted). */
export function durationFromMs(ms: number): { seconds?: number; nanos?: number } {
  const seconds = Math.trunc(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1e6);
  const out: { seconds?: number; nanos?: number } = {};
  if (seconds) out.seconds = seconds;
  if (nanos) out.nanos = nanos;
  return out;
}
