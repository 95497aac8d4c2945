/**
 * Everything one service contributes to any node, built once per mesh model and shared by every node view
 * (objects are treated as frozen): clusters and load assignments of every port, outbound MetaProtocol and Redis
 * listeners with their RDS route tables, and proxyless gRPC listeners/routes.
 *
 * @module
 */
import type { MetaRouteConfiguration } from "../../crds/route_model.ts";
import { type ClusterOutput, serviceClusters } from "./clusters.ts";
import { grpcListener, grpcRoutes } from "./grpc.ts";
import { outboundListeners } from "./listeners.ts";
import { outboundMetaFilter } from "./meta_filters.ts";
import { buildMetaRoutes, metaToRds } from "./meta_routes.ts";
import { exportSet, type MeshModel, type MeshService } from "./model.ts";
import { type ModelRead, recording, stillValid } from "./model_reads.ts";
import { isRedisClusterMode, outboundRedisFilter, redisClusterOverrides } from "./redis.ts";

type Obj = Record<string, unknown>;

/** A named resource in canonical form. */
export interface Named {
  readonly name: string;
  readonly value: Obj;
}

/** What one service contributes. */
export interface ServiceView {
  readonly clusters: readonly Named[];
  readonly endpoints: readonly Named[];
  /** Outbound listeners (MetaProtocol and Redis) for sidecars, with the RDS route tables they reference. */
  readonly listeners: readonly Named[];
  readonly routes: readonly Named[];
  /** The meta route tables behind `routes`, by name (for the proxy side and tests). */
  readonly metaRoutes: ReadonlyMap<string, MetaRouteConfiguration>;
  /** Namespaces whose sidecars get the MetaProtocol listeners (the MetaRouter's `exportTo`). */
  readonly metaExportTo: ReadonlySet<string> | "*";
  readonly grpcListeners: readonly Named[];
  readonly grpcRoutes: readonly Named[];
  /** Clusters and load assignments of the gRPC ports only (what proxyless clients need). */
  readonly grpcClusters: readonly Named[];
  readonly grpcEndpoints: readonly Named[];
}

interface CachedView {
  readonly view: ServiceView;
  /** What the build read from the model besides `service`; the view is valid while these are the same. */
  readonly reads: readonly ModelRead[];
}

const views = new WeakMap<MeshService, CachedView>();

/**
 * The (memoized) contribution of `service` in `model`. `MeshService` objects carry over between models while
 * their inputs are unchanged (see `model_reuse.ts`), so the view is reused across models too, as long as what
 * it read from the model (other services' DestinationRules and ports, Secrets) is also unchanged.
 */
export function serviceView(model: MeshModel, service: MeshService): ServiceView {
  const cached = views.get(service);
  if (cached && stillValid(model, cached.reads)) return cached.view;
  const reads: ModelRead[] = [];
  const view = buildServiceView(recording(model, reads), service);
  views.set(service, { view, reads });
  return view;
}

function buildServiceView(model: MeshModel, service: MeshService): ServiceView {
  const clusters: Named[] = [];
  const endpoints: Named[] = [];
  const listeners: Named[] = [];
  const routes: Named[] = [];
  const metaRoutes = new Map<string, MetaRouteConfiguration>();
  const grpc = {
    listeners: [] as Named[],
    routes: [] as Named[],
    clusters: [] as Named[],
    endpoints: [] as Named[],
  };
  for (const port of service.ports) {
    let outputs: ClusterOutput[] = serviceClusters(service, port);
    const protocol = port.protocol;
    if (protocol.kind === "redis") {
      // Aeraki replaces only the whole-service cluster.
      outputs = outputs.map((o, i) =>
        i > 0 ? o : {
          cluster: redisClusterOverrides(model, service, port, o.cluster),
          endpoints: isRedisClusterMode(service) ? undefined : o.endpoints,
        }
      );
      const filter = outboundRedisFilter(model, service, port);
      for (const l of outboundListeners(service.addresses, port.number, filter)) listeners.push(named(l));
    } else if (protocol.kind === "meta") {
      const table = buildMetaRoutes(model, service, port.number);
      metaRoutes.set(table.name!, table);
      routes.push({ name: table.name!, value: metaToRds(table) });
      const filter = outboundMetaFilter(service.host, port.number, protocol);
      for (const l of outboundListeners(service.addresses, port.number, filter)) listeners.push(named(l));
    } else if (protocol.kind === "grpc") {
      grpc.listeners.push(named(grpcListener(service, port)));
      grpc.routes.push(named(grpcRoutes(service, port)));
    }
    for (const o of outputs) {
      const name = o.cluster.name as string;
      clusters.push({ name, value: o.cluster });
      if (o.endpoints) endpoints.push({ name, value: o.endpoints });
      if (protocol.kind === "grpc") {
        grpc.clusters.push({ name, value: o.cluster });
        if (o.endpoints) grpc.endpoints.push({ name, value: o.endpoints });
      }
    }
  }
  const router = service.metaRouter;
  return {
    clusters,
    endpoints,
    listeners,
    routes,
    metaRoutes,
    metaExportTo: router ? exportSet(router.spec.exportTo, router.metadata.namespace ?? "default") : "*",
    grpcListeners: grpc.listeners,
    grpcRoutes: grpc.routes,
    grpcClusters: grpc.clusters,
    grpcEndpoints: grpc.endpoints,
  };
}

function named(value: Obj): Named {
  return { name: value.name as string, value };
}
