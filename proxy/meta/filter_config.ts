/**
 * Compiles a canonical `aeraki.meta_protocol_proxy.v1alpha.MetaProtocolProxy` config into the frozen
 * per-listener state every downstream connection shares, and registers the network filter under its
 * type URL and name `aeraki.meta_protocol_proxy`.
 *
 * @module
 */
import type { CodecFactory } from "../../codecs/codec.ts";
import { resolveCodec } from "../../codecs/registry.ts";
import { type AccessLogger, compileAccessLog, type LogSink } from "../access_log.ts";
import type { ClusterManager } from "../cluster_manager.ts";
import type { Deadlines } from "../deadlines.ts";
import { at, type ConfigPath, durationMs, fail, list, type Obj, obj, str } from "../config_util.ts";
import { type FilterContext, type NetworkFilter, registerNetworkFilter } from "../extension.ts";
import type { Counter, Gauge, Stats } from "../stats.ts";
import type { UpstreamManager } from "../upstream/pool.ts";
import { LOCAL_RATELIMIT_TYPE, LocalRateLimiter } from "./local_ratelimit.ts";
import type { MetaFilterChain } from "./filter_chain.ts";
import { CHAIN_FILTERS, type ChainEntry, compileFilterChain } from "./filter_factory.ts";
import type { RouteTable } from "./route_table.ts";
import { REQUEST_ID_KEY } from "./router.ts";
import { RouteTable as Table } from "./route_table.ts";

/** The MetaProtocolProxy type URL. */
export const META_PROTOCOL_PROXY_TYPE =
  "type.googleapis.com/aeraki.meta_protocol_proxy.v1alpha.MetaProtocolProxy";
/** The MetaProtocolProxy network filter name. */
export const META_PROTOCOL_PROXY_NAME = "aeraki.meta_protocol_proxy";

/** A route table that can change (RDS) or not (inline route_config). */
export interface RouteSource {
  current(): RouteTable | undefined;
}

/** Proxy-wide services the filter needs beyond {@linkcode FilterContext}. */
export interface ProxyServices {
  readonly stats: Stats;
  readonly clusters: ClusterManager;
  readonly upstreams: UpstreamManager;
  readonly logSinks: Map<string, LogSink>;
  /** Request deadlines (route timeouts). */
  readonly deadlines: Deadlines;
  /** The RDS-backed route source for `route_config_name`. */
  rds(name: string): RouteSource;
  /** The canonical bootstrap (node, tracing); `{}` when unknown. */
  bootstrap?(): Obj;
}

/** Services (and the config path of the filter) handed over through its context; set by the runtime. */
export const servicesOf: WeakMap<
  FilterContext,
  { services: ProxyServices; path: ConfigPath; direction?: string }
> = new WeakMap();

/** The counters of §4.9, resolved once per config. */
export interface MetaStats {
  request: Counter;
  requestTwoway: Counter;
  requestOneway: Counter;
  requestEvent: Counter;
  requestDecodingSuccess: Counter;
  requestDecodingError: Counter;
  response: Counter;
  responseSuccess: Counter;
  responseError: Counter;
  responseBusinessException: Counter;
  localResponseBusinessException: Counter;
  cxDestroyRemoteWithActiveRq: Counter;
  cxDestroyLocalWithActiveRq: Counter;
  idleTimeout: Counter;
  requestActive: Gauge;
}

/** Everything a downstream connection of this filter needs. */
export interface MetaFilterConfig {
  readonly statPrefix: string;
  readonly appName: string;
  readonly factory: CodecFactory;
  readonly multiplexed: boolean;
  readonly routes: RouteSource;
  readonly accessLogs: readonly AccessLogger[];
  readonly idleTimeoutMs: number | undefined;
  readonly rateLimit: LocalRateLimiter | undefined;
  /**
   * Whether every request without an `x-request-id` gets one before routing (an access log reads it or
   * tracing is configured); otherwise only requests whose route mutates them do. See `addRequestId`.
   */
  readonly requestIdEager: boolean;
  /** Global rate limit, metadata exchange, Istio stats and tracing; `undefined` when none is configured. */
  readonly filters: MetaFilterChain | undefined;
  readonly stats: MetaStats;
  readonly services: ProxyServices;
  readonly listenerName: string;
}

const KNOWN_FILTERS = new Set([
  "aeraki.meta_protocol.filters.router",
  "aeraki.meta_protocol.filters.local_ratelimit",
  "aeraki.meta_protocol.filters.metadata_exchange",
  "aeraki.meta_protocol.filters.istio_stats",
  "aeraki.meta_protocol.filters.ratelimit",
]);

