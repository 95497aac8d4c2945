/**
 * The proxy runtime built from a canonical Envoy bootstrap: clusters, listeners with their network
 * filters, RDS route holders, stats, upstream pools and access-log sinks; plus atomic application of xDS
 * resources (compile everything first, swap only when all of it is valid).
 *
 * @module
 */
import type { LogSink } from "./access_log.ts";
import { Deadlines } from "./deadlines.ts";
import { ClusterImpl, ClusterManager, parseLoadAssignment } from "./cluster_manager.ts";
import { at, type ConfigPath, fail, list, num, type Obj, obj, str } from "./config_util.ts";
import { type FilterContext, findNetworkFilter, type NetworkFilter } from "./extension.ts";
import { serveMetaConnection } from "./meta/connection_manager.ts";
import {
  type ProxyServices,
  registerMetaProtocolFilter,
  type RouteSource,
  servicesOf,
} from "./meta/filter_config.ts";
import { RouteTable } from "./meta/route_table.ts";
import { ListenerImpl } from "./listener.ts";
import { metaRouteConfigFromRds } from "./rds_mapping.ts";
import { Stats } from "./stats.ts";
import { UpstreamManager } from "./upstream/pool.ts";

registerMetaProtocolFilter(serveMetaConnection);

/** xDS resources to apply at once (canonical objects). */
export interface ResourceUpdate {
  /** envoy.config.listener.v3.Listener, added or replaced by name. */
  readonly listeners?: readonly Obj[];
  /** envoy.config.cluster.v3.Cluster, added or replaced by name. */
  readonly clusters?: readonly Obj[];
  /** envoy.config.endpoint.v3.ClusterLoadAssignment, by cluster_name. */
  readonly endpoints?: readonly Obj[];
  /** envoy.config.route.v3.RouteConfiguration (HTTP form, mapped to meta routes per spec §6), by name. */
  readonly routes?: readonly Obj[];
  readonly removedListeners?: readonly string[];
  readonly removedClusters?: readonly string[];
  /** Where these came from, for error messages (e.g. "xds:LDS v3"). */
  readonly origin?: string;
}

const BOOTSTRAP_KNOWN = new Set(["node", "static_resources", "admin", "dynamic_resources"]);
const BOOTSTRAP_UNIMPLEMENTED: Record<string, string> = {
  tracing: "tracing providers are not implemented",
  stats_config: "stats tags are not implemented",
  stats_sinks: "stats sinks are not implemented",
  layered_runtime: "runtime layers are not implemented",
  overload_manager: "the overload manager is not implemented",
  cluster_manager: "cluster manager options are not implemented",
  watchdogs: "watchdogs are not implemented",
};
const LISTENER_KNOWN = new Set([
  "name",
  "address",
  "filter_chains",
  "traffic_direction",
  "@type",
  "stat_prefix",
]);
const CLUSTER_KNOWN = new Set([
  "name",
  "type",
  "cluster_type", // handled by the extension that registered the type (e.g. a protocol's own discovery)
  "connect_timeout",
  "lb_policy",
  "load_assignment",
  "circuit_breakers",
  "eds_cluster_config",
  "dns_refresh_rate",
  "dns_lookup_family",
  "@type",
  "alt_stat_name",
  "respect_dns_ttl",
  // Used by the xDS client's own gRPC connection only:
  "http2_protocol_options",
  "typed_extension_protocol_options",
]);

class RdsHolder implements RouteSource {
  table: RouteTable | undefined;
  current(): RouteTable | undefined {
    return this.table;
  }
}

/** A compiled listener waiting to be bound or swapped in. */
interface PendingListener {
  name: string;
  host: string;
  port: number;
  filter: NetworkFilter;
  config: Obj;
}

/** The runtime; see module doc. */
export class ProxyRuntime {
  readonly stats = new Stats();
  readonly clusters = new ClusterManager();
  readonly upstreams: UpstreamManager;
  readonly logSinks = new Map<string, LogSink>();
  readonly deadlines = new Deadlines();
  readonly listeners = new Map<string, ListenerImpl>();
  readonly services: ProxyServices;
  /** Canonical bootstrap, for config_dump. */
  bootstrap: Obj = {};
  readonly dynamic = { routes: new Map<string, Obj>() };
  #rds = new Map<string, RdsHolder>();
  #unsupported: string[] = [];
  #log: (msg: string) => void;

