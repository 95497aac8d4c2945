/**
 * The mesh model: every service metamesh can route to, with its ports (protocol detected as Aeraki), endpoints,
 * and the policies attached to it (DestinationRule, MetaRouter, VirtualService, RedisService, RedisDestination).
 * Built once per configuration change from validated resources; pure (no I/O) and immutable afterwards, so per
 * node views (see `snapshot.ts`) can share and cache everything derived from it.
 *
 * @module
 */
import type {
  DestinationRule,
  EndpointSlice,
  Gateway,
  MetaRouter,
  RedisDestination,
  RedisService,
  Resource,
  ResourceByKind,
  Secret,
  VirtualService,
  WorkloadEntry,
} from "../../crds/resources/mod.ts";
import { collectEndpoints, type MeshEndpoint } from "./model_endpoints.ts";
import { rememberInputs, reusedService } from "./model_reuse.ts";
import { resolveShortName, serviceFqdn } from "./names.ts";
import { codecConfigOf, detectProtocol, type PortProtocol } from "./protocols.ts";

export type { MeshEndpoint } from "./model_endpoints.ts";

/** Label map. */
export type Labels = Readonly<Record<string, string>>;

/** A service port with its detected protocol. */
export interface MeshPort {
  readonly number: number;
  readonly name: string;
  /** Port on the workloads when it differs and is known (ServiceEntry `targetPort`, numeric Service targetPort). */
  readonly targetPort?: number;
  readonly protocol: PortProtocol;
}

/** One service: a ServiceEntry host or a Kubernetes Service. */
export interface MeshService {
  readonly host: string;
  readonly namespace: string;
  /** Name of the ServiceEntry or Service it came from. */
  readonly name: string;
  readonly source: "ServiceEntry" | "Service";
  /** Annotations of the ServiceEntry or Service (`interface` names a Dubbo service's interface). */
  readonly annotations: Readonly<Record<string, string>>;
  /** VIPs / ClusterIPs (empty: listeners bind `0.0.0.0`). */
  readonly addresses: readonly string[];
  readonly ports: readonly MeshPort[];
  /** Namespaces that see the service; `"*"` = all. */
  readonly exportTo: ReadonlySet<string> | "*";
  readonly resolution: "NONE" | "STATIC" | "DNS" | "DNS_ROUND_ROBIN";
  /** Labels selecting its workloads (ServiceEntry workloadSelector, Service selector). */
  readonly selector?: Labels;
  readonly endpoints: readonly MeshEndpoint[];
  readonly destinationRule?: DestinationRule;
  readonly metaRouter?: MetaRouter;
  readonly virtualService?: VirtualService;
  readonly redisService?: RedisService;
  readonly redisDestination?: RedisDestination;
}

/** The immutable result of {@link buildMeshModel}. */
export interface MeshModel {
  /** Services sorted by host. */
  readonly services: readonly MeshService[];
  readonly byHost: ReadonlyMap<string, MeshService>;
  readonly gateways: readonly Gateway[];
  /** ApplicationProtocol name → codec (built-ins are added by `detectProtocol`). */
  readonly codecs: ReadonlyMap<string, string>;
  /** Codec configs (Any, canonical) by application protocol name: a declarative codec's description. */
  readonly codecConfigs: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
  /** Secrets by `namespace/name` (Redis auth). */
  readonly secrets: ReadonlyMap<string, Secret>;
  /** Things translated differently than written (conflicts, unknown protocols), for logs and status. */
  readonly warnings: readonly string[];
}

/** The EndpointSlice label naming its Service. */
const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

type ServiceId = Pick<MeshService, "host" | "namespace" | "name" | "source">;

type Bucket = { [K in keyof ResourceByKind]: ResourceByKind[K][] };

/**
 * Builds the mesh model from validated resources (any order; duplicates resolved by namespace/name order).
 * With `previous` (the model of the last configuration), a service whose inputs are the same objects as
 * then (its ServiceEntry/Service, EndpointSlices, WorkloadEntries, policies, ApplicationProtocols) is that
 * model's `MeshService` object again, so everything cached on it (service views, packed resources) is reused.
 */
