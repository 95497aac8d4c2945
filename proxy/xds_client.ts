/**
 * The proxy's xDS client (SotW ADS over grpc-js). Used when the bootstrap has
 * `dynamic_resources.ads_config` pointing (`envoy_grpc.cluster_name`) at a static cluster, as Istio
 * bootstraps do. It subscribes CDS and LDS (wildcard), then EDS for the EDS clusters and RDS for the
 * route names listeners use; each response is decoded into canonical objects and handed to the sink to
 * apply atomically: ACK on success, NACK (`error_detail` code 3) on a decode or apply failure, the old
 * config staying in place. When the control plane goes away the proxy keeps its last config; the client
 * reconnects with capped, jittered exponential backoff and resubscribes with its last accepted versions.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { adsService } from "../crds/grpc_services.ts";
import { encodeMessage } from "../crds/proto_wire.ts";
import { TypeUrls } from "../crds/protos.ts";
import { at, type ConfigPath, fail, list, type Obj, obj, str } from "./config_util.ts";
import type { ResourceUpdate } from "./run.ts";
import {
  edsNames,
  newTypeState,
  prepareUpdate,
  rdsNames,
  retainNames,
  SHORT,
  type TypeState,
} from "./xds_client_state.ts";

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
  /** Overrides the server address found in the bootstrap (`host:port` or `unix:/path`). */
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

/** The client's state, for admin and tests. */
export interface XdsClientStatus {
  connected: boolean;
  target: string;
  acks: number;
  nacks: number;
  reconnects: number;
  lastNack?: string;
  types: Record<string, XdsTypeStatus>;
}

const ORDER = [TypeUrls.cluster, TypeUrls.endpoints, TypeUrls.listener, TypeUrls.routes];
const DISCOVERY_REQUEST = "envoy.service.discovery.v3.DiscoveryRequest";

/** Starts the client (connection attempts begin at once). */
export function startXdsClient(options: XdsClientOptions): XdsClient {
  return new XdsClient(options);
}

/** A running SotW ADS client; see the module doc. */
export class XdsClient {
  readonly #opts: XdsClientOptions;
  readonly #log: (message: string) => void;
  readonly #target: string;
  readonly #client: grpc.Client;
  readonly #node: Obj;
  readonly #types = new Map<string, TypeState>(ORDER.map((t) => [t, newTypeState(t)]));
  #call: grpc.ClientDuplexStream<Obj, Obj> | undefined;
  #sentNode = false;
  #connected = false;
  #closed = false;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #counts = { acks: 0, nacks: 0, reconnects: 0 };
  #lastNack: string | undefined;
  #synced = Promise.withResolvers<void>();

