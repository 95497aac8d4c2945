/**
 * `aeraki.meta_protocol.filters.ratelimit` (spec §4.4): asks an Envoy rate limit service
 * (`envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit`, plain-text gRPC) whether a request may
 * pass. Unlike Aeraki the call is asynchronous (only this request waits) and bounded by `timeout`.
 *
 * - Requests not matching `match` pass unchecked. An empty or absent `match` checks every request
 *   (the proto's documented meaning; Aeraki 1.3 never limits then).
 * - One RateLimitDescriptor per configured Descriptor: `{key: descriptor_key, value: metadata[property] or ""}`.
 * - OVER_LIMIT → local reply `rate_limited`. RPC error or timeout → pass, or `rate_limited` when
 *   `failure_mode_deny`. Cluster unknown / no host → local reply `cluster_not_found` (as Aeraki).
 * - One gRPC client per RLS host, kept for the filter's life.
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { serviceDefinition } from "../../crds/grpc_services.ts";
import { at, type ConfigPath, durationMs, fail, list, type Obj, obj, str } from "../config_util.ts";
import type { ClusterLookup } from "../extension.ts";
import type { Counter, Stats } from "../stats.ts";
import type { FilterRequest, FilterResult, MetaFilter } from "./filter_chain.ts";
import { compileHeaderMatchers, type MetadataPredicate } from "./header_matcher.ts";

/** The filter's type URL. */
export const GLOBAL_RATELIMIT_TYPE =
  "type.googleapis.com/aeraki.meta_protocol_proxy.filters.ratelimit.v1alpha.RateLimit";
/** The RLS gRPC service. */
export const RLS_SERVICE = "envoy.service.ratelimit.v3.RateLimitService";
/** RPC deadline when `timeout` is unset (Aeraki has none; Envoy's HTTP filter uses 20 ms). */
export const DEFAULT_RLS_TIMEOUT_MS = 1000;

type RlsClient = grpc.Client & {
  ShouldRateLimit(
    req: Obj,
    options: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: Obj) => void,
  ): grpc.ClientUnaryCall;
};

let clientCtor: (new (target: string, creds: grpc.ChannelCredentials) => RlsClient) | undefined;

/** The counters of one filter: `<prefix>.ratelimit.{ok,over_limit,error,failure_mode_allowed}`. */
interface RlsStats {
  ok: Counter;
  overLimit: Counter;
  error: Counter;
  failureModeAllowed: Counter;
}

/** A compiled global rate limit filter. */
export class GlobalRateLimit implements MetaFilter {
  readonly domain: string;
  readonly timeoutMs: number;
  readonly failureModeDeny: boolean;
  readonly clusterName: string;
  #match: MetadataPredicate | undefined;
  #descriptors: { property: string; key: string }[];
  #clusters: ClusterLookup;
  #clients = new Map<string, RlsClient>();
  #stats: RlsStats;
  #closed = false;

  /** Compiles `cfg` (canonical RateLimit); `statPrefix` is e.g. `meta_protocol.<app protocol>.<stat_prefix>`. */
  constructor(cfg: Obj, p: ConfigPath, clusters: ClusterLookup, stats: Stats, statPrefix: string) {
    this.domain = str(cfg.domain, at(p, "domain"));
    if (!this.domain) fail(at(p, "domain"), "domain is required");
    const metadata = cfg.match === undefined ? [] : list(obj(cfg.match, at(p, "match")).metadata);
    this.#match = metadata.length ? compileHeaderMatchers(metadata, at(p, "match.metadata")) : undefined;
    this.#descriptors = list(cfg.descriptors).map((d, i) => {
      const dp = at(at(p, "descriptors"), i);
      const o = obj(d, dp);
      return {
        property: str(o.property, at(dp, "property")),
        key: str(o.descriptor_key, at(dp, "descriptor_key")),
      };
    });
    if (this.#descriptors.length === 0) fail(at(p, "descriptors"), "at least one descriptor is required");
    const t = durationMs(cfg.timeout, at(p, "timeout"));
    this.timeoutMs = t && t > 0 ? t : DEFAULT_RLS_TIMEOUT_MS;
    this.failureModeDeny = cfg.failure_mode_deny === true;
    const rp = at(p, "rate_limit_service.grpc_service.envoy_grpc.cluster_name");
    const rls = obj(cfg.rate_limit_service, at(p, "rate_limit_service"));
    const gs = obj(rls.grpc_service, at(p, "rate_limit_service.grpc_service"));
    this.clusterName = str(
      obj(gs.envoy_grpc, at(p, "rate_limit_service.grpc_service.envoy_grpc")).cluster_name,
      rp,
    );
    if (!this.clusterName) {
      fail(rp, "a rate limit service cluster is required (only envoy_grpc is supported)");
    }
    this.#clusters = clusters;
    const n = (s: string) => stats.counter(`${statPrefix}.ratelimit.${s}`);
    this.#stats = {
      ok: n("ok"),
      overLimit: n("over_limit"),
      error: n("error"),
      failureModeAllowed: n("failure_mode_allowed"),
    };
  }

  /** The RateLimitRequest for a request's metadata (exported for tests). */
  request(headers: ReadonlyMap<string, string>): Obj {
    return {
      domain: this.domain,
      descriptors: this.#descriptors.map((d) => ({
        entries: [{ key: d.key, value: headers.get(d.property.toLowerCase()) ?? "" }],
      })),
    };
  }

  onRequest(req: FilterRequest): FilterResult | Promise<FilterResult> {
    if (this.#match && !this.#match(req.headers)) return undefined;
    const id = String(req.frame.requestId);
    const cluster = this.#clusters.get(this.clusterName);
    if (!cluster) {
      return deny(
        "cluster_not_found",
        `meta protocol global ratelimit: rate limit server cluster not found '${id}'`,
      );
    }
    const ep = cluster.pick();
    if (!ep) {
      return deny(
        "cluster_not_found",
        `meta protocol global ratelimit: rate limit server host not found for request '${id}'`,
      );
    }
    const limited = () =>
      deny("rate_limited", `meta protocol global ratelimit: request '${id}' has been rate limited`);
    return this.#call(ep.address, this.request(req.headers)).then(
      (res) => {
        if (res.overall_code === "OVER_LIMIT") {
          this.#stats.overLimit.inc();
          return limited();
        }
        this.#stats.ok.inc();
        return undefined;
      },
      () => {
        this.#stats.error.inc();
        if (this.failureModeDeny) return limited();
        this.#stats.failureModeAllowed.inc();
        return undefined;
      },
    );
  }

  #call(address: string, request: Obj): Promise<Obj> {
    if (this.#closed) return Promise.reject(new Error("Cannot call the rate limit service: filter closed"));
    let client = this.#clients.get(address);
    if (!client) {
      clientCtor ??= grpc.makeGenericClientConstructor(
        serviceDefinition(RLS_SERVICE),
        "RateLimitService",
      ) as never;
      client = new clientCtor!(address, grpc.credentials.createInsecure());
      this.#clients.set(address, client);
    }
    const deadline = new Date(Date.now() + this.timeoutMs);
    return new Promise((resolve, reject) => {
      client.ShouldRateLimit(request, { deadline }, (err, res) => (err ? reject(err) : resolve(res ?? {})));
    });
  }

  close(): Promise<void> {
    this.#closed = true;
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
    return Promise.resolve();
  }
}

function deny(kind: "rate_limited" | "cluster_not_found", message: string): FilterResult {
  return { deny: { kind, message } };
}
