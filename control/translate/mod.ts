/**
 * Translation: validated resources in, per-node Envoy resources out. No I/O, no timers.
 *
 * ```ts
 * const model = buildMeshModel(store.resources());   // once per configuration change
 * const view = translateForNode(model, node);          // per node; cached per nodeKeyOf(parseNode(node))
 * view.listeners / view.routes / view.clusters / view.endpoints  // Map<name, Resource> (packed protobuf)
 * canonicalResources(view)                             // the same, decoded to canonical messages
 * ```
 *
 * @module
 */
export { buildMeshModel, exportedTo, exportSet, selectorMatches } from "./model.ts";
export type { Labels, MeshEndpoint, MeshModel, MeshPort, MeshService } from "./model.ts";
export { type NodeInfo, nodeKeyOf, type NodeLike, parseNode } from "./node.ts";
export {
  type CanonicalResources,
  canonicalResources,
  type NodeResources,
  translateForNode,
} from "./snapshot.ts";
export { buildMetaRoutes, headerMatchers, metaToRds } from "./meta_routes.ts";
export { detectProtocol, type PortProtocol } from "./protocols.ts";
export * from "./names.ts";
