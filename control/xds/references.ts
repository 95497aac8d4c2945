/**
 * The names one canonical xDS resource references (a listener's RDS names, an EDS cluster's load assignment, a
 * route configuration's clusters), extracted once per resource when a snapshot packs it.
 *
 * @module
 */
type Obj = Record<string, unknown>;

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
