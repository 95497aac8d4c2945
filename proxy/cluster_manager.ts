/**
 * Clusters from canonical `envoy.config.cluster.v3.Cluster` objects: STATIC, STRICT_DNS / LOGICAL_DNS
 * (host names resolved through Deno's resolver, `localhost` and /etc/hosts names kept as names and
 * resolved by the OS at connect time) and EDS (endpoints arrive as ClusterLoadAssignment updates).
 *
 * @module
 */
import {
  at,
  type ConfigPath,
  durationMs,
  fail,
  list,
  num,
  type Obj,
  obj,
  str,
  wrapped,
} from "./config_util.ts";
import type { Cluster, ClusterLookup, Endpoint } from "./extension.ts";
import { type ActiveCounts, createLoadBalancer, LB_POLICIES, type LoadBalancer } from "./lb.ts";

/** Envoy's default connect timeout. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/** Envoy's default circuit-breaker limits. */
export const DEFAULT_MAX_CONNECTIONS = 1024;
export const DEFAULT_MAX_PENDING = 1024;

const IP = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)$/;

/** A cluster instance. */
export class ClusterImpl implements Cluster {
  readonly name: string;
  readonly config: Readonly<Obj>;
  readonly connectTimeoutMs: number;
  readonly type: string;
  readonly lbPolicy: string;
  /** circuit_breakers.thresholds[0].max_connections (also caps multiplexed connections per endpoint). */
  readonly maxConnections: number;
  readonly maxPending: number;
  /** Explicit max_connections was configured (multiplexed pools then use it as their per-endpoint count). */
  readonly maxConnectionsSet: boolean;
  /** Active requests per endpoint address (LEAST_REQUEST). */
  readonly active: ActiveCounts = new Map();
  #endpoints: Endpoint[] = [];
  #lb: LoadBalancer = { pick: () => undefined };
  #dnsTimer: ReturnType<typeof setInterval> | undefined;
  #dnsHosts: { host: string; port: number; weight: number }[] = [];

  constructor(config: Obj, p: ConfigPath) {
    this.config = config;
    this.name = str(config.name, at(p, "name"));
    if (!this.name) fail(at(p, "name"), "a cluster needs a name");
    this.connectTimeoutMs = durationMs(config.connect_timeout, at(p, "connect_timeout")) ??
      DEFAULT_CONNECT_TIMEOUT_MS;
    // A custom `cluster_type` (e.g. a protocol's own discovery, registered by a codec) replaces `type` (a
    // proto oneof): its endpoints are seeds, which may be hostnames, and it provides its own balancing.
    const custom = config.cluster_type !== undefined;
    this.type = custom
      ? "CUSTOM"
      : str(config.type, at(p, "type"), config.eds_cluster_config ? "EDS" : "STATIC");
    if (!["STATIC", "STRICT_DNS", "LOGICAL_DNS", "EDS", "CUSTOM"].includes(this.type)) {
      fail(
        at(p, "type"),
        `unsupported cluster type ${this.type}: expected STATIC, STRICT_DNS, LOGICAL_DNS or EDS`,
      );
    }
    this.lbPolicy = str(config.lb_policy, at(p, "lb_policy"), "ROUND_ROBIN");
    if (this.lbPolicy === "CLUSTER_PROVIDED" && !custom) {
      fail(at(p, "lb_policy"), "lb_policy CLUSTER_PROVIDED needs a cluster_type that provides the balancing");
    }
    if (this.lbPolicy !== "CLUSTER_PROVIDED" && !(LB_POLICIES as readonly string[]).includes(this.lbPolicy)) {
      fail(
        at(p, "lb_policy"),
        `unsupported lb_policy ${this.lbPolicy}: expected one of ${LB_POLICIES.join(", ")}`,
      );
    }
    const th = obj(
      list(obj(config.circuit_breakers, at(p, "circuit_breakers")).thresholds)[0],
      at(p, "circuit_breakers.thresholds[0]"),
    );
    this.maxConnectionsSet = th.max_connections !== undefined;
    this.maxConnections = wrapped(
      th.max_connections,
      at(p, "circuit_breakers.thresholds[0].max_connections"),
      DEFAULT_MAX_CONNECTIONS,
    );
    this.maxPending = wrapped(
      th.max_pending_requests,
      at(p, "circuit_breakers.thresholds[0].max_pending_requests"),
      DEFAULT_MAX_PENDING,
    );
    if (config.load_assignment !== undefined && this.type !== "EDS") {
      const eps = parseLoadAssignment(
        obj(config.load_assignment, at(p, "load_assignment")),
        at(p, "load_assignment"),
      );
      if (this.type === "STATIC") {
        for (const [i, e] of eps.entries()) {
          if (!IP.test(e.host)) {
            fail(
              at(p, `load_assignment.endpoints[${i}]`),
              `STATIC cluster endpoint ${e.host} is not an IP address`,
            );
          }
        }
        this.setEndpoints(eps);
      } else {
        this.#dnsHosts = eps;
        this.setEndpoints(eps); // names until the first resolution completes
      }
    }
  }

