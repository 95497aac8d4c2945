/**
 * The proto registry: Envoy's official messages and Aeraki's, loaded from the pre-compiled descriptor
 * `crds/gen/descriptor.json` (see `crds/gen/generate.ts`). Shared by both modes: bootstrap parsing, the
 * xDS server and the xDS client all resolve message types here.
 *
 * @module
 */
import protobuf from "protobufjs";
import descriptor from "./gen/descriptor.json" with { type: "json" };

/** The prefix of every type URL. */
export const TYPE_URL_PREFIX = "type.googleapis.com/";

/** Type URLs used across metamesh, named once. */
export const TypeUrls = {
  listener: "type.googleapis.com/envoy.config.listener.v3.Listener",
  cluster: "type.googleapis.com/envoy.config.cluster.v3.Cluster",
  endpoints: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
  routes: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
  bootstrap: "type.googleapis.com/envoy.config.bootstrap.v3.Bootstrap",
  metaProtocolProxy: "type.googleapis.com/aeraki.meta_protocol_proxy.v1alpha.MetaProtocolProxy",
  metaRouteConfiguration:
    "type.googleapis.com/aeraki.meta_protocol_proxy.config.route.v1alpha.RouteConfiguration",
  redisProxy: "type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy",
  httpConnectionManager:
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
  httpRouter: "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
  fileAccessLog: "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
} as const;

/** The xDS resource types' short names (LDS, RDS, CDS, EDS) by type URL, for logs and metric labels. */
export const XDS_SHORT_NAMES: Readonly<Record<string, string>> = {
  [TypeUrls.listener]: "LDS",
  [TypeUrls.routes]: "RDS",
  [TypeUrls.cluster]: "CDS",
  [TypeUrls.endpoints]: "EDS",
};

let root: protobuf.Root | undefined;

/** The shared root (built on first use, ~20 ms). */
export function protoRoot(): protobuf.Root {
  root ??= protobuf.Root.fromJSON(descriptor as protobuf.INamespace);
  return root;
}

/** The raw descriptor JSON, for `@grpc/proto-loader`'s `fromJSON` (the xDS server and client). */
export function protoDescriptor(): Record<string, unknown> {
  return descriptor as Record<string, unknown>;
}

/** Message type by full name (`envoy.config.listener.v3.Listener`) or type URL; `undefined` if unknown. */
export function findType(nameOrUrl: string): protobuf.Type | undefined {
  const name = nameOrUrl.startsWith(TYPE_URL_PREFIX) ? nameOrUrl.slice(TYPE_URL_PREFIX.length) : nameOrUrl;
  try {
    const found = protoRoot().lookup(name);
    return found instanceof protobuf.Type ? found : undefined;
  } catch {
    return undefined;
  }
}

/** Like {@linkcode findType} but throws a `TypeError` when the type is unknown. */
export function mustFindType(nameOrUrl: string): protobuf.Type {
  const type = findType(nameOrUrl);
  if (!type) throw new TypeError(`Cannot find proto message '${nameOrUrl}': not in the descriptor`);
  return type;
}

/** `type.googleapis.com/<full name>` of a message type. */
export function typeUrlOf(type: protobuf.Type): string {
  return TYPE_URL_PREFIX + type.fullName.replace(/^\./, "");
}
