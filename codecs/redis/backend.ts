/**
 * Backends: where a routed command goes inside one Envoy cluster. A plain cluster is a consistent-hash
 * ring over its endpoints (Envoy uses ketama for non-cluster Redis); a cluster of type
 * `envoy.clusters.redis` is a Redis Cluster (`cluster_backend.ts`).
 *
 * @module
 */
import type { Cluster } from "../../proxy/extension.ts";
import { errorValue } from "./encode.ts";
import { hashTagOf } from "./crc16.ts";
import { NodePool } from "./node_pool.ts";
import type { ReplySink, UpstreamConn, UpstreamRequest } from "./upstream_conn.ts";
import type { RespValue } from "./resp.ts";
import { HashRing } from "../../proxy/hash_ring.ts";

/** One cluster as the redis proxy uses it. */
export interface Backend {
  /** Routes `request` by `key` (`null`: any node); `read` selects replicas per the read policy. */
  send(request: UpstreamRequest, key: Uint8Array | null, read: boolean): void;
  /** Keys with the same group can travel in one split sub-command (slot, or ring node). */
  groupOf(key: Uint8Array): number;
  /** Addresses of every master (waits for the first discovery of a Redis Cluster). */
  masters(): Promise<string[]>;
  /** Sends to one node by address. */
  sendTo(address: string, request: UpstreamRequest): void;
  /** Periodic housekeeping (op timeouts, topology refresh, endpoint changes). */
  tick(): void;
  /** Open upstream connections per address. */
  connectionCounts(): Map<string, number>;
  close(): void;
}

/** What every backend needs besides its cluster. */
export interface BackendOptions {
  readonly opTimeoutMs: number;
  readonly enableHashtagging: boolean;
  readonly enableRedirection: boolean;
  readonly readPolicy: string;
  readonly maxUnknownConnections: number;
  readonly connectionsPerNode: number;
  readonly holdBytes: number;
  readonly holdMs: number;
  readonly authUsername: string;
  readonly authPassword: string;
  /** Shared counters of the filter. */
  readonly stats: { redirections: number };
}

/** Points per endpoint on the hash ring (ketama uses 160). */
const RING_POINTS = 160;

/** FNV-1a 32-bit with a final avalanche (murmur3 fmix32), so close inputs spread around the ring. */
export function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Consistent hashing over a plain cluster's endpoints. */
export class HashBackend implements Backend, ReplySink {
  #cluster: Cluster;
  #options: BackendOptions;
  #pool: NodePool;
  #ring = new HashRing<string>([]);
  #addresses: string[] = [];
  #known = new Set<string>();
  #signature = "";

  constructor(cluster: Cluster, options: BackendOptions) {
    this.#cluster = cluster;
    this.#options = options;
    this.#pool = new NodePool(this, {
      connectTimeoutMs: cluster.connectTimeoutMs,
      authUsername: options.authUsername,
      authPassword: options.authPassword,
      holdBytes: options.holdBytes,
      holdMs: options.holdMs,
      connectionsPerNode: options.connectionsPerNode,
      isKnown: (a) => this.#known.has(a),
      maxUnknownConnections: options.maxUnknownConnections,
    });
    this.#rebuild();
  }

  #rebuild(): void {
    const endpoints = this.#cluster.endpoints();
    const signature = endpoints.map((e) => `${e.address}*${e.weight}`).join(",");
    if (signature === this.#signature) return;
    this.#signature = signature;
    const points: [number, string][] = [];
    const enc = new TextEncoder();
    for (const e of endpoints) {
      for (let i = 0; i < RING_POINTS * Math.max(1, e.weight); i++) {
        points.push([fnv1a(enc.encode(`${e.address}-${i}`)), e.address]);
      }
    }
    this.#ring = new HashRing(points);
    this.#addresses = endpoints.map((e) => e.address);
    this.#known = new Set(this.#addresses);
  }

  #nodeOf(key: Uint8Array): string {
    return this.#ring.pick(fnv1a(this.#options.enableHashtagging ? hashTagOf(key) : key));
  }

  send(request: UpstreamRequest, key: Uint8Array | null, _read: boolean): void {
    if (this.#ring.size === 0) {
      request.onReply(errorValue(`ERR no upstream host: cluster '${this.#cluster.name}' has no endpoints`));
      return;
    }
    const address = key === null
      ? this.#addresses[Math.floor(Math.random() * this.#addresses.length)]
      : this.#nodeOf(key);
    this.sendTo(address, request);
  }

  groupOf(key: Uint8Array): number {
    return this.#ring.size === 0 ? 0 : this.#addresses.indexOf(this.#nodeOf(key));
  }

  masters(): Promise<string[]> {
    return Promise.resolve([...this.#addresses]);
  }

  sendTo(address: string, request: UpstreamRequest): void {
    const conn = this.#pool.get(address);
    if (typeof conn === "string") request.onReply(errorValue(conn));
    else conn.send(request);
  }

  deliver(_conn: UpstreamConn, request: UpstreamRequest, reply: RespValue): void {
    request.onReply(reply);
  }

  connectionClosed(conn: UpstreamConn, connectFailed: boolean): void {
    this.#pool.remove(conn, connectFailed);
  }

  tick(): void {
    if (this.#options.opTimeoutMs > 0) this.#pool.sweepTimeouts(this.#options.opTimeoutMs);
    this.#rebuild();
  }

  connectionCounts(): Map<string, number> {
    return this.#pool.connectionCounts();
  }

  close(): void {
    this.#pool.close();
  }
}