  constructor(log: (msg: string) => void) {
    this.#log = log;
    this.upstreams = new UpstreamManager(this.stats);
    this.services = {
      stats: this.stats,
      clusters: this.clusters,
      upstreams: this.upstreams,
      logSinks: this.logSinks,
      deadlines: this.deadlines,
      rds: (name) => this.#holder(name),
      bootstrap: () => this.bootstrap,
    };
  }

  /** Builds everything in `bootstrap.static_resources`; returns the known-but-unimplemented field paths. */
  load(bootstrap: Obj, origin: string): string[] {
    this.bootstrap = bootstrap;
    const root: ConfigPath = { origin, path: "" };
    for (const key of Object.keys(bootstrap)) {
      if (key === "tracing" && isZipkinTracing(bootstrap.tracing)) continue; // used by MetaProtocol tracing
      if (BOOTSTRAP_UNIMPLEMENTED[key]) this.#unsupported.push(`${key} (${BOOTSTRAP_UNIMPLEMENTED[key]})`);
      else if (!BOOTSTRAP_KNOWN.has(key)) this.#unsupported.push(key);
    }
    const sr = obj(bootstrap.static_resources, at(root, "static_resources"));
    const srp = at(root, "static_resources");
    for (const key of Object.keys(sr)) {
      if (key !== "listeners" && key !== "clusters") this.#unsupported.push(`static_resources.${key}`);
    }
    const clusters = list(sr.clusters).map((c, i) =>
      this.#compileCluster(obj(c, at(at(srp, "clusters"), i)), at(at(srp, "clusters"), i))
    );
    this.clusters.apply(clusters);
    const pending = list(sr.listeners).map((l, i) =>
      this.#compileListener(obj(l, at(at(srp, "listeners"), i)), at(at(srp, "listeners"), i))
    );
    this.#bind(pending);
    return this.#unsupported.splice(0);
  }

  /** Applies xDS resources atomically; returns an error message (NACK) or `undefined`. */
  applyResources(u: ResourceUpdate): string | undefined {
    const origin = u.origin ?? "xds";
    try {
      const clusters = (u.clusters ?? []).map((c, i) =>
        this.#compileCluster(c, { origin, path: `clusters[${i}]` })
      );
      const assignments = (u.endpoints ?? []).map((e, i) => {
        const p = { origin, path: `endpoints[${i}]` };
        const name = str(e.cluster_name, at(p, "cluster_name"));
        if (!name) fail(at(p, "cluster_name"), "cluster_name is required");
        return [name, parseLoadAssignment(e, p)] as const;
      });
      const routes = (u.routes ?? []).map((r, i) => {
        const p = { origin, path: `routes[${i}]` };
        const name = str(r.name, at(p, "name"));
        return [name, new RouteTable(metaRouteConfigFromRds(r, `${origin} routes[${i}]`), p), r] as const;
      });
      const listeners = (u.listeners ?? []).map((l, i) =>
        this.#compileListener(l, { origin, path: `listeners[${i}]` })
      );
      // Everything compiled: swap.
      this.clusters.apply(clusters, u.removedClusters ?? []);
      for (const [name, eps] of assignments) this.clusters.assign(name, eps);
      for (const [name, table, raw] of routes) {
        this.#holder(name).table = table;
        this.dynamic.routes.set(name, raw);
        this.stats.counter(`meta_protocol.rds.${name}.config_reload`).inc();
      }
      this.#bind(listeners);
      if (clusters.length || assignments.length || u.removedClusters?.length) this.#prunePools();
      for (const name of u.removedListeners ?? []) {
        const l = this.listeners.get(name);
        this.listeners.delete(name);
        l?.close();
      }
      const unsupported = this.#unsupported.splice(0);
      if (unsupported.length) {
        this.#log(`metamesh proxy: ignoring unsupported config from ${origin}: ${unsupported.join(", ")}`);
      }
      return undefined;
    } catch (error) {
      this.#unsupported = [];
      return error instanceof Error ? error.message : String(error);
    }
  }

  /** Closes listeners, upstream connections, timers and log sinks. */
  async close(): Promise<void> {
    const ls = [...this.listeners.values()];
    this.listeners.clear();
    await Promise.all(ls.map((l) => l.close()));
    this.upstreams.close();
    this.clusters.close();
    this.deadlines.close();
    await Promise.all([...this.logSinks.values()].map((s) => s.close()));
  }

