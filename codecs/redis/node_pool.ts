/**
 * A small, bounded set of pipelined connections per Redis node, shared by every client of a filter.
 * A node whose connection attempt failed is skipped for a short back-off so its requests fail fast
 * instead of queueing behind reconnect attempts; the next request after that reconnects.
 *
 * @module
 */
import { type ReplySink, UpstreamConn, type UpstreamConnOptions } from "./upstream_conn.ts";

/** Connections kept per node (each pipelines any number of requests). */
export const DEFAULT_CONNECTIONS_PER_NODE = 1;
/** How long a node that refused a connection is considered down. */
const DOWN_BACKOFF_MS = 250;

/** Options of a {@linkcode NodePool}. */
export interface NodePoolOptions extends UpstreamConnOptions {
  readonly connectionsPerNode: number;
  /** Whether `address` belongs to the cluster (others count against `maxUnknownConnections`). */
  readonly isKnown: (address: string) => boolean;
  readonly maxUnknownConnections: number;
}

/** Splits `host:port` (IPv6 hosts may be bracketed). */
export function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(":");
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return [host, Number(address.slice(colon + 1))];
}

/** See the module doc. */
export class NodePool {
  #conns = new Map<string, UpstreamConn[]>();
  #downUntil = new Map<string, number>();
  #next = 0;
  #unknown = 0;
  #closed = false;
  readonly #sink: ReplySink;
  readonly #options: NodePoolOptions;

  constructor(sink: ReplySink, options: NodePoolOptions) {
    this.#sink = sink;
    this.#options = options;
  }

  /** A live connection to `address`, or the reason there is none. */
  get(address: string): UpstreamConn | string {
    const conns = this.#conns.get(address);
    const perNode = this.#options.connectionsPerNode;
    if (conns !== undefined && conns.length >= perNode) return conns[(this.#next++) % conns.length];
    if (this.#closed) return "ERR upstream failure: the proxy is shutting down";
    const down = this.#downUntil.get(address);
    if (down !== undefined) {
      if (performance.now() < down) {
        if (conns !== undefined && conns.length > 0) return conns[0];
        return `ERR upstream failure: ${address} is unreachable`;
      }
      this.#downUntil.delete(address);
    }
    const known = this.#options.isKnown(address);
    if (!known && conns === undefined) {
      if (this.#unknown >= this.#options.maxUnknownConnections) {
        return `ERR upstream failure: too many connections to hosts outside the cluster (${address})`;
      }
      this.#unknown++;
    }
    const [host, port] = splitAddress(address);
    const conn = new UpstreamConn(host, port, this.#sink, this.#options);
    if (conns === undefined) this.#conns.set(address, [conn]);
    else conns.push(conn);
    return conn;
  }

  /** Whether `address` refused a connection within the back-off window. */
  isDown(address: string): boolean {
    const down = this.#downUntil.get(address);
    return down !== undefined && performance.now() < down;
  }

  /** Forgets a closed connection (call from the sink's `connectionClosed`). */
  remove(conn: UpstreamConn, connectFailed: boolean): void {
    const conns = this.#conns.get(conn.address);
    if (conns === undefined) return;
    const i = conns.indexOf(conn);
    if (i >= 0) conns.splice(i, 1);
    if (conns.length === 0) {
      this.#conns.delete(conn.address);
      if (!this.#options.isKnown(conn.address) && this.#unknown > 0) this.#unknown--;
    }
    if (connectFailed && !this.#closed) {
      this.#downUntil.set(conn.address, performance.now() + DOWN_BACKOFF_MS);
    }
  }

  /** Closes connections whose oldest request waited longer than `timeoutMs` (their requests fail). */
  sweepTimeouts(timeoutMs: number): void {
    const now = performance.now();
    for (const conns of [...this.#conns.values()]) {
      for (const conn of [...conns]) {
        if (conn.oldestAgeMs(now) > timeoutMs) conn.close(`operation timed out after ${timeoutMs} ms`);
      }
    }
  }

  /** Number of open (or opening) connections, per address. */
  connectionCounts(): Map<string, number> {
    return new Map([...this.#conns].map(([a, c]) => [a, c.length]));
  }

  /** Closes every connection (pending requests fail). */
  close(): void {
    this.#closed = true;
    for (const conns of [...this.#conns.values()]) {
      for (const conn of [...conns]) conn.close("proxy shutting down");
    }
    this.#conns.clear();
  }
}
