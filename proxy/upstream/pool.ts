/**
 * Upstream pools, one per (cluster, endpoint, codec). Multiplexed: a small fixed number of shared
 * connections (default {@linkcode DEFAULT_MUX_CONNECTIONS}, or the cluster's circuit-breaker
 * max_connections when set), each carrying many requests. Non-multiplexed: one request per connection,
 * idle connections reused, at most max_connections, then up to max_pending_requests wait.
 *
 * @module
 */
import type { Codec, CodecFactory, Frame } from "../../codecs/codec.ts";
import type { ClusterImpl } from "../cluster_manager.ts";
import type { Endpoint } from "../extension.ts";
import type { Stats } from "../stats.ts";
import { type Ticket, type UpstreamCallbacks, UpstreamConnection, type UpstreamStats } from "./connection.ts";

/** Shared connections per endpoint in multiplexed mode when the cluster sets no max_connections. */
export const DEFAULT_MUX_CONNECTIONS = 2;

interface Waiting {
  frame: Frame;
  codec: Codec;
  bytes: Uint8Array;
  cb: UpstreamCallbacks | null;
  cancelled: boolean;
  ticket?: Ticket;
}

/** The connections to one endpoint for one codec. */
export class EndpointPool {
  readonly endpoint: Endpoint;
  #factory: CodecFactory;
  #cluster: ClusterImpl;
  #multiplexed: boolean;
  #stats: UpstreamStats;
  #conns: UpstreamConnection[] = [];
  #idle: UpstreamConnection[] = [];
  #waiting: Waiting[] = [];
  #closed = false;
  #draining = false;

  constructor(
    endpoint: Endpoint,
    factory: CodecFactory,
    cluster: ClusterImpl,
    multiplexed: boolean,
    stats: UpstreamStats,
  ) {
    this.endpoint = endpoint;
    this.#factory = factory;
    this.#cluster = cluster;
    this.#multiplexed = multiplexed;
    this.#stats = stats;
  }

  /** Open (or opening) connections. */
  get connectionCount(): number {
    return this.#conns.length;
  }