  constructor(options: XdsClientOptions) {
    this.#opts = options;
    this.#log = options.log ?? ((m) => console.error(m));
    this.#target = options.target ?? adsTarget(options.bootstrap, options.origin ?? "bootstrap");
    this.#node = {
      user_agent_name: "metamesh",
      ...obj(options.bootstrap.node, { origin: "", path: "node" }),
    };
    this.#client = new grpc.Client(this.#target, grpc.credentials.createInsecure());
    this.#connect();
  }

  /** Resolves once the first CDS and LDS responses were applied. */
  get synced(): Promise<void> {
    return this.#synced.promise;
  }

  /** A snapshot of the client's state. */
  status(): XdsClientStatus {
    const types: Record<string, XdsTypeStatus> = {};
    for (const [t, s] of this.#types) {
      types[SHORT[t]] = { names: [...s.names], version: s.version, resources: [...s.accepted.keys()].sort() };
    }
    return {
      connected: this.#connected,
      target: this.#target,
      ...this.#counts,
      lastNack: this.#lastNack,
      types,
    };
  }

  /** Stops the stream and the channel; the applied config stays. Safe to call twice. */
  close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#call?.cancel();
    this.#call = undefined;
    this.#client.close();
    return Promise.resolve();
  }

  #connect(): void {
    const def = adsService().StreamAggregatedResources;
    const call = this.#client.makeBidiStreamRequest(
      def.path,
      (req: Obj) => Buffer.from(encodeMessage(DISCOVERY_REQUEST, req)),
      def.responseDeserialize as (bytes: Buffer) => Obj,
    );
    this.#call = call;
    this.#sentNode = false;
    call.on("data", (response: Obj) => {
      if (call !== this.#call) return;
      if (!this.#connected) this.#log(`metamesh xds: connected to ${this.#target}`);
      this.#connected = true;
      this.#attempt = 0;
      this.#onResponse(response);
    });
    call.on("error", () => {}); // the status event carries the reason
    call.on("status", (status: grpc.StatusObject) => {
      if (call !== this.#call) return;
      this.#onStreamEnd(status);
    });
    // Resynchronise: wildcard CDS/LDS always; EDS/RDS for names already known, with accepted versions.
    for (const state of this.#types.values()) {
      const wildcard = state.typeUrl === TypeUrls.cluster || state.typeUrl === TypeUrls.listener;
      if (wildcard || state.names.length > 0) {
        state.nonce = "";
        this.#send(state);
      }
    }
  }

  #onStreamEnd(status: grpc.StatusObject): void {
    this.#call = undefined;
    this.#connected = false;
    if (this.#closed) return;
    const base = this.#opts.backoff?.initialMs ?? 500;
    const cap = this.#opts.backoff?.maxMs ?? 30_000;
    const ceiling = Math.min(cap, base * 2 ** this.#attempt++);
    const delay = ceiling / 2 + Math.random() * ceiling / 2;
    this.#log(
      `metamesh xds: stream to ${this.#target} ended (${grpc.status[status.code]}: ${status.details}); ` +
        `keeping the last config, reconnecting in ${Math.round(delay)} ms`,
    );
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed) return;
      this.#counts.reconnects++;
      this.#connect();
    }, delay);
  }

  #onResponse(response: Obj): void {
    const typeUrl = String(response.type_url ?? "");
    const state = this.#types.get(typeUrl);
    if (!state) {
      this.#log(`metamesh xds: ignoring a response of unrequested type ${typeUrl}`);
      return;
    }
    state.nonce = String(response.nonce ?? "");
    const version = String(response.version_info ?? "");
    const origin = `xds:${SHORT[typeUrl]} version ${version}`;
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
      this.#send(state, { code: 3, message: error ?? "unknown error" });
      return;
    }
    state.accepted = prepared.accepted;
    state.canonical = prepared.canonical;
    state.version = version;
    this.#counts.acks++;
    this.#send(state);
    if (typeUrl === TypeUrls.cluster) this.#follow(TypeUrls.endpoints, edsNames(state.canonical));
    if (typeUrl === TypeUrls.listener) this.#follow(TypeUrls.routes, rdsNames(state.canonical));
    const cds = this.#types.get(TypeUrls.cluster)!;
    const lds = this.#types.get(TypeUrls.listener)!;
    if (cds.version && lds.version) this.#synced.resolve();
  }

  /** Changes the EDS/RDS subscription to `names` when it differs. */
  #follow(typeUrl: string, names: string[]): void {
    const state = this.#types.get(typeUrl)!;
    if (names.join("\0") === state.names.join("\0")) return;
    state.names = names;
    retainNames(state);
    this.#send(state);
  }

  #send(state: TypeState, errorDetail?: { code: number; message: string }): void {
    if (!this.#call) return;
    const request: Obj = {
      type_url: state.typeUrl,
      version_info: state.version,
      resource_names: state.names,
      response_nonce: state.nonce,
    };
    if (errorDetail) request.error_detail = errorDetail;
    if (!this.#sentNode) {
      request.node = this.#node;
      this.#sentNode = true;
    }
    this.#call.write(request);
  }
}

/**
 * The gRPC target of the bootstrap's ADS server: `ads_config.grpc_services[0]` with `envoy_grpc`
 * naming a static cluster (its first endpoint: `host:port`, or `unix:<path>` for a pipe), or
 * `google_grpc.target_uri`. Throws a config error naming the field.
 */
export function adsTarget(bootstrap: Obj, origin: string): string {
  const root: ConfigPath = { origin, path: "dynamic_resources.ads_config" };
  const ads = obj(obj(bootstrap.dynamic_resources, root).ads_config, root);
  const apiType = str(ads.api_type, at(root, "api_type"), "GRPC");
  if (apiType !== "GRPC") fail(at(root, "api_type"), `${apiType} is not supported (use GRPC)`);
  const sp = at(at(root, "grpc_services"), 0);
  const service = obj(list(ads.grpc_services)[0], sp);
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