  #prunePools(): void {
    const live = new Map<string, Set<string>>();
    for (const c of this.clusters.all()) live.set(c.name, new Set(c.endpoints().map((e) => e.address)));
    this.upstreams.prune(live);
  }

  #holder(name: string): RdsHolder {
    let h = this.#rds.get(name);
    if (!h) this.#rds.set(name, h = new RdsHolder());
    return h;
  }

  #compileCluster(c: Obj, p: ConfigPath): ClusterImpl {
    for (const key of Object.keys(c)) if (!CLUSTER_KNOWN.has(key)) this.#unsupported.push(`${p.path}.${key}`);
    const cluster = new ClusterImpl(c, p);
    return cluster;
  }

  #compileListener(l: Obj, p: ConfigPath): PendingListener {
    const name = str(l.name, at(p, "name"));
    if (!name) fail(at(p, "name"), "a listener needs a name");
    for (const key of Object.keys(l)) {
      if (!LISTENER_KNOWN.has(key)) this.#unsupported.push(`${p.path}.${key}`);
    }
    const sa = obj(obj(l.address, at(p, "address")).socket_address, at(p, "address.socket_address"));
    const host = str(sa.address, at(p, "address.socket_address.address"), "0.0.0.0");
    const port = num(sa.port_value, at(p, "address.socket_address.port_value"));
    if (!(port >= 0 && port < 65536)) fail(at(p, "address.socket_address.port_value"), `bad port ${port}`);
    const chains = list(l.filter_chains);
    if (chains.length === 0) fail(at(p, "filter_chains"), "a listener needs a filter chain");
    if (chains.length > 1) {
      this.#unsupported.push(`${p.path}.filter_chains[1..] (only the first chain is used)`);
    }
    const cp = at(at(p, "filter_chains"), 0);
    const chain = obj(chains[0], cp);
    for (const key of Object.keys(chain)) {
      if (key !== "filters" && key !== "name") this.#unsupported.push(`${cp.path}.${key}`);
    }
    const filters = list(chain.filters);
    let filter: NetworkFilter | undefined;
    filters.forEach((f, i) => {
      const fp = at(at(cp, "filters"), i);
      const fo = obj(f, fp);
      const tc = obj(fo.typed_config, at(fp, "typed_config"));
      const provider = findNetworkFilter(tc["@type"] as string | undefined, fo.name as string | undefined);
      if (!provider) {
        this.#unsupported.push(
          `${fp.path} (network filter ${String(tc["@type"] ?? fo.name)} is not implemented)`,
        );
        return;
      }
      if (filter) fail(fp, "only one terminal network filter per chain is supported");
      const ctx: FilterContext = {
        clusters: this.clusters,
        listenerName: name,
        unsupported: (path, why) => this.#unsupported.push(why ? `${path} (${why})` : path),
      };
      servicesOf.set(ctx, {
        services: this.services,
        path: at(fp, "typed_config"),
        direction: l.traffic_direction as string | undefined,
      });
      try {
        filter = provider(tc, ctx);
      } catch (error) {
        if (error instanceof TypeError && error.name === "ProxyConfigError") throw error;
        fail(at(fp, "typed_config"), error instanceof Error ? error.message : String(error));
      }
    });
    if (!filter) fail(at(cp, "filters"), "no supported terminal network filter in the chain");
    return { name, host, port, filter, config: l };
  }

  #bind(pending: PendingListener[]): void {
    const made: ListenerImpl[] = [];
    try {
      for (const p of pending) {
        const old = this.listeners.get(p.name);
        if (old && old.host === p.host && (old.port === p.port || p.port === 0)) continue;
        made.push(new ListenerImpl(p.name, p.host, p.port, p.filter, p.config, this.#log));
      }
    } catch (error) {
      for (const m of made) m.close();
      throw new TypeError(`Cannot bind listener: ${(error as Error).message}`);
    }
    for (const p of pending) {
      const fresh = made.find((m) => m.name === p.name);
      const old = this.listeners.get(p.name);
      if (fresh) {
        this.listeners.set(p.name, fresh);
        old?.close();
      } else {
        old?.update(p.filter, p.config);
      }
    }
  }
}

/** Whether the bootstrap `tracing` block is a Zipkin HTTP provider (MetaProtocol tracing reports to it). */
function isZipkinTracing(tracing: unknown): boolean {
  const http = (tracing as Obj | undefined)?.http as Obj | undefined;
  return http?.name === "envoy.tracers.zipkin" ||
    (http?.typed_config as Obj | undefined)?.["@type"] ===
      "type.googleapis.com/envoy.config.trace.v3.ZipkinConfig";
}