export function buildMeshModel(resources: Iterable<Resource>, previous?: MeshModel): MeshModel {
  const all = bucket(resources);
  const warnings: string[] = [];
  const codecs = new Map<string, string>();
  const codecConfigs = new Map<string, Readonly<Record<string, unknown>>>();
  for (const ap of all.ApplicationProtocol) {
    if (!ap.spec.protocol || !ap.spec.codec) continue;
    codecs.set(ap.spec.protocol, ap.spec.codec);
    const config = codecConfigOf(ap);
    if (config) codecConfigs.set(ap.spec.protocol, config);
  }
  const policies = indexPolicies(all);
  const byHost = new Map<string, MeshService>();
  const protocolsKey = JSON.stringify([[...codecs], [...codecConfigs]]);
  const add = (id: ServiceId, inputs: unknown[], build: () => Omit<MeshService, keyof Policies>) => {
    if (byHost.has(id.host)) {
      warnings.push(`Cannot add ${id.source} ${id.namespace}/${id.name}: host ${id.host} taken`);
      return;
    }
    const attached = policies.of(id.host, id.namespace);
    const key = [protocolsKey, ...inputs, ...Object.values(attached)];
    const service = reusedService(previous?.byHost.get(id.host), key) ??
      rememberInputs({ ...build(), ...attached }, key);
    for (const port of service.ports) {
      if (port.protocol.kind === "tcp" && port.protocol.reason) {
        warnings.push(`${service.host} port ${port.number}: plain TCP: ${port.protocol.reason}`);
      }
    }
    byHost.set(id.host, service);
  };
  const workloads = groupByNamespace(all.WorkloadEntry);
  const slices = new Map<string, EndpointSlice[]>();
  for (const slice of all.EndpointSlice) {
    const owner = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (owner) push(slices, `${slice.metadata.namespace}/${owner}`, slice);
  }
  for (const svc of all.Service) {
    const namespace = svc.metadata.namespace ?? "default";
    const spec = svc.spec;
    if (spec.type === "ExternalName") continue;
    const host = serviceFqdn(svc.metadata.name, namespace);
    const owned = slices.get(`${namespace}/${svc.metadata.name}`) ?? [];
    const local = workloads.get(namespace) ?? [];
    const id: ServiceId = { host, namespace, name: svc.metadata.name, source: "Service" };
    add(id, [svc, owned.length, ...owned, ...local], () => {
      const ports = (spec.ports ?? []).map((p): MeshPort => ({
        number: p.port,
        name: p.name ?? "",
        targetPort: typeof p.targetPort === "number" ? p.targetPort : undefined,
        protocol: detectProtocol(p.name, codecs, codecConfigs),
      }));
      const clusterIp = spec.clusterIP && spec.clusterIP !== "None" ? [spec.clusterIP] : [];
      return {
        ...id,
        annotations: svc.metadata.annotations ?? {},
        addresses: clusterIp,
        ports,
        exportTo: "*",
        resolution: clusterIp.length ? "STATIC" : "NONE",
        selector: spec.selector,
        endpoints: collectEndpoints({ kind: "Service", service: svc, slices: owned, workloads: local }),
      };
    });
  }
  for (const se of all.ServiceEntry) {
    const namespace = se.metadata.namespace ?? "default";
    const spec = se.spec;
    const local = workloads.get(namespace) ?? [];
    let ports: MeshPort[] | undefined;
    for (const host of spec.hosts ?? []) {
      const id: ServiceId = { host, namespace, name: se.metadata.name, source: "ServiceEntry" };
      add(id, [se, ...local], () => ({
        ...id,
        annotations: se.metadata.annotations ?? {},
        addresses: spec.addresses ?? [],
        ports: ports ??= (spec.ports ?? []).filter((p) => p.number !== undefined).map((p): MeshPort => ({
          number: p.number!,
          name: p.name ?? "",
          targetPort: p.targetPort,
          protocol: detectProtocol(p.name, codecs, codecConfigs),
        })),
        exportTo: exportSet(spec.exportTo, namespace),
        resolution: spec.resolution ?? "NONE",
        selector: spec.workloadSelector?.labels,
        endpoints: collectEndpoints({ kind: "ServiceEntry", entry: se, host, workloads: local }),
      }));
    }
  }
  const services = [...byHost.values()].sort((a, b) => compare(a.host, b.host));
  const secrets = new Map(all.Secret.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));
  return { services, byHost, gateways: all.Gateway, codecs, codecConfigs, secrets, warnings };
}

