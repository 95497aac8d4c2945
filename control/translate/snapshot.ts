/**
 * Per-node views: the Listeners, RouteConfigurations, Clusters and ClusterLoadAssignments one node receives.
 * Build the mesh model once per configuration change (`buildMeshModel`), then call `translateForNode` per node:
 * service contributions are built once per model, namespace views once per namespace, node views once per
 * `nodeKeyOf` — all cached on the (immutable) model, dropped with it. Resources are packed (protobuf) as they
 * are built; {@linkcode canonicalResources} decodes a view for reading.
 *
 * @module
 */
import { TypeUrls } from "../../crds/protos.ts";
import { packResource, type Resource } from "../xds/resource.ts";
import { inboundCluster } from "./clusters.ts";
import { gatewayListener, inboundListener } from "./listeners.ts";
import { inboundMetaFilter, outboundMetaFilter } from "./meta_filters.ts";
import { buildMetaRoutes, metaToRds } from "./meta_routes.ts";
import { exportedTo, type MeshModel, type MeshService, selectorMatches } from "./model.ts";
import { type NodeInfo, nodeKeyOf, type NodeLike, parseNode } from "./node.ts";
import { detectProtocol } from "./protocols.ts";
import { inboundRedisFilter } from "./redis.ts";
import { serviceView } from "./service_view.ts";
import { type PortClaim, sharePort } from "./shared_port.ts";

type Obj = Record<string, unknown>;

/** The resources of one node, packed, by resource name; shared between nodes. */
export interface NodeResources {
  readonly listeners: ReadonlyMap<string, Resource>;
  readonly routes: ReadonlyMap<string, Resource>;
  readonly clusters: ReadonlyMap<string, Resource>;
  readonly endpoints: ReadonlyMap<string, Resource>;
  /** Resources left out (name conflicts) and why. */
  readonly warnings: readonly string[];
}

/** A node view decoded: canonical messages **without** `"@type"` at the top level (nested `Any`s keep theirs). */
export interface CanonicalResources {
  readonly listeners: ReadonlyMap<string, Obj>;
  readonly routes: ReadonlyMap<string, Obj>;
  readonly clusters: ReadonlyMap<string, Obj>;
  readonly endpoints: ReadonlyMap<string, Obj>;
  readonly warnings: readonly string[];
}

type Kind = "listeners" | "routes" | "clusters" | "endpoints";
const KINDS: readonly Kind[] = ["listeners", "routes", "clusters", "endpoints"];

interface Mutable {
  listeners: Map<string, Resource>;
  routes: Map<string, Resource>;
  clusters: Map<string, Resource>;
  endpoints: Map<string, Resource>;
  warnings: string[];
}

interface ModelCache {
  readonly namespaces: Map<string, NodeResources>;
  /** Services by their own namespace (where inbound workloads live). */
  readonly owned: Map<string, MeshService[]>;
  readonly nodes: Map<string, NodeResources>;
}

const caches = new WeakMap<MeshModel, ModelCache>();

/** The resources `node` (a parsed {@link NodeInfo} or a canonical Envoy `Node`) receives from `model`. */
export function translateForNode(model: MeshModel, node: NodeInfo | NodeLike): NodeResources {
  const info = "type" in node && "proxyless" in node ? node as NodeInfo : parseNode(node as NodeLike);
  let cache = caches.get(model);
  if (!cache) caches.set(model, cache = { namespaces: new Map(), owned: ownedBy(model), nodes: new Map() });
  const key = nodeKeyOf(info);
  let view = cache.nodes.get(key);
  if (!view) cache.nodes.set(key, view = buildNodeView(model, info, cache));
  return view;
}

/** Decodes every resource of a view (for tests, dumps and tools; the server sends the packed bytes). */
export function canonicalResources(view: NodeResources): CanonicalResources {
  const decode = (map: ReadonlyMap<string, Resource>) =>
    new Map([...map].map(([name, r]) => [name, r.message()] as const));
  return {
    listeners: decode(view.listeners),
    routes: decode(view.routes),
    clusters: decode(view.clusters),
    endpoints: decode(view.endpoints),
    warnings: view.warnings,
  };
}

function buildNodeView(model: MeshModel, node: NodeInfo, cache: ModelCache): NodeResources {
  const shared = namespaceView(model, node.namespace, node.proxyless, cache);
  if (node.proxyless) return shared;
  if (node.type === "router") {
    const out = empty();
    copy(shared.clusters, out.clusters);
    copy(shared.endpoints, out.endpoints);
    addGatewayListeners(model, node, out);
    return out;
  }
  const out = empty();
  addInbound(cache.owned.get(node.namespace) ?? [], node, out);
  if (out.listeners.size === 0) return shared;
  for (const kind of KINDS) copy(shared[kind], out[kind]);
  out.warnings.push(...shared.warnings);
  return out;
}

