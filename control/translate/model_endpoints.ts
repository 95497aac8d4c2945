/**
 * Endpoints of a service, as istiod would list them: ServiceEntry inline `endpoints`, WorkloadEntries selected by
 * the ServiceEntry `workloadSelector` or a Service `selector` (same namespace), EndpointSlices of a Service, and
 * for DNS ServiceEntries without endpoints the host itself.
 *
 * @module
 */
import type { EndpointSlice, Service, ServiceEntry, WorkloadEntry } from "../../crds/resources/mod.ts";

/** One workload address behind a service. */
export interface MeshEndpoint {
  readonly address: string;
  /** Target port by service port name (WorkloadEntry `ports`, EndpointSlice port names). */
  readonly ports: Readonly<Record<string, number>>;
  readonly labels: Readonly<Record<string, string>>;
  /** Load balancing weight (≥ 1). */
  readonly weight: number;
  /** `region/zone/subzone`, possibly empty. */
  readonly locality: string;
}

/** What endpoints are collected from. */
export type EndpointSource =
  | { kind: "ServiceEntry"; entry: ServiceEntry; host: string; workloads: readonly WorkloadEntry[] }
  | {
    kind: "Service";
    service: Service;
    /** The EndpointSlices of this Service. */
    slices: readonly EndpointSlice[];
    workloads: readonly WorkloadEntry[];
  };

/** Collects the endpoints of one service. */
export function collectEndpoints(source: EndpointSource): MeshEndpoint[] {
  const out: MeshEndpoint[] = [];
  if (source.kind === "ServiceEntry") {
    const spec = source.entry.spec;
    for (const ep of spec.endpoints ?? []) if (ep.address) out.push(fromWorkload(ep));
    out.push(...selected(spec.workloadSelector?.labels, source.workloads));
    const dns = spec.resolution === "DNS" || spec.resolution === "DNS_ROUND_ROBIN";
    if (dns && out.length === 0 && !source.host.startsWith("*")) {
      out.push({ address: source.host, ports: {}, labels: {}, weight: 1, locality: "" });
    }
    return out;
  }
  for (const slice of source.slices) {
    const ports: Record<string, number> = {};
    for (const p of slice.ports ?? []) if (p.port !== undefined) ports[p.name ?? ""] = p.port;
    for (const ep of slice.endpoints) {
      if (ep.conditions?.ready === false) continue;
      for (const address of ep.addresses) {
        out.push({ address, ports, labels: {}, weight: 1, locality: ep.zone ? `/${ep.zone}` : "" });
      }
    }
  }
  out.push(...selected(source.service.spec.selector, source.workloads));
  return out;
}

function selected(
  selector: Readonly<Record<string, string>> | undefined,
  workloads: readonly WorkloadEntry[],
): MeshEndpoint[] {
  const entries = Object.entries(selector ?? {});
  if (entries.length === 0) return [];
  return workloads
    .filter((we) => we.spec.address && entries.every(([k, v]) => we.spec.labels?.[k] === v))
    .map((we) => fromWorkload(we.spec));
}

function fromWorkload(spec: WorkloadEntry["spec"]): MeshEndpoint {
  return {
    address: spec.address!,
    ports: spec.ports ?? {},
    labels: spec.labels ?? {},
    weight: spec.weight || 1,
    locality: spec.locality ?? "",
  };
}
