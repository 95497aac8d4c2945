/**
 * Everything one service contributes to any node, built once per mesh model and shared by every node view:
 * clusters and load assignments of every port, outbound MetaProtocol and Redis listeners with their RDS route
 * tables, and proxyless gRPC listeners/routes. Each resource is packed to protobuf as soon as it is built and
 * only the packed form is kept (see `control/xds/resource.ts`): views live as long as their service is
 * unchanged, so they are the bulk of the control plane's memory.
 *
 * @module
 */
import { TypeUrls } from "../../crds/protos.ts";
import { packResource, type Resource } from "../xds/resource.ts";
import { type ClusterOutput, serviceClusters } from "./clusters.ts";
import { grpcListener, grpcRoutes } from "./grpc.ts";
import { outboundListeners } from "./listeners.ts";
import { outboundMetaFilter } from "./meta_filters.ts";
import { buildMetaRoutes, metaToRds } from "./meta_routes.ts";
import { exportSet, type MeshModel, type MeshService } from "./model.ts";
import { type ModelRead, recording, stillValid } from "./model_reads.ts";
import { isRedisClusterMode, outboundRedisFilter, redisClusterOverrides } from "./redis.ts";

type Obj = Record<string, unknown>;

/** An outbound listener with what node views need to know of it without decoding it. */
export interface OutboundListener {
  readonly resource: Resource;
  readonly port: number;
  /** Envoy's `redis_proxy` (visible to every importing namespace) rather than a MetaProtocol listener. */
  readonly redis: boolean;
}

/** What one service contributes (packed resources). */
export interface ServiceView {
  readonly clusters: readonly Resource[];
  readonly endpoints: readonly Resource[];
  /** Outbound listeners (MetaProtocol and Redis) for sidecars, with the RDS route tables they reference. */
  readonly listeners: readonly OutboundListener[];
  readonly routes: readonly Resource[];
  /** Namespaces whose sidecars get the MetaProtocol listeners (the MetaRouter's `exportTo`). */
  readonly metaExportTo: ReadonlySet<string> | "*";
  readonly grpcListeners: readonly Resource[];
  readonly grpcRoutes: readonly Resource[];
  /** Clusters and load assignments of the gRPC ports only (what proxyless clients need). */
  readonly grpcClusters: readonly Resource[];
  readonly grpcEndpoints: readonly Resource[];
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
  if (checkpoint && ++builtSinceCheckpoint >= checkpoint.every) {
    builtSinceCheckpoint = 0;
    checkpoint.run();
  }
  return view;
}

let checkpoint: { every: number; run: () => void } | undefined;
let builtSinceCheckpoint = 0;

/**
 * Runs `run` after every `every` service views built, process-wide. The control plane passes a full
 * garbage collection: the first translation of a large mesh builds every view in one go, and V8 lets the
 * garbage of building them (canonical objects, protobuf writers) pile up until it ends (measured at 10,000
 * services: heap 181 MiB at the end of the build, 105 MiB after a collection). Later translations rebuild
 * only the changed services' views and rarely reach a checkpoint.
 */
export function setViewCheckpoint(every: number, run: () => void): void {
  checkpoint = { every, run };
  builtSinceCheckpoint = 0;
}

function buildServiceView(model: MeshModel, service: MeshService): ServiceView {
  const clusters: Resource[] = [];
  const endpoints: Resource[] = [];
  const listeners: OutboundListener[] = [];
  const routes: Resource[] = [];
  const grpc = {
    listeners: [] as Resource[],
    routes: [] as Resource[],
    clusters: [] as Resource[],
    endpoints: [] as Resource[],
  };
  const outbound = (port: number, redis: boolean, filter: Obj) => {
    for (const l of outboundListeners(service.addresses, port, filter)) {
      listeners.push({ resource: packResource(TypeUrls.listener, l), port, redis });
    }
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
      outbound(port.number, true, outboundRedisFilter(model, service, port));
    } else if (protocol.kind === "meta") {
      routes.push(packResource(TypeUrls.routes, metaToRds(buildMetaRoutes(model, service, port.number))));
      outbound(port.number, false, outboundMetaFilter(service.host, port.number, protocol));
    } else if (protocol.kind === "grpc") {
      grpc.listeners.push(packResource(TypeUrls.listener, grpcListener(service, port)));
      grpc.routes.push(packResource(TypeUrls.routes, grpcRoutes(service, port)));
    }
    for (const o of outputs) {
      const cluster = packResource(TypeUrls.cluster, o.cluster);
      const assignment = o.endpoints && packResource(TypeUrls.endpoints, o.endpoints);
      clusters.push(cluster);
      if (assignment) endpoints.push(assignment);
      if (protocol.kind === "grpc") {
        grpc.clusters.push(cluster);
        if (assignment) grpc.endpoints.push(assignment);
      }
    }
  }
  const router = service.metaRouter;
  return {
    clusters,
    endpoints,
    listeners,
    routes,
    metaExportTo: router ? exportSet(router.spec.exportTo, router.metadata.namespace ?? "default") : "*",
    grpcListeners: grpc.listeners,
    grpcRoutes: grpc.routes,
    grpcClusters: grpc.clusters,
    grpcEndpoints: grpc.endpoints,
  };
}
