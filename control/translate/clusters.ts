/**
 * Clusters as istiod renders them for a service port: `outbound|<port>||<host>` plus one per DestinationRule
 * subset, EDS over ADS (STRICT_DNS with inline endpoints for DNS ServiceEntries), connect timeout, load balancer,
 * connection limits and outlier detection from the DestinationRule (subset policy over the top-level one).
 *
 * @module
 */
import type { TrafficPolicy } from "../../crds/resources/mod.ts";
import { loadAssignment, subsetEndpoints } from "./endpoints.ts";
import { adsConfigSource, duration, durationFromMs } from "./meta_filters.ts";
import type { Labels, MeshPort, MeshService } from "./model.ts";
import { inboundClusterName, outboundClusterName } from "./names.ts";

type Obj = Record<string, unknown>;

/** Istio's default connect timeout. */
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** A cluster and, for EDS clusters, the ClusterLoadAssignment served for it. */
export interface ClusterOutput {
  readonly cluster: Obj;
  readonly endpoints?: Obj;
}

/** One subset of a service: `""` for the whole service. */
export interface Subset {
  readonly name: string;
  readonly labels?: Labels;
  readonly policy?: TrafficPolicy;
}

/** The subsets of a service: the whole service first, then the DestinationRule's. */
export function subsetsOf(service: MeshService): Subset[] {
  const rule = service.destinationRule?.spec;
  const top = rule?.trafficPolicy;
  const out: Subset[] = [{ name: "", policy: top }];
  for (const s of rule?.subsets ?? []) {
    if (s.name) out.push({ name: s.name, labels: s.labels, policy: mergePolicy(top, s.trafficPolicy) });
  }
  return out;
}

/** Every cluster (and load assignment) of one service port. */
export function serviceClusters(service: MeshService, port: MeshPort): ClusterOutput[] {
  return subsetsOf(service).map((subset) => {
    const name = outboundClusterName(port.number, service.host, subset.name);
    const endpoints = loadAssignment(name, subsetEndpoints(service, subset.labels), port);
    const cluster: Obj = { name, ...policyFields(subset.policy) };
    if (service.resolution === "DNS" || service.resolution === "DNS_ROUND_ROBIN") {
      cluster.type = "STRICT_DNS";
      cluster.load_assignment = endpoints;
      return { cluster: order(cluster) };
    }
    cluster.type = "EDS";
    cluster.eds_cluster_config = { eds_config: adsConfigSource(), service_name: name };
    return { cluster: order(cluster), endpoints };
  });
}

/** The inbound cluster `inbound|<port>||`: the local workload at `127.0.0.1:<targetPort>`. */
export function inboundCluster(port: MeshPort): Obj {
  const name = inboundClusterName(port.number);
  return {
    name,
    type: "STATIC",
    connect_timeout: durationFromMs(DEFAULT_CONNECT_TIMEOUT_MS),
    load_assignment: {
      cluster_name: name,
      endpoints: [{
        lb_endpoints: [{
          endpoint: {
            address: { socket_address: { address: "127.0.0.1", port_value: port.targetPort ?? port.number } },
          },
        }],
      }],
    },
  };
}

/** Cluster fields from an Istio traffic policy. */
export function policyFields(policy: TrafficPolicy | undefined): Obj {
  const out: Obj = { connect_timeout: durationFromMs(DEFAULT_CONNECT_TIMEOUT_MS) };
  const lb = policy?.loadBalancer;
  if (lb?.consistentHash) {
    out.lb_policy = "RING_HASH";
    if (lb.consistentHash.minimumRingSize) {
      out.ring_hash_lb_config = { minimum_ring_size: { value: lb.consistentHash.minimumRingSize } };
    }
  } else if (lb?.simple === "LEAST_CONN" || lb?.simple === "LEAST_REQUEST") out.lb_policy = "LEAST_REQUEST";
  else if (lb?.simple === "RANDOM") out.lb_policy = "RANDOM";
  const tcp = (policy?.connectionPool as Obj | undefined)?.tcp as Obj | undefined;
  if (typeof tcp?.connectTimeout === "string") out.connect_timeout = duration(tcp.connectTimeout);
  if (typeof tcp?.maxConnections === "number") {
    out.circuit_breakers = { thresholds: [{ max_connections: { value: tcp.maxConnections } }] };
  }
  const outlier = outlierDetection(policy?.outlierDetection as Obj | undefined);
  if (outlier) out.outlier_detection = outlier;
  return out;
}

function outlierDetection(od: Obj | undefined): Obj | undefined {
  if (!od) return undefined;
  const out: Obj = {};
  const errors = od.consecutive5xxErrors ?? od.consecutiveErrors;
  if (typeof errors === "number") out.consecutive_5xx = { value: errors };
  if (typeof od.consecutiveGatewayErrors === "number") {
    out.consecutive_gateway_failure = { value: od.consecutiveGatewayErrors };
  }
  if (typeof od.interval === "string") out.interval = duration(od.interval);
  if (typeof od.baseEjectionTime === "string") out.base_ejection_time = duration(od.baseEjectionTime);
  if (typeof od.maxEjectionPercent === "number") out.max_ejection_percent = { value: od.maxEjectionPercent };
  return out;
}

function mergePolicy(
  top: TrafficPolicy | undefined,
  own: TrafficPolicy | undefined,
): TrafficPolicy | undefined {
  if (!top) return own;
  if (!own) return top;
  return { ...top, ...Object.fromEntries(Object.entries(own).filter(([, v]) => v !== undefined)) };
}

// name, type first: easier to read in config dumps.
function order(cluster: Obj): Obj {
  const { name, type, ...rest } = cluster;
  return { name, type, ...rest };
}
