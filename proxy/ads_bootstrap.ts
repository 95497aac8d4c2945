/**
 * The Istio-style sidecar bootstrap that takes everything from ADS: the node (id, metadata, cluster) the
 * control plane keys its snapshots on, `dynamic_resources.ads_config` over gRPC to a STATIC cluster at the
 * control plane's address, and LDS/CDS from ADS. istiod's injector writes the same shape into every pod's
 * Envoy; the demo and the tests start `startProxy` (proxy/run.ts) on it.
 *
 * @module
 */

/** Name of the static cluster that points at the control plane (Istio's name for it). */
export const XDS_CLUSTER = "xds-grpc";

/** The Envoy node: what the control plane sees of the proxy. */
export interface AdsNode {
  /** `sidecar~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local` (or `router~…` for a gateway). */
  readonly id: string;
  /** Node metadata, e.g. `{ NAMESPACE, LABELS }`. */
  readonly metadata?: Record<string, unknown>;
  /** Service cluster of the node (Envoy `node.cluster`). */
  readonly cluster?: string;
}

/** Where the control plane is, and who the proxy is. */
export interface AdsBootstrapOptions {
  /** The control plane's xDS address; default `127.0.0.1`. */
  readonly xdsHost?: string;
  /** The control plane's xDS port. */
  readonly xdsPort: number;
  readonly node: AdsNode;
}

/**
 * A canonical envoy.config.bootstrap.v3.Bootstrap (snake_case fields, durations as `{seconds, nanos}`) whose
 * listeners and clusters all come over ADS from `xdsHost:xdsPort`.
 */
export function adsBootstrap(opts: AdsBootstrapOptions): Record<string, unknown> {
  const { id, metadata, cluster } = opts.node;
  const ads = { ads: {}, resource_api_version: "V3" };
  const address = { socket_address: { address: opts.xdsHost ?? "127.0.0.1", port_value: opts.xdsPort } };
  return {
    node: {
      id,
      ...(cluster === undefined ? {} : { cluster }),
      ...(metadata === undefined ? {} : { metadata }),
    },
    dynamic_resources: {
      ads_config: {
        api_type: "GRPC",
        transport_api_version: "V3",
        grpc_services: [{ envoy_grpc: { cluster_name: XDS_CLUSTER } }],
      },
      lds_config: ads,
      cds_config: ads,
    },
    static_resources: {
      clusters: [{
        name: XDS_CLUSTER,
        type: "STATIC",
        connect_timeout: { seconds: 1, nanos: 0 },
        load_assignment: {
          cluster_name: XDS_CLUSTER,
          endpoints: [{ lb_endpoints: [{ endpoint: { address } }] }],
        },
      }],
    },
  };
}
