/**
 * `aeraki.meta_protocol.filters.istio_stats` (spec §4.6): Istio standard metrics for MetaProtocol
 * requests, exposed on the admin's `/stats/prometheus` under Istio's names:
 * `istio_requests_total` (counter), `istio_request_duration_milliseconds`, `istio_request_bytes`,
 * `istio_response_bytes` (histograms, Envoy's default buckets).
 *
 * Reporter `destination` on INBOUND listeners (peer = request's `x-envoy-peer-metadata`), `source` on
 * OUTBOUND ones (peer = response's `x-envoy-peer-metadata`). `destination_service(_name)` is the config's
 * `destination_service` on INBOUND, the upstream cluster name after its last `|` on OUTBOUND. Unknown
 * values are `unknown`; canonical revisions default to `latest`.
 *
 * @module
 */
import { decodeMessage } from "../../crds/proto_wire.ts";
import { at, type ConfigPath, type Obj, str } from "../config_util.ts";
import type { Stats } from "../stats.ts";
import type { FilterRequest, FilterResult, MetaFilter, RequestOutcome } from "./filter_chain.ts";
import { decodePeerMetadata, flatNode, PEER_METADATA_KEY } from "./metadata_exchange.ts";
import { LabelledMetrics } from "./labelled_metrics.ts";

/** The filter's type URL. */
export const ISTIO_STATS_TYPE =
  "type.googleapis.com/aeraki.meta_protocol_proxy.filters.istio_stats.v1alpha.IstioStats";

/** Label names in exposition order. */
export const ISTIO_LABELS = [
  "reporter",
  "source_workload",
  "source_workload_namespace",
  "source_cluster",
  "source_app",
  "source_version",
  "source_canonical_service",
  "source_canonical_revision",
  "destination_workload",
  "destination_workload_namespace",
  "destination_cluster",
  "destination_app",
  "destination_version",
  "destination_canonical_service",
  "destination_canonical_revision",
  "destination_service",
  "destination_service_name",
  "destination_service_namespace",
  "response_code",
] as const;

interface Peer {
  workload: string;
  namespace: string;
  cluster: string;
  app: string;
  version: string;
  canonicalService: string;
  canonicalRevision: string;
}

const UNKNOWN_PEER: Peer = {
  workload: "unknown",
  namespace: "unknown",
  cluster: "unknown",
  app: "unknown",
  version: "unknown",
  canonicalService: "unknown",
  canonicalRevision: "latest",
};

/** Istio's workload labels from a FlatNode Struct. */
export function peerOf(node: Obj | undefined): Peer {
  if (!node) return UNKNOWN_PEER;
  const labels = (node.LABELS ?? {}) as Record<string, string>;
  const s = (v: unknown, d = "unknown") => (typeof v === "string" && v !== "" ? v : d);
  return {
    workload: s(node.WORKLOAD_NAME),
    namespace: s(node.NAMESPACE),
    cluster: s(node.CLUSTER_ID),
    app: s(labels.app ?? labels["app.kubernetes.io/name"]),
    version: s(labels.version ?? labels["app.kubernetes.io/version"]),
    canonicalService: s(labels["service.istio.io/canonical-name"]),
    canonicalRevision: s(labels["service.istio.io/canonical-revision"], "latest"),
  };
}

const registries = new WeakMap<Stats, LabelledMetrics>();

/** The Istio metric families of one stat store (registered with its Prometheus output once). */
export function istioMetrics(stats: Stats): LabelledMetrics {
  let m = registries.get(stats);
  if (!m) {
    m = new LabelledMetrics(ISTIO_LABELS);
    m.counter("istio_requests_total");
    m.histogram("istio_request_duration_milliseconds");
    m.histogram("istio_request_bytes");
    m.histogram("istio_response_bytes");
    registries.set(stats, m);
    const r = m;
    stats.addPrometheusExporter(() => r.render());
  }
  return m;
}

const decodeStruct = (b: Uint8Array) => decodeMessage("google.protobuf.Struct", b);

/** The compiled filter. */
export class IstioStats implements MetaFilter {
  readonly outbound: boolean;
  readonly destinationService: string;
  #local: Peer;
  #metrics: LabelledMetrics;
  #peers = new Map<string, Peer>();

  constructor(cfg: Obj, p: ConfigPath, node: Obj, direction: string | undefined, stats: Stats) {
    this.destinationService = str(cfg.destination_service, at(p, "destination_service"));
    this.outbound = direction === "OUTBOUND";
    this.#local = peerOf(flatNode((node.metadata ?? {}) as Obj));
    this.#metrics = istioMetrics(stats);
  }

  #peer(value: string | undefined): Peer {
    if (!value) return UNKNOWN_PEER;
    let p = this.#peers.get(value);
    if (!p) {
      p = peerOf(decodePeerMetadata(value, decodeStruct));
      if (this.#peers.size >= 256) this.#peers.clear();
      this.#peers.set(value, p);
    }
    return p;
  }

  onRequest(req: FilterRequest): FilterResult {
    if (req.frame.type === "oneway") return undefined;
    const start = performance.now();
    const requestSize = req.frame.bytes.length;
    const inboundPeer = this.outbound ? undefined : req.headers.get(PEER_METADATA_KEY);
    return {
      observer: {
        onFinish: (o) => this.#report(o, start, requestSize, inboundPeer),
      },
    };
  }

  #report(o: RequestOutcome, start: number, requestSize: number, inboundPeer: string | undefined): void {
    let src: Peer, dst: Peer, service: string, serviceNs: string;
    if (this.outbound) {
      src = this.#local;
      dst = this.#peer(responseKey(o));
      const c = o.cluster ?? "";
      service = c ? c.slice(c.lastIndexOf("|") + 1) : "unknown";
      serviceNs = dst.namespace;
    } else {
      src = this.#peer(inboundPeer);
      dst = this.#local;
      service = this.destinationService || "unknown";
      serviceNs = dst.namespace;
    }
    const labels = [
      this.outbound ? "source" : "destination",
      src.workload,
      src.namespace,
      src.cluster,
      src.app,
      src.version,
      src.canonicalService,
      src.canonicalRevision,
      dst.workload,
      dst.namespace,
      dst.cluster,
      dst.app,
      dst.version,
      dst.canonicalService,
      dst.canonicalRevision,
      service,
      service,
      serviceNs,
      String(o.code),
    ];
    const m = this.#metrics;
    m.inc("istio_requests_total", labels);
    m.observe("istio_request_duration_milliseconds", labels, performance.now() - start);
    m.observe("istio_request_bytes", labels, requestSize);
    m.observe("istio_response_bytes", labels, o.responseSize);
  }
}

function responseKey(o: RequestOutcome): string | undefined {
  const md = o.response?.metadata;
  if (!md) return undefined;
  const v = md.get(PEER_METADATA_KEY);
  if (v !== undefined) return v;
  for (const [k, x] of md) if (k.toLowerCase() === PEER_METADATA_KEY) return x;
  return undefined;
}