  /** Sends a request (see {@linkcode UpstreamConnection.send}); `cb` null = oneway. */
  send(frame: Frame, codec: Codec, bytes: Uint8Array, cb: UpstreamCallbacks | null): Ticket {
    if (this.#multiplexed) return this.#muxConn().send(frame, codec, bytes, cb);
    const idle = this.#idle.pop();
    if (idle) return idle.send(frame, codec, bytes, cb);
    if (this.#conns.length < this.#cluster.maxConnections) return this.#open().send(frame, codec, bytes, cb);
    if (this.#waiting.length >= this.#cluster.maxPending) {
      cb?.onFailure("overloaded", "meta protocol upstream request: too many connections");
      return { cancel() {} };
    }
    const w: Waiting = { frame, codec, bytes, cb, cancelled: false };
    this.#waiting.push(w);
    return {
      cancel() {
        w.cancelled = true;
        w.ticket?.cancel();
      },
    };
  }

  /** Whether every connection is gone (a drained pool can be forgotten). */
  get empty(): boolean {
    return this.#conns.length === 0 && this.#waiting.length === 0;
  }

  /**
   * Stops using this pool (its endpoint left the cluster): idle connections close now, busy ones once
   * their last pending request finishes.
   */
  drain(): void {
    this.#draining = true;
    for (const c of [...this.#conns]) if (c.pendingCount === 0) c.close();
  }

  /** Closes every connection (pending requests get `upstream_reset`). */
  close(): void {
    this.#closed = true;
    for (const c of [...this.#conns]) c.close();
    for (const w of this.#waiting) if (!w.cancelled) w.cb?.onFailure("upstream_reset", "pool closed");
    this.#waiting = [];
  }

  #muxConn(): UpstreamConnection {
    const max = this.#cluster.maxConnectionsSet
      ? Math.max(1, this.#cluster.maxConnections)
      : DEFAULT_MUX_CONNECTIONS;
    let best: UpstreamConnection | undefined;
    for (const c of this.#conns) if (!best || c.pendingCount < best.pendingCount) best = c;
    if (best && (best.pendingCount === 0 || this.#conns.length >= max)) return best;
    return this.#open();
  }

  #open(): UpstreamConnection {
    const conn = new UpstreamConnection(this.endpoint, this.#factory, {
      connectTimeoutMs: this.#cluster.connectTimeoutMs,
      multiplexed: this.#multiplexed,
      stats: this.#stats,
      onClosed: (c) => {
        this.#conns = this.#conns.filter((x) => x !== c);
        this.#idle = this.#idle.filter((x) => x !== c);
        if (!this.#multiplexed && !this.#closed) this.#serveWaiting();
      },
      onFree: (c) => {
        if (this.#draining && this.#waiting.length === 0) return c.close();
        this.#idle.push(c);
        this.#serveWaiting();
      },
    });
    this.#conns.push(conn);
    return conn;
  }

  #serveWaiting(): void {
    while (this.#waiting.length > 0) {
      const w = this.#waiting[0];
      if (w.cancelled) {
        this.#waiting.shift();
        continue;
      }
      const conn = this.#idle.pop() ??
        (this.#conns.length < this.#cluster.maxConnections ? this.#open() : undefined);
      if (!conn) return;
      this.#waiting.shift();
      w.ticket = conn.send(w.frame, w.codec, w.bytes, w.cb);
    }
  }
}

/** All pools, keyed by cluster, endpoint and codec. */
export class UpstreamManager {
  #pools = new Map<string, EndpointPool>();
  #stats: Stats;
  #clusterStats = new Map<string, UpstreamStats>();

  constructor(stats: Stats) {
    this.#stats = stats;
  }

  /** The pool for (cluster, endpoint, codec factory, mode), created on first use. */
  pool(cluster: ClusterImpl, ep: Endpoint, factory: CodecFactory, multiplexed: boolean): EndpointPool {
    const key = `${cluster.name}\u0000${ep.address}\u0000${factory.name}\u0000${multiplexed ? 1 : 0}`;
    let p = this.#pools.get(key);
    if (!p) {
      this.#pools.set(
        key,
        p = new EndpointPool(ep, factory, cluster, multiplexed, this.#statsFor(cluster.name)),
      );
    }
    return p;
  }

  /** Connection counts per `cluster|endpoint` (for the admin /clusters page and tests). */
  connectionCounts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [key, p] of this.#pools) {
      const [cluster, addr] = key.split("\u0000");
      const k = `${cluster}::${addr}`;
      out.set(k, (out.get(k) ?? 0) + p.connectionCount);
    }
    return out;
  }

  /**
   * Drains pools whose cluster is gone or whose endpoint left its cluster (`live` = cluster name → current
   * endpoint addresses), and forgets pools that are empty and draining.
   */
  prune(live: ReadonlyMap<string, ReadonlySet<string>>): void {
    for (const [key, p] of this.#pools) {
      const [cluster, addr] = key.split("\u0000");
      if (live.get(cluster)?.has(addr)) continue;
      p.drain();
      if (p.empty) this.#pools.delete(key);
    }
  }

  /** Closes every pool. */
  close(): void {
    for (const p of this.#pools.values()) p.close();
    this.#pools.clear();
  }

  #statsFor(cluster: string): UpstreamStats {
    let s = this.#clusterStats.get(cluster);
    if (!s) {
      const n = (x: string) => `cluster.${cluster}.${x}`;
      s = {
        cxTotal: this.#stats.counter(n("upstream_cx_total")),
        cxActive: this.#stats.gauge(n("upstream_cx_active")),
        cxConnectFail: this.#stats.counter(n("upstream_cx_connect_fail")),
        cxDestroyWithActiveRq: this.#stats.counter(n("upstream_cx_destroy_with_active_rq")),
        rqTotal: this.#stats.counter(n("upstream_rq_total")),
      };
      this.#clusterStats.set(cluster, s);
    }
    return s;
  }
}