/** What every sidecar (or every proxyless client) of a namespace shares. */
function namespaceView(
  model: MeshModel,
  namespace: string,
  proxyless: boolean,
  cache: ModelCache,
): NodeResources {
  const key = `${proxyless ? "grpc" : "proxy"}|${namespace}`;
  const cached = cache.namespaces.get(key);
  if (cached) return cached;
  const out = empty();
  const claims = new Map<string, PortClaim[]>();
  for (const service of model.services) {
    if (!exportedTo(service.exportTo, namespace)) continue;
    const view = serviceView(model, service);
    if (proxyless) {
      addAll(out, "listeners", view.grpcListeners);
      addAll(out, "routes", view.grpcRoutes);
      addAll(out, "clusters", view.grpcClusters);
      addAll(out, "endpoints", view.grpcEndpoints);
      continue;
    }
    addAll(out, "clusters", view.clusters);
    addAll(out, "endpoints", view.endpoints);
    const metaVisible = exportedTo(view.metaExportTo, namespace);
    for (const l of view.listeners) {
      if (!l.redis && !metaVisible) continue;
      const name = l.resource.name;
      if (service.addresses.length === 0) {
        // `0.0.0.0_<port>`: several address-less services may share it (resolved below).
        const protocol = service.ports.find((p) => p.number === l.port)!.protocol;
        const claim: PortClaim = {
          service,
          protocol,
          table: () => protocol.kind === "meta" ? buildMetaRoutes(model, service, l.port) : undefined,
          listener: l.resource,
          port: l.port,
        };
        const list = claims.get(name);
        if (list) list.push(claim);
        else claims.set(name, [claim]);
        continue;
      }
      const taken = out.listeners.get(name);
      if (taken) {
        out.warnings.push(
          `Cannot add listener ${name} for ${service.host}: taken by ${statPrefixOf(taken.message())}`,
        );
        continue;
      }
      out.listeners.set(name, l.resource);
    }
    if (metaVisible) addAll(out, "routes", view.routes);
  }
  for (const [name, list] of claims) {
    if (out.listeners.has(name)) {
      // An explicit `0.0.0.0` address got there first.
      for (const c of list) out.warnings.push(`Cannot add listener ${name} for ${c.service.host}: taken`);
      continue;
    }
    if (list.length === 1) {
      out.listeners.set(name, list[0].listener);
      continue;
    }
    const shared = sharePort(list[0].port, list);
    out.listeners.set(name, shared.listener);
    if (shared.route) out.routes.set(shared.route.name, shared.route);
    out.warnings.push(...shared.warnings);
  }
  cache.namespaces.set(key, out);
  return out;
}

/** The workload's own service ports: MetaProtocol (with rate limits) and Redis inbound listeners + clusters. */
function addInbound(services: readonly MeshService[], node: NodeInfo, out: Mutable): void {
  for (const service of services) {
    if (!selectorMatches(service.selector, node.labels)) continue;
    for (const port of service.ports) {
      const p = port.protocol;
      const filter = p.kind === "meta"
        ? inboundMetaFilter(service.host, port.number, p, service.metaRouter)
        : p.kind === "redis"
        ? inboundRedisFilter(port)
        : undefined;
      if (!filter) continue;
      const listener = inboundListener(node.ip, port.number, filter);
      if (out.listeners.has(listener.name as string)) continue; // two services, one workload port
      add(out, "listeners", packResource(TypeUrls.listener, listener));
      add(out, "clusters", packResource(TypeUrls.cluster, inboundCluster(port)));
    }
  }
}

/**
 * Gateway listeners: servers of the Gateways selecting this node whose port is a MetaProtocol port, carrying the
 * route table of the MetaRouter that lists the Gateway in `gateways` and routes to that port (Aeraki §6.3).
 */
function addGatewayListeners(model: MeshModel, node: NodeInfo, out: Mutable): void {
  for (const gw of model.gateways) {
    if (!selectorMatches(gw.spec.selector, node.labels)) continue;
    const gwNamespace = gw.metadata.namespace ?? "default";
    const ref = `${gwNamespace}/${gw.metadata.name}`;
    for (const server of gw.spec.servers ?? []) {
      const port = server.port?.number;
      const protocol = detectProtocol(server.port?.name, model.codecs, model.codecConfigs);
      if (port === undefined || protocol.kind !== "meta") continue;
      const bound = model.services.filter((s) => {
        const mr = s.metaRouter;
        if (!mr) return false;
        const mrNamespace = mr.metadata.namespace ?? "default";
        const listed = (mr.spec.gateways ?? []).some((g) =>
          (g.includes("/") ? g : `${mrNamespace}/${g}`) === ref
        );
        return listed &&
          (mr.spec.routes ?? []).some((r) => r.route?.some((d) => d.destination?.port?.number === port));
      });
      if (bound.length === 0) continue;
      if (bound.length > 1) {
        out.warnings.push(`Gateway ${ref} port ${port}: several MetaRouters bound, using ${bound[0].host}`);
      }
      const service = bound[0];
      const listener = gatewayListener(port, outboundMetaFilter(service.host, port, protocol));
      if (out.listeners.has(listener.name as string)) continue;
      add(out, "listeners", packResource(TypeUrls.listener, listener));
      add(out, "routes", packResource(TypeUrls.routes, metaToRds(buildMetaRoutes(model, service, port))));
    }
  }
}

function ownedBy(model: MeshModel): Map<string, MeshService[]> {
  const out = new Map<string, MeshService[]>();
  for (const service of model.services) {
    const list = out.get(service.namespace);
    if (list) list.push(service);
    else out.set(service.namespace, [service]);
  }
  return out;
}

function statPrefixOf(listener: Obj): string {
  const filter = ((listener.filter_chains as Obj[])[0].filters as Obj[])[0];
  return String((filter.typed_config as Obj).stat_prefix);
}

function empty(): Mutable {
  return { listeners: new Map(), routes: new Map(), clusters: new Map(), endpoints: new Map(), warnings: [] };
}

function add(out: Mutable, kind: Kind, resource: Resource): void {
  out[kind].set(resource.name, resource);
}

function addAll(out: Mutable, kind: Kind, items: readonly Resource[]) {
  const map = out[kind];
  for (const item of items) if (!map.has(item.name)) map.set(item.name, item);
}

function copy(from: ReadonlyMap<string, Resource>, to: Map<string, Resource>): void {
  for (const [k, v] of from) to.set(k, v);
}
