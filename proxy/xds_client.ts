/**
 * The proxy's xDS client (SotW over grpc-js).
 *
 * - With `dynamic_resources.ads_config` (api_type GRPC, `envoy_grpc.cluster_name` naming a static
 *   cluster, as Istio bootstraps do): one ADS stream subscribing CDS and LDS (wildcard), then EDS for the
 *   EDS clusters and RDS for route names whose `config_source` is `ads`.
 * - Route names whose `config_source.api_config_source` is GRPC (Aeraki's MetaRDS on cluster
 *   `aeraki-xds`) get their own `RouteDiscoveryService/StreamRoutes` stream per server, for static and
 *   dynamic listeners alike.
 *
 * Each response is decoded into canonical objects and handed to the sink to apply atomically: ACK on
 * success, NACK (`error_detail` code 3) on a decode or apply failure, the old config staying in place.
 * When a server goes away the proxy keeps its last config; streams reconnect with backoff and resubscribe
 * with their last accepted versions.
 *
 * @module
 */
import { TypeUrls, XDS_SHORT_NAMES } from "../crds/protos.ts";
import { at, type ConfigPath, fail, list, type Obj, obj, str } from "./config_util.ts";
import type { ResourceUpdate } from "./run.ts";
import { ADS_PATH, RDS_PATH, XdsChannel } from "./xds_client_channel.ts";
import { edsNames, prepareUpdate, rdsRefs, retainNames, type TypeState } from "./xds_client_state.ts";

/** What applies resources: `startProxy(...)`'s handle. Returns a NACK reason, or `undefined` to ACK. */
export interface ResourceSink {
  applyResources(update: ResourceUpdate): string | undefined;
}

/** Options of {@linkcode startXdsClient}. */
export interface XdsClientOptions {
  /** The canonical bootstrap (node, static_resources, dynamic_resources). */
  readonly bootstrap: Obj;
  /** For error messages (the bootstrap file path). */
  readonly origin?: string;
  readonly sink: ResourceSink;
  /** Default `console.error`. */
  readonly log?: (message: string) => void;
  /** Overrides the ADS server address found in the bootstrap (`host:port` or `unix:/path`). */
  readonly target?: string;
  /** First reconnect delay (default 500 ms) and the cap (default 30 s); each delay is jittered to 50–100 %. */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
}

/** Per-type view for admin and tests. */
export interface XdsTypeStatus {
  names: string[];
  version: string;
  resources: string[];
}

/** One stream's view. */
export interface XdsChannelStatus {
  target: string;
  connected: boolean;
  reconnects: number;
  types: Record<string, XdsTypeStatus>;
}

/** The client's state, for admin and tests. `types`/`connected`/`reconnects` describe the ADS stream. */
export interface XdsClientStatus {
  connected: boolean;
  target: string;
  acks: number;
  nacks: number;
  reconnects: number;
  lastNack?: string;
  types: Record<string, XdsTypeStatus>;
  channels: XdsChannelStatus[];
}

const ADS_TYPES = [TypeUrls.cluster, TypeUrls.endpoints, TypeUrls.listener, TypeUrls.routes];

/** Starts the client (connection attempts begin at once). */
export function startXdsClient(options: XdsClientOptions): XdsClient {
  return new XdsClient(options);
}

/** A running xDS client; see the module doc. */
export class XdsClient {
  readonly #opts: XdsClientOptions;
  readonly #log: (message: string) => void;
  readonly #origin: string;
  readonly #node: Obj;
  readonly #ads: XdsChannel | undefined;
  readonly #rds = new Map<string, XdsChannel>();
  readonly #staticListeners: Obj[];
  readonly #unsupported = new Set<string>();
  #counts = { acks: 0, nacks: 0 };
  #lastNack: string | undefined;
  #synced = Promise.withResolvers<void>();

