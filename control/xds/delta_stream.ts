/**
 * One incremental ADS stream (`DeltaAggregatedResources`).
 *
 * Per type: wildcard flag, explicitly subscribed names, and the version of every resource the client
 * holds (seeded from `initial_resource_versions`, updated on every send). A response carries only the
 * resources whose version differs from what the client holds, plus `removed_resources` for held names
 * that left the snapshot. A NACK is recorded and nothing is resent until the content changes.
 *
 * @module
 */
import { TypeUrls } from "../../crds/protos.ts";
import { XDS_SHORT_NAMES } from "../../crds/protos.ts";
import type { Obj, PackedAny } from "./resource.ts";
import { type Snapshot, XDS_TYPES } from "./snapshot.ts";
import { type StreamContext, StreamState } from "./stream_state.ts";

/** A DeltaDiscoveryResponse as grpc-js serialises it. */
export interface DeltaResponse {
  system_version_info: string;
  resources: { name: string; version: string; resource: PackedAny }[];
  type_url: string;
  removed_resources: string[];
  nonce: string;
}

interface DeltaSubscription {
  readonly typeUrl: string;
  wildcard: boolean;
  names: Set<string>;
  /** name → version the client holds. */
  held: Map<string, string>;
  nonce?: string;
  answered: boolean;
}

const WILDCARD_TYPES = new Set<string>([TypeUrls.listener, TypeUrls.cluster]);

/** Delta protocol state of one stream; `send` writes a response to the wire. */
export class DeltaStream extends StreamState {
  #send: (response: DeltaResponse) => void;
  #subs = new Map<string, DeltaSubscription>();

  constructor(ctx: StreamContext, peer: string, send: (response: DeltaResponse) => void) {
    super(ctx, peer);
    this.#send = send;
  }

  /** Always `"delta"`. */
  get kind(): "delta" {
    return "delta";
  }

  /** Handles one canonical DeltaDiscoveryRequest. */
  onRequest(req: Obj): void {
    this.bind(req.node as Obj | undefined);
    const typeUrl = String(req.type_url ?? "");
    if (!XDS_TYPES.includes(typeUrl)) {
      this.ctx.log("debug", `Delta ADS stream ${this.id} ('${this.nodeId}'): ignoring type '${typeUrl}'`);
      return;
    }
    const subscribe = (req.resource_names_subscribe ?? []) as string[];
    const unsubscribe = (req.resource_names_unsubscribe ?? []) as string[];
    let sub = this.#subs.get(typeUrl);
    if (!sub) {
      // Legacy wildcard: the first request of LDS/CDS with no names.
      sub = {
        typeUrl,
        wildcard: WILDCARD_TYPES.has(typeUrl) && subscribe.length === 0,
        names: new Set(),
        held: new Map(Object.entries((req.initial_resource_versions ?? {}) as Record<string, string>)),
        answered: false,
      };
      this.#subs.set(typeUrl, sub);
    }
    const nonce = String(req.response_nonce ?? "");
    if (nonce !== "") {
      if (nonce === sub.nonce) {
        const error = req.error_detail as Obj | undefined;
        const sent = this.typeStatus(typeUrl).sentVersion ?? "";
        this.recordReply(
          typeUrl,
          sent,
          nonce,
          error ? String(error.message ?? `code ${error.code}`) : undefined,
        );
      } else {
        this.ctx.metrics.inc("stale", typeUrl);
      }
    }
    for (const name of subscribe) name === "*" ? sub.wildcard = true : sub.names.add(name);
    for (const name of unsubscribe) {
      if (name === "*") {
        sub.wildcard = false;
      } else {
        sub.names.delete(name);
        if (!sub.wildcard) sub.held.delete(name); // the client dropped it
      }
    }
    if (!sub.wildcard) {
      for (const name of sub.held.keys()) if (!sub.names.has(name)) sub.held.delete(name);
    }
    this.typeStatus(typeUrl).subscribed = sub.wildcard ? "*" : sub.names;
    this.#respond(sub, this.snapshot());
  }

  /** Snapshot changed: send each type's differences. */
  protected pushChanges(): void {
    const snapshot = this.snapshot();
    if (!snapshot) return;
    for (const typeUrl of XDS_TYPES) {
      const sub = this.#subs.get(typeUrl);
      if (sub) this.#respond(sub, snapshot);
    }
  }

  #respond(sub: DeltaSubscription, snapshot: Snapshot | undefined): void {
    if (!snapshot) return;
    const all = snapshot.resources(sub.typeUrl);
    const resources: DeltaResponse["resources"] = [];
    const removed: string[] = [];
    const wanted = sub.wildcard ? all.keys() : sub.names.values();
    for (const name of wanted) {
      const r = all.get(name);
      if (r && sub.held.get(name) !== r.version) {
        resources.push({ name, version: r.version, resource: r.any });
        sub.held.set(name, r.version);
      }
    }
    for (const name of sub.held.keys()) {
      if (!all.has(name)) {
        removed.push(name);
        sub.held.delete(name);
      }
    }
    // The first answer goes out even when empty, so a wildcard client finishes its initial fetch.
    if (resources.length === 0 && removed.length === 0 && (sub.answered || !sub.wildcard)) return;
    sub.answered = true;
    const nonce = this.nextNonce();
    sub.nonce = nonce;
    const version = snapshot.version(sub.typeUrl);
    const status = this.typeStatus(sub.typeUrl);
    status.sentNonce = nonce;
    status.sentVersion = version;
    this.ctx.metrics.inc("pushes", sub.typeUrl);
    this.ctx.log(
      "debug",
      `Delta ADS stream ${this.id} ('${this.nodeId}'): ${
        XDS_SHORT_NAMES[sub.typeUrl]
      } +${resources.length} -${removed.length} nonce ${nonce}`,
    );
    this.#send({
      system_version_info: version,
      resources,
      type_url: sub.typeUrl,
      removed_resources: removed,
      nonce,
    });
  }
}