  /** Starts DNS refresh for STRICT_DNS/LOGICAL_DNS clusters (no-op otherwise). */
  start(): void {
    if (this.#dnsHosts.length === 0 || this.#dnsTimer !== undefined) return;
    const rate = durationMs(this.config.dns_refresh_rate, { origin: this.name, path: "dns_refresh_rate" }) ??
      5000;
    this.#resolve();
    this.#dnsTimer = setInterval(() => this.#resolve(), Math.max(rate, 100));
    Deno.unrefTimer(this.#dnsTimer as unknown as number);
  }

  /** Stops DNS refresh. */
  stop(): void {
    if (this.#dnsTimer !== undefined) clearInterval(this.#dnsTimer);
    this.#dnsTimer = undefined;
  }

  async #resolve(): Promise<void> {
    const out: Endpoint[] = [];
    for (const h of this.#dnsHosts) {
      if (IP.test(h.host) || h.host === "localhost") {
        out.push(endpoint(h.host, h.port, h.weight));
        continue;
      }
      try {
        const addrs = await Deno.resolveDns(h.host, "A");
        const pickAll = this.type === "STRICT_DNS" ? addrs : addrs.slice(0, 1);
        for (const a of pickAll) out.push(endpoint(a, h.port, h.weight));
      } catch {
        out.push(endpoint(h.host, h.port, h.weight)); // let the OS resolver (/etc/hosts) try at connect time
      }
    }
    if (this.#dnsTimer !== undefined || out.length) this.setEndpoints(out);
  }

  /** Replaces the endpoint set and rebuilds the balancer. */
  setEndpoints(eps: Endpoint[]): void {
    this.#endpoints = eps;
    this.#lb = createLoadBalancer(this.lbPolicy, eps, this.active);
  }

  endpoints(): readonly Endpoint[] {
    return this.#endpoints;
  }

  pick(hash?: string): Endpoint | undefined {
    return this.#lb.pick(hash);
  }
}

/** Makes an Endpoint. */
export function endpoint(host: string, port: number, weight = 1): Endpoint {
  return { host, port, weight, address: host.includes(":") ? `[${host}]:${port}` : `${host}:${port}` };
}

/** Parses a canonical ClusterLoadAssignment into endpoints (unhealthy/draining ones left out). */
export function parseLoadAssignment(la: Obj, p: ConfigPath): Endpoint[] {
  const out: Endpoint[] = [];
  list(la.endpoints).forEach((le, i) => {
    const lp = at(at(p, "endpoints"), i);
    list(obj(le, lp).lb_endpoints).forEach((lbe, j) => {
      const ep = at(at(lp, "lb_endpoints"), j);
      const o = obj(lbe, ep);
      if (o.health_status === "UNHEALTHY" || o.health_status === "DRAINING") return;
      const sa = obj(
        obj(obj(o.endpoint, at(ep, "endpoint")).address, at(ep, "endpoint.address")).socket_address,
        at(ep, "endpoint.address.socket_address"),
      );
      const host = str(sa.address, at(ep, "endpoint.address.socket_address.address"));
      const port = num(sa.port_value, at(ep, "endpoint.address.socket_address.port_value"));
      if (!host || !(port > 0 && port < 65536)) {
        fail(at(ep, "endpoint.address.socket_address"), "an endpoint needs an address and a port");
      }
      out.push(
        endpoint(
          host,
          port,
          Math.max(1, wrapped(o.load_balancing_weight, at(ep, "load_balancing_weight"), 1)),
        ),
      );
    });
  });
  return out;
}

/** The current cluster set; swapped atomically by CDS updates. */
export class ClusterManager implements ClusterLookup {
  #clusters = new Map<string, ClusterImpl>();
  /** Pending EDS assignments for clusters not yet known. */
  #assignments = new Map<string, Endpoint[]>();

  get(name: string): ClusterImpl | undefined {
    return this.#clusters.get(name);
  }

  /** All clusters. */
  all(): ClusterImpl[] {
    return [...this.#clusters.values()];
  }

  /** Adds or replaces clusters (already compiled) and removes `removed`. */
  apply(add: ClusterImpl[], removed: readonly string[] = []): void {
    for (const name of removed) {
      this.#clusters.get(name)?.stop();
      this.#clusters.delete(name);
    }
    for (const c of add) {
      const old = this.#clusters.get(c.name);
      old?.stop();
      if (c.type === "EDS") {
        const known = this.#assignments.get(edsName(c)) ??
          (old?.type === "EDS" ? [...old.endpoints()] : undefined);
        if (known) c.setEndpoints(known);
      }
      this.#clusters.set(c.name, c);
      c.start();
    }
  }

  /** Applies an EDS ClusterLoadAssignment. */
  assign(clusterName: string, eps: Endpoint[]): void {
    this.#assignments.set(clusterName, eps);
    for (const c of this.#clusters.values()) {
      if (c.type === "EDS" && edsName(c) === clusterName) c.setEndpoints(eps);
    }
  }

  /** Stops DNS timers. */
  close(): void {
    for (const c of this.#clusters.values()) c.stop();
  }
}

/** The EDS resource name of a cluster: eds_cluster_config.service_name, else the cluster name. */
export function edsName(c: ClusterImpl): string {
  const ecc = c.config.eds_cluster_config as Obj | undefined;
  return (typeof ecc?.service_name === "string" && ecc.service_name) || c.name;
}