  constructor(options: XdsClientOptions) {
    this.#opts = options;
    this.#log = options.log ?? ((m) => console.error(m));
    this.#origin = options.origin ?? "bootstrap";
    const b = options.bootstrap;
    this.#node = { user_agent_name: "metamesh", ...obj(b.node, { origin: this.#origin, path: "node" }) };
    this.#staticListeners = list(
      obj(b.static_resources, { origin: this.#origin, path: "static_resources" }).listeners,
    )
      .filter((l): l is Obj => !!l && typeof l === "object");
    const dynamic = obj(b.dynamic_resources, { origin: this.#origin, path: "dynamic_resources" });
    if (dynamic.ads_config !== undefined) {
      this.#ads = this.#channel(options.target ?? adsTarget(b, this.#origin), ADS_PATH, ADS_TYPES);
    } else {
      this.#synced.resolve();
    }
    this.#followRoutes();
  }

  /** Resolves once the first CDS and LDS responses were applied (at once without ADS). */
  get synced(): Promise<void> {
    return this.#synced.promise;
  }

  /** A snapshot of the client's state. */
  status(): XdsClientStatus {
    const channels = [...(this.#ads ? [this.#ads] : []), ...this.#rds.values()].map(describe);
    const ads = channels[0] && this.#ads ? channels[0] : undefined;
    return {
      connected: ads?.connected ?? false,
      target: ads?.target ?? "",
      ...this.#counts,
      reconnects: ads?.reconnects ?? 0,
      lastNack: this.#lastNack,
      types: ads?.types ?? {},
      channels,
    };
  }

  /** Stops every stream; the applied config stays. Safe to call twice. */
  close(): Promise<void> {
    this.#ads?.close();
    for (const c of this.#rds.values()) c.close();
    return Promise.resolve();
  }

  #channel(target: string, path: string, types: string[]): XdsChannel {
    return new XdsChannel({
      target,
      path,
      types,
      node: this.#node,
      log: this.#log,
      backoff: this.#opts.backoff,
      onResponse: (channel, state, response) => this.#onResponse(channel, state, response),
    });
  }

  #onResponse(channel: XdsChannel, state: TypeState, response: Obj): void {
    const version = String(response.version_info ?? "");
    const origin = `xds:${XDS_SHORT_NAMES[state.typeUrl]} version ${version} from ${channel.target}`;
    let error: string | undefined;
    let prepared;
    try {
      prepared = prepareUpdate(
        state,
        (response.resources ?? []) as { type_url: string; value: Uint8Array }[],
        origin,
      );
      error = this.#opts.sink.applyResources(prepared.update);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    if (error !== undefined || !prepared) {
      this.#counts.nacks++;
      this.#lastNack = error;
      this.#log(`metamesh xds: rejecting ${origin} (keeping version ${state.version || "(none)"}): ${error}`);
      channel.nack(state, error ?? "unknown error");
      return;
    }
    state.accepted = prepared.accepted;
    state.canonical = prepared.canonical;
    state.version = version;
    this.#counts.acks++;
    channel.ack(state);
    if (channel !== this.#ads) return;
    if (state.typeUrl === TypeUrls.cluster) {
      const eds = channel.types.get(TypeUrls.endpoints)!;
      if (channel.subscribe(TypeUrls.endpoints, edsNames(state.canonical))) retainNames(eds);
    }
    if (state.typeUrl === TypeUrls.listener) this.#followRoutes();
    const cds = channel.types.get(TypeUrls.cluster)!;
    const lds = channel.types.get(TypeUrls.listener)!;
    if (cds.version && lds.version) this.#synced.resolve();
  }

  /** Routes each RDS name to the stream of its config source (ADS, or a MetaRDS server). */
  #followRoutes(): void {
    const dynamic = this.#ads?.types.get(TypeUrls.listener)?.canonical.values() ?? [];
    const listeners = [...this.#staticListeners, ...dynamic];
    const byTarget = new Map<string, string[]>();
    const adsNames: string[] = [];
    for (const ref of rdsRefs(listeners)) {
      const api = ref.configSource.api_config_source as Obj | undefined;
      if (!api) {
        adsNames.push(ref.name); // `ads: {}` (or nothing): over ADS
        continue;
      }
      let target: string;
      try {
        target = grpcServiceTarget(this.#opts.bootstrap, api, {
          origin: this.#origin,
          path: `rds '${ref.name}'`,
        });
      } catch (error) {
        const message = (error as Error).message;
        if (!this.#unsupported.has(message)) {
          this.#log(`metamesh xds: cannot subscribe route '${ref.name}': ${message}`);
        }
        this.#unsupported.add(message);
        continue;
      }
      byTarget.set(target, [...byTarget.get(target) ?? [], ref.name]);
    }
    if (this.#ads && this.#ads.subscribe(TypeUrls.routes, adsNames)) {
      retainNames(this.#ads.types.get(TypeUrls.routes)!);
    }
    for (const [target, names] of byTarget) {
      let channel = this.#rds.get(target);
      if (!channel) this.#rds.set(target, channel = this.#channel(target, RDS_PATH, [TypeUrls.routes]));
      if (channel.subscribe(TypeUrls.routes, names)) retainNames(channel.types.get(TypeUrls.routes)!);
    }
    for (const [target, channel] of this.#rds) {
      if (!byTarget.has(target) && channel.subscribe(TypeUrls.routes, [])) {
        retainNames(channel.types.get(TypeUrls.routes)!);
      }
    }
  }
}

function describe(channel: XdsChannel): XdsChannelStatus {
  const types: Record<string, XdsTypeStatus> = {};
  for (const [t, s] of channel.types) {
    types[XDS_SHORT_NAMES[t]] = {
      names: [...s.names],
      version: s.version,
      resources: [...s.accepted.keys()].sort(),
    };
  }
  return { target: channel.target, connected: channel.connected, reconnects: channel.reconnects, types };
}

/**
 * The gRPC target of the bootstrap's ADS server (`dynamic_resources.ads_config`). Throws a config error
 * naming the field.
 */
export function adsTarget(bootstrap: Obj, origin: string): string {
  const root: ConfigPath = { origin, path: "dynamic_resources.ads_config" };
  const ads = obj(obj(bootstrap.dynamic_resources, root).ads_config, root);
  return grpcServiceTarget(bootstrap, ads, root);
}

/**
 * The target of an ApiConfigSource (`api_type` GRPC): `grpc_services[0]` with `envoy_grpc` naming a
 * static cluster (its first endpoint: `host:port`, or `unix:<path>` for a pipe), or
 * `google_grpc.target_uri`.
 */
export function grpcServiceTarget(bootstrap: Obj, apiConfigSource: Obj, root: ConfigPath): string {
  const origin = root.origin;
  const apiType = str(apiConfigSource.api_type, at(root, "api_type"), "GRPC");
  if (apiType !== "GRPC") fail(at(root, "api_type"), `${apiType} is not supported (use GRPC)`);
  const sp = at(at(root, "grpc_services"), 0);
  const service = obj(list(apiConfigSource.grpc_services)[0], sp);
  const google = obj(service.google_grpc, at(sp, "google_grpc"));
  if (google.target_uri) return str(google.target_uri, at(sp, "google_grpc.target_uri"));
  const clusterName = str(
    obj(service.envoy_grpc, at(sp, "envoy_grpc")).cluster_name,
    at(sp, "envoy_grpc.cluster_name"),
  );
  if (!clusterName) fail(sp, "envoy_grpc.cluster_name or google_grpc.target_uri is required");
  const statics = list(
    obj(bootstrap.static_resources, { origin, path: "static_resources" }).clusters,
  ) as Obj[];
  const cluster = statics.find((c) => c?.name === clusterName);
  if (!cluster) fail(at(sp, "envoy_grpc.cluster_name"), `no static cluster named '${clusterName}'`);
  const cp: ConfigPath = { origin, path: `static_resources.clusters[${statics.indexOf(cluster)}]` };
  for (const group of list(obj(cluster.load_assignment, at(cp, "load_assignment")).endpoints) as Obj[]) {
    for (const lb of list(group.lb_endpoints) as Obj[]) {
      const address = obj(obj(lb.endpoint, cp).address, cp);
      const pipe = obj(address.pipe, cp);
      if (pipe.path) return `unix:${pipe.path}`;
      const sa = obj(address.socket_address, cp);
      if (sa.port_value !== undefined) {
        const host = str(sa.address, cp, "127.0.0.1");
        return host.includes(":") ? `[${host}]:${sa.port_value}` : `${host}:${sa.port_value}`;
      }
    }
  }
  return fail(at(cp, "load_assignment"), `cluster '${clusterName}' has no endpoint address`);
}
