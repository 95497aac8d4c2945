/**
 * `consistent(snapshot)`: the references between resource types resolve inside the snapshot, so a client
 * never waits on a name the server will not send (go-control-plane's `Snapshot.Consistent()`, extended to
 * route → cluster references).
 *
 * @module
 */
import { TypeUrls } from "../../crds/protos.ts";
import type { Obj, Snapshot } from "./snapshot.ts";

/**
 * Lists the broken references of `snapshot`, empty when it is consistent:
 * - every RDS name a listener uses (any `rds.route_config_name`: MetaProtocolProxy, HCM in filter chains,
 *   HCM of an api_listener) is a RouteConfiguration of the snapshot;
 * - every EDS cluster's `eds_cluster_config.service_name` (or its own name) is a ClusterLoadAssignment;
 * - every cluster a RouteConfiguration names (`cluster`, `weighted_clusters`, mirrors) is a Cluster,
 *   unless the snapshot has no cluster at all: an RDS-only snapshot (Aeraki's MetaRDS model, where
 *   istiod serves the clusters).
 */
export function consistencyProblems(snapshot: Snapshot): string[] {
  const problems: string[] = [];
  const routes = snapshot.resources(TypeUrls.routes);
  const clusters = snapshot.resources(TypeUrls.cluster);
  const endpoints = snapshot.resources(TypeUrls.endpoints);
  for (const listener of snapshot.resources(TypeUrls.listener).values()) {
    for (const name of rdsNames(listener.canonical)) {
      if (!routes.has(name)) problems.push(`listener '${listener.name}' uses missing route config '${name}'`);
    }
  }
  for (const cluster of clusters.values()) {
    const edsName = edsServiceName(cluster.canonical);
    if (edsName !== undefined && !endpoints.has(edsName)) {
      problems.push(`cluster '${cluster.name}' uses missing endpoints '${edsName}'`);
    }
  }
  for (const route of clusters.size ? routes.values() : []) {
    for (const name of routeClusters(route.canonical)) {
      if (!clusters.has(name)) problems.push(`route config '${route.name}' uses missing cluster '${name}'`);
    }
  }
  return problems;
}

/** `true` when {@linkcode consistencyProblems} finds nothing. */
export function consistent(snapshot: Snapshot): boolean {
  return consistencyProblems(snapshot).length === 0;
}

/** Every `rds.route_config_name` anywhere inside a canonical listener (typed_configs are expanded). */
export function rdsNames(listener: Readonly<Obj>): string[] {
  const out = new Set<string>();
  walk(listener, (node) => {
    const rds = node.rds as Obj | undefined;
    if (
      rds && typeof rds === "object" && typeof rds.route_config_name === "string" && rds.route_config_name
    ) {
      out.add(rds.route_config_name);
    }
  });
  return [...out];
}

/** The EDS name a canonical cluster subscribes to, or `undefined` when it is not an EDS cluster. */
export function edsServiceName(cluster: Readonly<Obj>): string | undefined {
  if (cluster.type !== "EDS") return undefined;
  const eds = (cluster.eds_cluster_config ?? {}) as Obj;
  return typeof eds.service_name === "string" && eds.service_name ? eds.service_name : String(cluster.name);
}

/** Cluster names a canonical Envoy RouteConfiguration routes or mirrors to. */
export function routeClusters(routeConfig: Readonly<Obj>): string[] {
  const out = new Set<string>();
  for (const vh of list(routeConfig.virtual_hosts)) {
    for (const route of list(vh.routes)) {
      const action = (route.route ?? {}) as Obj;
      if (typeof action.cluster === "string" && action.cluster) out.add(action.cluster);
      for (const c of list((action.weighted_clusters as Obj | undefined)?.clusters)) {
        if (typeof c.name === "string" && c.name) out.add(c.name);
      }
      for (const m of list(action.request_mirror_policies)) {
        if (typeof m.cluster === "string" && m.cluster) out.add(m.cluster);
      }
    }
  }
  return [...out];
}

function list(value: unknown): Obj[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]) as Obj[];
}

function walk(value: unknown, visit: (node: Obj) => void): void {
  if (Array.isArray(value)) {
    for (const v of value) walk(v, visit);
  } else if (value && typeof value === "object") {
    visit(value as Obj);
    for (const v of Object.values(value)) walk(v, visit);
  }
}
