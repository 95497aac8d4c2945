/**
 * Who is asking: the identity of an xDS node (Istio's `sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local` /
 * `router~…` ids, `NAMESPACE` / `LABELS` metadata, proxyless gRPC clients) and the key of everything its view
 * depends on.
 *
 * @module
 */
import type { Labels } from "./model.ts";

/** What translation needs to know about a node. */
export interface NodeInfo {
  readonly id: string;
  /** `router` = an Istio gateway; anything else is a sidecar. */
  readonly type: "sidecar" | "router";
  /** Workload IP (`""` when unknown: no inbound listener). */
  readonly ip: string;
  readonly podName: string;
  readonly namespace: string;
  readonly labels: Labels;
  /** A proxyless gRPC client (gets `<host>:<port>` API listeners instead of MetaProtocol listeners). */
  readonly proxyless: boolean;
}

/** The canonical `envoy.config.core.v3.Node` fields read here. */
export interface NodeLike {
  id?: string;
  metadata?: Record<string, unknown>;
  user_agent_name?: string;
}

/**
 * Parses a node. Metadata `NAMESPACE`, `LABELS` (a string map), `INSTANCE_IPS` (comma list) win over what the
 * id says; an id that is not Istio's form is a sidecar in namespace `default` with no IP.
 */
export function parseNode(node: NodeLike): NodeInfo {
  const id = node.id ?? "";
  const parts = id.split("~");
  const istio = parts.length === 4;
  const meta = node.metadata ?? {};
  const pod = istio ? parts[2] : "";
  const dot = pod.lastIndexOf(".");
  const idNamespace = istio ? (parts[3].split(".")[0] || (dot > 0 ? pod.slice(dot + 1) : "")) : "";
  const ips = typeof meta.INSTANCE_IPS === "string" ? meta.INSTANCE_IPS.split(",")[0] : undefined;
  return {
    id,
    type: istio && parts[0] === "router" ? "router" : "sidecar",
    ip: ips || (istio ? parts[1] : ""),
    podName: dot > 0 ? pod.slice(0, dot) : pod,
    namespace: stringOr(meta.NAMESPACE, idNamespace || "default"),
    labels: labelsOf(meta.LABELS),
    proxyless: meta.GENERATOR === "grpc" || (node.user_agent_name ?? "").startsWith("gRPC"),
  };
}

/**
 * The cache key of a node's view: type, namespace, labels, IP, proxyless. Two nodes with the same key receive
 * identical resources, so views are built once per key.
 */
export function nodeKeyOf(node: NodeInfo): string {
  const labels = Object.keys(node.labels).sort().map((k) => `${k}=${node.labels[k]}`).join(",");
  return `${node.type}|${node.proxyless ? "grpc" : "proxy"}|${node.namespace}|${node.ip}|${labels}`;
}

function labelsOf(value: unknown): Labels {
  if (!value || typeof value !== "object" || Array.isArray(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v;
  return out;
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === "string" && value !== "" ? value : fallback;
}
