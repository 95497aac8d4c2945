/**
 * `consistent(snapshot)`: the references between resource types resolve inside the snapshot, so a client
 * never waits on a name the server will not send (go-control-plane's `Snapshot.Consistent()`, extended to
 * route → cluster references).
 *
 * @module
 */
import { TypeUrls } from "../../crds/protos.ts";
import type { Snapshot } from "./snapshot.ts";

export { edsServiceName, rdsNames, routeClusters } from "./references.ts";

/**
 * Lists the broken references of `snapshot`, empty when it is consistent:
 * - every RDS name a listener uses (any `rds.route_config_name`: MetaProtocolProxy, HCM in filter chains,
 *   HCM of an api_listener) is a RouteConfiguration of the snapshot;
 * - every EDS cluster's `eds_cluster_config.service_name` (or its own name) is a ClusterLoadAssignment;
 * - every cluster a RouteConfiguration names (`cluster`, `weighted_clusters`, mirrors) is a Cluster,
 *   unless the snapshot has no cluster at all: an RDS-only snapshot (Aeraki's MetaRDS model, where
 *   istiod serves the clusters).
 *
 * `verified` is a snapshot already found consistent (the node's previous one): a reference kind is only
 * checked when the referring or the referred type changed since (`Snapshot.build` shares unchanged types).
 */
export function consistencyProblems(snapshot: Snapshot, verified?: Snapshot): string[] {
  const problems: string[] = [];
  const routes = snapshot.resources(TypeUrls.routes);
  const clusters = snapshot.resources(TypeUrls.cluster);
  const endpoints = snapshot.resources(TypeUrls.endpoints);
  const same = (...types: string[]) =>
    verified !== undefined && types.every((t) => snapshot.sameAs(verified, t));
  // Each resource's references were extracted when it was packed: this is only map lookups.
  const skipListeners = same(TypeUrls.listener, TypeUrls.routes);
  for (const listener of skipListeners ? [] : snapshot.resources(TypeUrls.listener).values()) {
    for (const name of listener.refs) {
      if (!routes.has(name)) problems.push(`listener '${listener.name}' uses missing route config '${name}'`);
    }
  }
  for (const cluster of same(TypeUrls.cluster, TypeUrls.endpoints) ? [] : clusters.values()) {
    for (const edsName of cluster.refs) {
      if (!endpoints.has(edsName)) {
        problems.push(`cluster '${cluster.name}' uses missing endpoints '${edsName}'`);
      }
    }
  }
  for (const route of clusters.size && !same(TypeUrls.routes, TypeUrls.cluster) ? routes.values() : []) {
    for (const name of route.refs) {
      if (!clusters.has(name)) problems.push(`route config '${route.name}' uses missing cluster '${name}'`);
    }
  }
  return problems;
}

/** `true` when {@linkcode consistencyProblems} finds nothing. */
export function consistent(snapshot: Snapshot): boolean {
  return consistencyProblems(snapshot).length === 0;
}
