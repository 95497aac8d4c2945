/**
 * The `envoy.filters.network.redis_proxy` network filter: one per listener filter chain, shared by
 * every client connection, owning one backend (and so one small connection pool per node) per cluster.
 *
 * @module
 */
import type { Cluster, FilterContext, NetworkFilter } from "../../proxy/extension.ts";
import { type Backend, type BackendOptions, HashBackend } from "./backend.ts";
import { ClusterBackend } from "./cluster_backend.ts";
import { type Fault, readUpstreamOptions, type RedisProxyConfig } from "./config.ts";
import { Dispatcher } from "./dispatch.ts";
import { DEFAULT_CONNECTIONS_PER_NODE } from "./node_pool.ts";
import type { RespLimits } from "./resp.ts";
import { PrefixRouter } from "./router.ts";
import { Session, type SessionContext } from "./session.ts";

/** How often backends do housekeeping (op timeouts, topology refresh, endpoint changes). */
const TICK_MS = 100;
/** How long `close()` lets clients take their last replies. */
const CLOSE_GRACE_MS = 1000;

/** Options beyond the proto config (defaults suit production). */
export interface RedisProxyOptions {
  /** RESP limits for client requests (bulk length, array length, depth). */
  readonly limits?: RespLimits;
  /** Pipelined connections per upstream node (default 1). */
  readonly connectionsPerNode?: number;
  /** Random source for faults and mirrors, in [0, 1) (tests make it deterministic). */
  readonly random?: () => number;
}

/** Counters of one filter. */
export interface RedisProxyStats {
  downstreamConnections: number;
  downstreamProtocolErrors: number;
  /** MOVED/ASK replies followed on the clients' behalf. */
  redirections: number;
}

/** See the module doc. */
export class RedisProxyFilter implements NetworkFilter, SessionContext {
  readonly dispatcher: Dispatcher;
  readonly limits: RespLimits;
  readonly passwords: readonly string[];
  readonly username: string;
  readonly stats: RedisProxyStats = {
    downstreamConnections: 0,
    downstreamProtocolErrors: 0,
    redirections: 0,
  };
  readonly #config: RedisProxyConfig;
  readonly #ctx: FilterContext;
  readonly #options: RedisProxyOptions;
  readonly #random: () => number;
  readonly #backends = new Map<string, { cluster: Cluster; backend: Backend }>();
  readonly #sessions = new Map<Session, Promise<void>>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(config: RedisProxyConfig, ctx: FilterContext, options: RedisProxyOptions = {}) {
    this.#config = config;
    this.#ctx = ctx;
    this.#options = options;
    this.#random = options.random ?? Math.random;
    this.limits = options.limits ?? {};
    this.passwords = config.passwords;
    this.username = config.username;
    const router = new PrefixRouter(config.routes, config.caseInsensitive, config.catchAll);
    this.dispatcher = new Dispatcher(router, (name) => this.backend(name));
  }

  /** Serves one accepted client connection until it closes. */
  handle(conn: Deno.TcpConn): Promise<void> {
    if (this.#closed) {
      conn.close();
      return Promise.resolve();
    }
    this.stats.downstreamConnections++;
    this.#timer ??= setInterval(() => this.#tick(), TICK_MS);
    const session = new Session(conn, this);
    const done = session.run().finally(() => this.#sessions.delete(session));
    this.#sessions.set(session, done);
    return done;
  }

  /** The backend of cluster `name` (made on first use, remade when the cluster object changes). */
  backend(name: string): Backend | undefined {
    const cluster = this.#ctx.clusters.get(name);
    const cached = this.#backends.get(name);
    if (cached !== undefined && cached.cluster === cluster) return cached.backend;
    cached?.backend.close();
    this.#backends.delete(name);
    if (cluster === undefined || this.#closed) return undefined;
    const upstream = readUpstreamOptions(cluster.config);
    const c = this.#config;
    const options: BackendOptions = {
      opTimeoutMs: c.opTimeoutMs,
      enableHashtagging: c.enableHashtagging,
      enableRedirection: c.enableRedirection,
      readPolicy: c.readPolicy,
      maxUnknownConnections: c.maxUpstreamUnknownConnections,
      connectionsPerNode: this.#options.connectionsPerNode ?? DEFAULT_CONNECTIONS_PER_NODE,
      holdBytes: c.maxBufferSizeBeforeFlush,
      holdMs: c.bufferFlushTimeoutMs,
      authUsername: upstream.authUsername,
      authPassword: upstream.authPassword,
      stats: this.stats,
    };
    const backend = upstream.isRedisCluster
      ? new ClusterBackend(cluster, options, upstream)
      : new HashBackend(cluster, options);
    this.#backends.set(name, { cluster, backend });
    return backend;
  }

  pickFault(name: string): Fault | undefined {
    for (const fault of this.#config.faults) {
      if (fault.commands.size > 0 && !fault.commands.has(name)) continue;
      if (this.#random() < fault.fraction) return fault;
    }
    return undefined;
  }

  protocolError(): void {
    this.stats.downstreamProtocolErrors++;
  }

  /** Open upstream connections per cluster and node address. */
  upstreamConnections(): Map<string, Map<string, number>> {
    return new Map([...this.#backends].map(([name, { backend }]) => [name, backend.connectionCounts()]));
  }

  #tick(): void {
    for (const { backend } of this.#backends.values()) backend.tick();
  }

  /**
   * Stops the timers and closes upstream connections (pending commands fail); client connections get
   * `drainMs` to take their last replies, then are closed.
   */
  async close(drainMs = CLOSE_GRACE_MS): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    for (const { backend } of this.#backends.values()) backend.close();
    this.#backends.clear();
    for (const session of this.#sessions.keys()) session.shutdown();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)));
    await Promise.race([Promise.allSettled([...this.#sessions.values()]), grace]);
    clearTimeout(timer);
    for (const session of this.#sessions.keys()) session.abort();
    await Promise.allSettled([...this.#sessions.values()]);
  }
}
