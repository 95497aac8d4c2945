/**
 * ClusterLoadAssignments: a service port's endpoints, filtered by subset labels, grouped by locality with
 * `load_balancing_weight` on every locality (grpc-js-xds requires it) and endpoint.
 *
 * @module
 */
import type { Labels, MeshEndpoint, MeshPort, MeshService } from "./model.ts";

type Obj = Record<string, unknown>;

/** The workload port of `endpoint` for a service port: its named port, else the target port, else the port. */
export function endpointPort(endpoint: MeshEndpoint, port: MeshPort): number {
  return endpoint.ports[port.name] ?? port.targetPort ?? port.number;
}

/** Endpoints of `service` carrying all `subsetLabels` (none: all of them). */
export function subsetEndpoints(
  service: MeshService,
  subsetLabels: Labels | undefined,
): readonly MeshEndpoint[] {
  const entries = Object.entries(subsetLabels ?? {});
  if (entries.length === 0) return service.endpoints;
  return service.endpoints.filter((ep) => entries.every(([k, v]) => ep.labels[k] === v));
}

/** The `envoy.config.endpoint.v3.ClusterLoadAssignment` of one cluster (canonical, without `@type`). */
export function loadAssignment(clusterName: string, endpoints: readonly MeshEndpoint[], port: MeshPort): Obj {
  const groups = new Map<string, { lb: Obj[]; weight: number }>();
  for (const ep of endpoints) {
    let group = groups.get(ep.locality);
    if (!group) groups.set(ep.locality, group = { lb: [], weight: 0 });
    group.lb.push(lbEndpoint(ep, endpointPort(ep, port)));
    group.weight += ep.weight;
  }
  const localities = [...groups].map(([locality, group]) => {
    const out: Obj = { lb_endpoints: group.lb, load_balancing_weight: { value: group.weight } };
    // Always present, empty when unknown: grpc-js-xds rejects an endpoint group without a locality.
    out.locality = localityOf(locality) ?? NO_LOCALITY;
    return out;
  });
  const out: Obj = { cluster_name: clusterName };
  if (localities.length) out.endpoints = localities;
  return out;
}

const NO_LOCALITY: Obj = Object.freeze({});

function lbEndpoint(ep: MeshEndpoint, port: number): Obj {
  return {
    endpoint: { address: { socket_address: { address: ep.address, port_value: port } } },
    load_balancing_weight: { value: ep.weight },
  };
}

/** Istio's `region/zone/subzone` locality string as an Envoy `Locality` (`undefined` when empty). */
export function localityOf(text: string): Obj | undefined {
  if (!text) return undefined;
  const [region, zone, subZone] = text.split("/");
  const out: Obj = {};
  if (region) out.region = region;
  if (zone) out.zone = zone;
  if (subZone) out.sub_zone = subZone;
  return Object.keys(out).length ? out : undefined;
}
