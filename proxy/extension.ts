/**
 * Extension points of the proxy core: network filters (what handles an accepted connection) and cluster
 * types (how a cluster finds its endpoints). The core knows no protocol; protocols plug in here from
 * `codecs/` (e.g. the MetaProtocol filter is core, Envoy's redis_proxy is registered by `codecs/redis/`).
 *
 * Config objects are in canonical proto form (see docs/ARCHITECTURE.md).
 *
 * @module
 */

/** An upstream address. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  /** Load-balancing weight (≥ 1). */
  readonly weight: number;
  /** `host:port`, used as a map key and in logs. */
  readonly address: string;
}

/** A cluster as the data path sees it: a name, its current endpoints and how to pick one. */
export interface Cluster {
  readonly name: string;
  /** The cluster's canonical `envoy.config.cluster.v3.Cluster` object. */
  readonly config: Readonly<Record<string, unknown>>;
  /** `connect_timeout` in milliseconds (Envoy default 5000). */
  readonly connectTimeoutMs: number;
  /** Current endpoints (may change after EDS/DNS updates). */
  endpoints(): readonly Endpoint[];
  /** Picks an endpoint per the cluster's lb_policy; `hash` feeds hash-based policies. `undefined` = none healthy. */
  pick(hash?: string): Endpoint | undefined;
}

/** Looks clusters up by name; the set changes as CDS updates arrive. */
export interface ClusterLookup {
  get(name: string): Cluster | undefined;
}

/** What a network filter factory is given besides its own config. */
export interface FilterContext {
  readonly clusters: ClusterLookup;
  /** The listener's name, for stats and logs. */
  readonly listenerName: string;
  /** Records a config field metamesh accepts but does not implement (reported once at startup). */
  unsupported(fieldPath: string, why?: string): void;
}

/**
 * Handles connections accepted by one listener filter chain. Made once per (listener, config version);
 * `handle` is called once per accepted connection and resolves when that connection is finished.
 */
export interface NetworkFilter {
  handle(conn: Deno.TcpConn): Promise<void>;
  /** Stops taking new work; existing connections finish (drain). Idempotent. */
  close(): Promise<void>;
}

/** Builds a filter from its canonical typed_config; throws `TypeError` with the field path on bad config. */
export type NetworkFilterProvider = (
  typedConfig: Record<string, unknown>,
  ctx: FilterContext,
) => NetworkFilter;

const filterProviders = new Map<string, NetworkFilterProvider>();

/** Registers a network filter by its typed_config type URL (and/or filter name). */
export function registerNetworkFilter(keys: readonly string[], provider: NetworkFilterProvider): void {
  for (const key of keys) filterProviders.set(key, provider);
}

/** Finds the provider for a filter by type URL first, then by name. */
export function findNetworkFilter(
  typeUrl: string | undefined,
  name: string | undefined,
): NetworkFilterProvider | undefined {
  return (typeUrl && filterProviders.get(typeUrl)) || (name ? filterProviders.get(name) : undefined);
}