/**
 * `exportTo` as a set: absent/empty = everywhere (Istio's default), `.` = the resource's own namespace, `*`
 * anywhere in the list = everywhere.
 */
export function exportSet(
  exportTo: readonly string[] | undefined,
  namespace: string,
): ReadonlySet<string> | "*" {
  if (!exportTo || exportTo.length === 0 || exportTo.includes("*")) return "*";
  return new Set(exportTo.map((ns) => ns === "." ? namespace : ns));
}

/** Whether an `exportTo` set admits `namespace`. */
export function exportedTo(exportTo: ReadonlySet<string> | "*", namespace: string): boolean {
  return exportTo === "*" || exportTo.has(namespace);
}

/** Whether `labels` carries every key/value of `selector` (an empty selector matches nothing, as Istio). */
export function selectorMatches(selector: Labels | undefined, labels: Labels): boolean {
  if (!selector) return false;
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

type Policies = Pick<
  MeshService,
  "destinationRule" | "metaRouter" | "virtualService" | "redisService" | "redisDestination"
>;

function indexPolicies(all: Bucket) {
  // Istio prefers the DestinationRule of the service's namespace; otherwise the first by namespace/name.
  const rules = new Map<string, DestinationRule[]>();
  for (const dr of all.DestinationRule) {
    const host = resolveShortName(dr.spec.host ?? "", dr.metadata.namespace ?? "default");
    push(rules, host, dr);
  }
  // Aeraki: exact equality of hosts[0]; the first in list order wins.
  const routers = new Map<string, MetaRouter>();
  for (const mr of all.MetaRouter) {
    const host = mr.spec.hosts?.[0];
    if (host && !routers.has(host)) routers.set(host, mr);
  }
  const virtualServices = new Map<string, VirtualService>();
  for (const vs of all.VirtualService) {
    for (const host of vs.spec.hosts ?? []) {
      const fqdn = resolveShortName(host, vs.metadata.namespace ?? "default");
      if (!virtualServices.has(fqdn)) virtualServices.set(fqdn, vs);
    }
  }
  return {
    of(host: string, namespace: string): Policies {
      const drs = rules.get(host) ?? [];
      return {
        destinationRule: drs.find((dr) => dr.metadata.namespace === namespace) ?? drs[0],
        metaRouter: routers.get(host),
        virtualService: virtualServices.get(host),
        // Aeraki searches only the service's namespace for Redis resources.
        redisService: all.RedisService.find((rs) =>
          rs.metadata.namespace === namespace && (rs.spec.host ?? []).includes(host)
        ),
        redisDestination: all.RedisDestination.find((rd) =>
          rd.metadata.namespace === namespace && rd.spec.host === host
        ),
      };
    },
  };
}

function bucket(resources: Iterable<Resource>): Bucket {
  const out: Record<string, Resource[]> = {};
  for (const r of resources) (out[r.kind] ??= []).push(r);
  const kinds = [
    "MetaRouter",
    "ApplicationProtocol",
    "RedisService",
    "RedisDestination",
    "DubboAuthorizationPolicy",
    "ServiceEntry",
    "DestinationRule",
    "Gateway",
    "VirtualService",
    "WorkloadEntry",
    "Service",
    "EndpointSlice",
    "Namespace",
    "Secret",
  ];
  for (const kind of kinds) {
    out[kind] = (out[kind] ?? []).sort((a, b) =>
      compare(a.metadata.namespace ?? "", b.metadata.namespace ?? "") ||
      compare(a.metadata.name, b.metadata.name)
    );
  }
  return out as unknown as Bucket;
}

function groupByNamespace(entries: readonly WorkloadEntry[]): Map<string, WorkloadEntry[]> {
  const out = new Map<string, WorkloadEntry[]>();
  for (const we of entries) push(out, we.metadata.namespace ?? "default", we);
  return out;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
