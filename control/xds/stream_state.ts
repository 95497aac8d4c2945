/**
 * What SotW and Delta ADS streams share: the node and its snapshot key, the per-stream nonce counter, the
 * debounced watch on the cache, and the ACK/NACK record per type that `/debug/connections` shows.
 *
 * @module
 */
import type { SnapshotCache } from "./cache.ts";
import type { Log } from "./log.ts";
import type { XdsMetrics } from "./metrics.ts";
import { XDS_SHORT_NAMES } from "../../crds/protos.ts";
import type { Obj } from "./resource.ts";

/** What every stream needs from its server. */
export interface StreamContext {
  readonly cache: SnapshotCache;
  readonly log: Log;
  readonly metrics: XdsMetrics;
  /** Quiet time before pushing a snapshot change (coalesces bursts). */
  readonly debounceMs: number;
}

/** The ACK/NACK record of one type on one stream, as `/debug/connections` shows it. */
export interface TypeStatus {
  /** Subscribed names, or `"*"` for wildcard. */
  subscribed: string[] | "*";
  sentVersion?: string;
  sentNonce?: string;
  ackedVersion?: string;
  lastAckAt?: string;
  lastNack?: { version: string; nonce: string; message: string; at: string };
}

/** The record a stream keeps: the subscribed names are its subscription's own set, not a copy. */
export interface TypeRecord extends Omit<TypeStatus, "subscribed"> {
  subscribed: ReadonlySet<string> | "*";
}

/** One stream as `/debug/connections` shows it. */
export interface StreamStatus {
  id: number;
  kind: "sotw" | "delta";
  peer: string;
  nodeId: string;
  nodeKey: string;
  connectedAt: string;
  types: Record<string, TypeStatus>;
}

let nextStreamId = 1;
const NONE: ReadonlySet<string> = new Set();

/** Base of a stream: call {@linkcode bind} on the first request, {@linkcode close} when it ends. */
export abstract class StreamState {
  readonly id = nextStreamId++;
  readonly connectedAt = new Date().toISOString();
  protected readonly ctx: StreamContext;
  protected node: Readonly<Obj> | undefined;
  protected readonly status = new Map<string, TypeRecord>();
  #peer: string;
  #nonce = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #unwatch: (() => void) | undefined;
  #closed = false;

  constructor(ctx: StreamContext, peer: string) {
    this.ctx = ctx;
    this.#peer = peer;
  }

  /** `sotw` or `delta`. */
  abstract get kind(): "sotw" | "delta";

  /** Pushes what changed since the last response, for every subscribed type. */
  protected abstract pushChanges(): void;

  /** Remembers the node of the first request and starts watching its snapshot key. */
  protected bind(node: Readonly<Obj> | undefined): void {
    if (this.node) return;
    if (!node) this.ctx.log("warn", `ADS stream ${this.id} from ${this.#peer}: first request has no node`);
    this.node = node ?? {};
    this.#unwatch = this.ctx.cache.watch(this.node, () => this.#schedule());
  }

  /** A fresh nonce, unique on this stream. */
  protected nextNonce(): string {
    return String(++this.#nonce);
  }

  /** The node of the first request (`undefined` before it). */
  boundNode(): Readonly<Obj> | undefined {
    return this.node;
  }

  /** The node id for logs. */
  protected get nodeId(): string {
    return String(this.node?.id ?? "");
  }

  /** The status record of `typeUrl`, created on first use. */
  protected typeStatus(typeUrl: string): TypeRecord {
    let s = this.status.get(typeUrl);
    if (!s) this.status.set(typeUrl, s = { subscribed: NONE });
    return s;
  }

  /** Records an ACK or NACK of the response `nonce` (`errorMessage` set for a NACK). */
  protected recordReply(typeUrl: string, version: string, nonce: string, errorMessage?: string): void {
    const s = this.typeStatus(typeUrl);
    const at = new Date().toISOString();
    if (errorMessage === undefined) {
      s.ackedVersion = version;
      s.lastAckAt = at;
      this.ctx.metrics.inc("acks", typeUrl);
      return;
    }
    s.lastNack = { version: s.sentVersion ?? "", nonce, message: errorMessage, at };
    this.ctx.metrics.inc("nacks", typeUrl);
    this.ctx.log(
      "warn",
      `NACK from node '${this.nodeId}' for ${XDS_SHORT_NAMES[typeUrl] ?? typeUrl} version ${
        s.sentVersion ?? "?"
      } (nonce ${nonce}): ${errorMessage}; the node keeps version ${s.ackedVersion || "(none)"}`,
    );
  }

  /** Stops watching; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#unwatch?.();
  }

  /** The snapshot of this stream's node (generated on demand), if any. */
  protected snapshot() {
    return this.node ? this.ctx.cache.snapshotFor(this.node) : undefined;
  }

  /** A JSON-ready view for `/debug/connections`. */
  describe(): StreamStatus {
    const types: Record<string, TypeStatus> = {};
    for (const [typeUrl, { subscribed, ...s }] of this.status) {
      types[XDS_SHORT_NAMES[typeUrl] ?? typeUrl] = {
        ...structuredClone(s),
        subscribed: subscribed === "*" ? "*" : [...subscribed],
      };
    }
    return {
      id: this.id,
      kind: this.kind,
      peer: this.#peer,
      nodeId: this.nodeId,
      nodeKey: this.node ? this.ctx.cache.nodeKeyOf(this.node) : "",
      connectedAt: this.connectedAt,
      types,
    };
  }

  #schedule(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed) return;
      try {
        this.pushChanges();
      } catch (error) {
        this.ctx.log(
          "error",
          `Cannot push to ADS stream ${this.id} ('${this.nodeId}'): ${(error as Error).message}`,
        );
      }
    }, this.ctx.debounceMs);
  }
}
