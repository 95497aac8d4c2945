/**
 * Builds the {@linkcode MetaFilterChain} of one MetaProtocolProxy from its `meta_protocol_filters`
 * entries (global rate limit, metadata exchange, Istio stats, in configured order) and its `tracing`
 * block (last, just before the router). Returns `undefined` when none is configured.
 *
 * @module
 */
import { at, type ConfigPath, fail, type Obj, obj } from "../config_util.ts";
import type { ClusterLookup } from "../extension.ts";
import type { Stats } from "../stats.ts";
import { percent, Tracer } from "../tracing/tracer.ts";
import { ZipkinReporter, zipkinSettings } from "../tracing/zipkin.ts";
import { type MetaFilter, MetaFilterChain } from "./filter_chain.ts";
import { GLOBAL_RATELIMIT_TYPE, GlobalRateLimit } from "./global_ratelimit.ts";
import { ISTIO_STATS_TYPE, IstioStats } from "./istio_stats.ts";
import { MetadataExchange } from "./metadata_exchange.ts";

/** Filter names this module builds. */
export const CHAIN_FILTERS: ReadonlySet<string> = new Set([
  "aeraki.meta_protocol.filters.ratelimit",
  "aeraki.meta_protocol.filters.metadata_exchange",
  "aeraki.meta_protocol.filters.istio_stats",
]);

/** What the chain's filters need from the proxy. */
export interface ChainContext {
  readonly clusters: ClusterLookup;
  readonly stats: Stats;
  /** The bootstrap (node, tracing). */
  readonly bootstrap: Obj;
  /** The listener's traffic_direction (INBOUND, OUTBOUND, or undefined). */
  readonly direction: string | undefined;
  /** `meta_protocol.<app>.<stat_prefix>`. */
  readonly statPrefix: string;
  unsupported(path: string, why: string): void;
}

/** One `meta_protocol_filters` entry handled here. */
export interface ChainEntry {
  readonly name: string;
  readonly config: Obj | undefined;
  readonly path: ConfigPath;
}

function checkType(cfg: Obj, type: string, p: ConfigPath): void {
  if (cfg["@type"] !== undefined && cfg["@type"] !== type) fail(p, `expected ${type}`);
}

/** Compiles the chain; `tracing` is the MetaProtocolProxy `tracing` block (or undefined). */
export function compileFilterChain(
  entries: readonly ChainEntry[],
  tracing: unknown,
  tracingPath: ConfigPath,
  ctx: ChainContext,
): MetaFilterChain | undefined {
  const node = (ctx.bootstrap.node ?? {}) as Obj;
  const filters: MetaFilter[] = [];
  for (const e of entries) {
    const cp = at(e.path, "config");
    const cfg = obj(e.config, cp);
    if (e.name === "aeraki.meta_protocol.filters.ratelimit") {
      checkType(cfg, GLOBAL_RATELIMIT_TYPE, cp);
      filters.push(new GlobalRateLimit(cfg, cp, ctx.clusters, ctx.stats, ctx.statPrefix));
    } else if (e.name === "aeraki.meta_protocol.filters.metadata_exchange") {
      filters.push(new MetadataExchange(node, ctx.direction));
    } else if (e.name === "aeraki.meta_protocol.filters.istio_stats") {
      checkType(cfg, ISTIO_STATS_TYPE, cp);
      filters.push(new IstioStats(cfg, cp, node, ctx.direction, ctx.stats));
    }
  }
  if (tracing !== undefined) {
    const t = obj(tracing, tracingPath);
    const provider = t.provider !== undefined
      ? { http: obj(t.provider, at(tracingPath, "provider")), path: at(tracingPath, "provider") }
      : (ctx.bootstrap.tracing as Obj | undefined)?.http !== undefined
      ? {
        http: (ctx.bootstrap.tracing as Obj).http as Obj,
        path: { origin: tracingPath.origin, path: "tracing.http" },
      }
      : undefined;
    const settings = provider && zipkinSettings(provider.http, provider.path);
    if (!provider) {
      ctx.unsupported(
        tracingPath.path,
        "no tracing provider (neither tracing.provider nor bootstrap tracing.http)",
      );
    } else if (!settings) {
      ctx.unsupported(provider.path.path, "only envoy.tracers.zipkin with HTTP_JSON is implemented");
    } else {
      filters.push(
        new Tracer({
          sampling: {
            client: percent(t.client_sampling),
            random: percent(t.random_sampling),
            overall: percent(t.overall_sampling),
          },
          reporter: new ZipkinReporter(settings, ctx.clusters, ctx.stats),
          direction: ctx.direction,
          node,
          traceId128: settings.traceId128,
        }),
      );
    }
  }
  return filters.length ? new MetaFilterChain(filters) : undefined;
}