/** Compiles the filter config; throws a config error with the field path. */
export function compileMetaFilter(
  tc: Obj,
  p: ConfigPath,
  ctx: FilterContext,
  services: ProxyServices,
  direction?: string,
): MetaFilterConfig {
  const statPrefix = str(tc.stat_prefix, at(p, "stat_prefix"));
  if (!statPrefix) fail(at(p, "stat_prefix"), "stat_prefix is required");
  const protocol = obj(tc.protocol, at(p, "protocol"));
  const pcodec = obj(protocol.codec, at(p, "protocol.codec"));
  const legacy = obj(tc.codec, at(p, "codec"));
  const useProtocol = typeof pcodec.name === "string" && pcodec.name !== "";
  const codecName = useProtocol ? String(pcodec.name) : str(legacy.name, at(p, "codec.name"));
  if (!codecName) {
    fail(at(p, "protocol.codec.name"), "a codec name is required (protocol.codec.name or codec.name)");
  }
  const appName = str(protocol.name, at(p, "protocol.name")) ||
    str(tc.application_protocol, at(p, "application_protocol"));
  if (!appName) fail(at(p, "protocol.name"), "an application protocol name is required");
  const codecCfg = useProtocol ? pcodec.config : legacy.config;
  let factory: CodecFactory;
  try {
    factory = resolveCodec(codecName, codecCfg as Obj | undefined);
  } catch (error) {
    fail(at(p, useProtocol ? "protocol.codec" : "codec"), (error as Error).message);
  }
  // metamesh multiplexes by default (Aeraki: opt-in); an explicit `false` is only visible when the input
  // kept the default, so absent = true. Codecs without rewritable ids never multiplex.
  const multiplexed = factory.multiplexable && protocol.multiplexing !== false;

  let routes: RouteSource;
  if (tc.route_config !== undefined) {
    const table = new Table(obj(tc.route_config, at(p, "route_config")), at(p, "route_config"));
    routes = { current: () => table };
  } else if (tc.rds !== undefined) {
    const name = str(obj(tc.rds, at(p, "rds")).route_config_name, at(p, "rds.route_config_name"));
    if (!name) fail(at(p, "rds.route_config_name"), "route_config_name is required");
    routes = services.rds(name);
  } else {
    fail(p, "route_config or rds is required");
  }

  let rateLimit: LocalRateLimiter | undefined;
  const chainEntries: ChainEntry[] = [];
  list(tc.meta_protocol_filters).forEach((f, i) => {
    const fp = at(at(p, "meta_protocol_filters"), i);
    const fo = obj(f, fp);
    const name = str(fo.name, at(fp, "name"));
    if (!KNOWN_FILTERS.has(name)) fail(at(fp, "name"), `unknown MetaProtocol filter ${JSON.stringify(name)}`);
    if (name === "aeraki.meta_protocol.filters.local_ratelimit") {
      const cfg = obj(fo.config, at(fp, "config"));
      if (cfg["@type"] !== undefined && cfg["@type"] !== LOCAL_RATELIMIT_TYPE) {
        fail(at(fp, "config"), `expected ${LOCAL_RATELIMIT_TYPE}`);
      }
      rateLimit = new LocalRateLimiter(cfg, at(fp, "config"), services.stats);
    } else if (CHAIN_FILTERS.has(name)) {
      chainEntries.push({ name, config: fo.config as Obj | undefined, path: fp });
    }
  });
  const filters = compileFilterChain(chainEntries, tc.tracing, at(p, "tracing"), {
    clusters: services.clusters,
    stats: services.stats,
    bootstrap: services.bootstrap?.() ?? {},
    direction,
    statPrefix: `meta_protocol.${appName}.${statPrefix}`,
    unsupported: (path, why) => ctx.unsupported(path, why),
  });

  const accessLogs = list(tc.access_log).map((a, i) =>
    compileAccessLog(obj(a, at(at(p, "access_log"), i)), at(at(p, "access_log"), i), services.logSinks)
  );
  const idle = durationMs(tc.idle_timeout, at(p, "idle_timeout"));
  const s = services.stats;
  const n = (x: string) => `meta_protocol.${appName}.${statPrefix}.${x}`;
  return {
    statPrefix,
    appName,
    factory,
    multiplexed,
    routes,
    accessLogs,
    idleTimeoutMs: idle && idle > 0 ? idle : undefined,
    requestIdEager: tc.tracing !== undefined || accessLogs.some((l) => l.requestKeys.has(REQUEST_ID_KEY)),
    rateLimit,
    filters,
    services,
    listenerName: ctx.listenerName,
    stats: {
      request: s.counter(n("request")),
      requestTwoway: s.counter(n("request_twoway")),
      requestOneway: s.counter(n("request_oneway")),
      requestEvent: s.counter(n("request_event")),
      requestDecodingSuccess: s.counter(n("request_decoding_success")),
      requestDecodingError: s.counter(n("request_decoding_error")),
      response: s.counter(n("response")),
      responseSuccess: s.counter(n("response_success")),
      responseError: s.counter(n("response_error")),
      responseBusinessException: s.counter(n("response_business_exception")),
      localResponseBusinessException: s.counter(n("local_response_business_exception")),
      cxDestroyRemoteWithActiveRq: s.counter(n("cx_destroy_remote_with_active_rq")),
      cxDestroyLocalWithActiveRq: s.counter(n("cx_destroy_local_with_active_rq")),
      idleTimeout: s.counter(n("idle_timeout")),
      requestActive: s.gauge(n("request_active")),
    },
  };
}

/** Registers the MetaProtocol network filter (idempotent). Needs `servicesOf` set for the context. */
export function registerMetaProtocolFilter(
  serve: (conn: Deno.TcpConn, cfg: MetaFilterConfig) => Promise<void>,
): void {
  registerNetworkFilter([META_PROTOCOL_PROXY_TYPE, META_PROTOCOL_PROXY_NAME], (tc, ctx): NetworkFilter => {
    const found = servicesOf.get(ctx);
    if (!found) {
      throw new TypeError("Cannot build the MetaProtocol filter: the context has no proxy services");
    }
    const cfg = compileMetaFilter(tc, found.path, ctx, found.services, found.direction);
    return {
      handle: (conn) => serve(conn, cfg),
      close: () => cfg.filters?.close() ?? Promise.resolve(),
    };
  });
}
