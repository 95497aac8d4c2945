/**
 * One SotW xDS stream of the proxy's xDS client: a gRPC channel to one server, a method path (ADS
 * `StreamAggregatedResources`, or `RouteDiscoveryService/StreamRoutes` for Aeraki's MetaRDS), the
 * per-type subscription state, and reconnection with capped, jittered exponential backoff that
 * resubscribes with the last accepted versions.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { adsService } from "../crds/grpc_services.ts";
import { encodeMessage } from "../crds/proto_wire.ts";
import { TypeUrls } from "../crds/protos.ts";
import type { Obj } from "./config_util.ts";
import { newTypeState, type TypeState } from "./xds_client_state.ts";

/** Largest xDS response accepted (grpc-js default: 4 MiB). */
const MAX_XDS_MESSAGE_BYTES = 256 * 1024 * 1024;

/** ADS method path. */
export const ADS_PATH = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources";
/** Aeraki's MetaRDS method path (same messages as ADS). */
export const RDS_PATH = "/envoy.service.route.v3.RouteDiscoveryService/StreamRoutes";

const DISCOVERY_REQUEST = "envoy.service.discovery.v3.DiscoveryRequest";

/** Options of {@linkcode XdsChannel}. */
export interface ChannelOptions {
  readonly target: string;
  readonly path: string;
  /** Types in subscription order; LDS/CDS are wildcard, the others wait for names. */
  readonly types: readonly string[];
  readonly node: Obj;
  readonly log: (message: string) => void;
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Called for every response; answer with {@linkcode XdsChannel.ack} or {@linkcode XdsChannel.nack}. */
  readonly onResponse: (channel: XdsChannel, state: TypeState, response: Obj) => void;
}

/** One stream with reconnection; see the module doc. */
export class XdsChannel {
  readonly target: string;
  readonly types: ReadonlyMap<string, TypeState>;
  reconnects = 0;
  readonly #opts: ChannelOptions;
  readonly #client: grpc.Client;
  #call: grpc.ClientDuplexStream<Obj, Obj> | undefined;
  #sentNode = false;
  #connected = false;
  #closed = false;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: ChannelOptions) {
    this.#opts = options;
    this.target = options.target;
    this.types = new Map(options.types.map((t) => [t, newTypeState(t)]));
    // grpc-js caps received messages at 4 MiB by default; a mesh of 10,000 services sends LDS responses
    // larger than that, so the cap is raised (the control plane is trusted, and still bounded here).
    this.#client = new grpc.Client(options.target, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": MAX_XDS_MESSAGE_BYTES,
    });
    this.#connect();
  }

  /** `true` while a stream is open and has delivered a response. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Sets the names of a non-wildcard type; sends a request when they changed. */
  subscribe(typeUrl: string, names: readonly string[]): boolean {
    const state = this.types.get(typeUrl);
    if (!state || names.join("\0") === state.names.join("\0")) return false;
    state.names = [...names];
    this.#send(state);
    return true;
  }

  /** ACKs the last response of `state` (its `version` already updated by the caller). */
  ack(state: TypeState): void {
    this.#send(state);
  }

  /** NACKs the last response of `state` with `error_detail` {code 3 INVALID_ARGUMENT, message}. */
  nack(state: TypeState, message: string): void {
    this.#send(state, { code: 3, message });
  }

  /** Cancels the stream and closes the channel. Safe to call twice. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#call?.cancel();
    this.#call = undefined;
    this.#client.close();
  }

  #connect(): void {
    const def = adsService().StreamAggregatedResources;
    const call = this.#client.makeBidiStreamRequest(
      this.#opts.path,
      (req: Obj) => Buffer.from(encodeMessage(DISCOVERY_REQUEST, req)),
      def.responseDeserialize as (bytes: Buffer) => Obj,
    );
    this.#call = call;
    this.#sentNode = false;
    call.on("data", (response: Obj) => {
      if (call !== this.#call) return;
      if (!this.#connected) this.#opts.log(`metamesh xds: connected to ${this.target}`);
      this.#connected = true;
      this.#attempt = 0;
      const state = this.types.get(String(response.type_url ?? ""));
      if (!state) {
        this.#opts.log(`metamesh xds: ignoring a response of unrequested type ${response.type_url}`);
        return;
      }
      state.nonce = String(response.nonce ?? "");
      this.#opts.onResponse(this, state, response);
    });
    call.on("error", () => {}); // the status event carries the reason
    call.on("status", (status: grpc.StatusObject) => {
      if (call === this.#call) this.#onStreamEnd(status);
    });
    // Resynchronise: wildcard types always, the others for names already known, with accepted versions.
    for (const state of this.types.values()) {
      const wildcard = state.typeUrl === TypeUrls.cluster || state.typeUrl === TypeUrls.listener;
      state.nonce = "";
      if (wildcard || state.names.length > 0) this.#send(state);
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
    this.#opts.log(
      `metamesh xds: stream to ${this.target} ended (${grpc.status[status.code]}: ${status.details}); ` +
        `keeping the last config, reconnecting in ${Math.round(delay)} ms`,
    );
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed) return;
      this.reconnects++;
      this.#connect();
    }, delay);
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
      request.node = this.#opts.node;
      this.#sentNode = true;
    }
    this.#call.write(request);
  }
}
