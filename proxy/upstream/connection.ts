/**
 * One upstream connection: connects (bounded by the cluster's connect_timeout), writes requests through a
 * coalescing writer, decodes responses with its own client-role codec and hands each to the request that
 * is waiting for it. In multiplexed mode request ids are rewritten from a per-connection counter, so ids
 * from many downstream connections never collide; otherwise one request is in flight at a time.
 *
 * @module
 */
import type { Codec, CodecFactory, Frame, RequestId } from "../../codecs/codec.ts";
import { ConnWriter } from "../conn_writer.ts";
import type { Endpoint } from "../extension.ts";
import { ReadBuffer } from "../read_buffer.ts";
import { PendingSlots } from "./pending_slots.ts";
import type { Counter, Gauge } from "../stats.ts";

/** Why an upstream exchange failed before a response arrived. */
export type UpstreamFailure = "upstream_connect_failure" | "upstream_reset" | "overloaded" | "bad_response";

/** What a request in flight is told. Both are called at most once, synchronously from the read loop. */
export interface UpstreamCallbacks {
  /** A response for this request; `frame.bytes` is valid only during the call. */
  onResponse(frame: Frame, codec: Codec, upstream: UpstreamConnection): void;
  onFailure(kind: UpstreamFailure, reason: string): void;
}

/** Cancels a request in flight (its late response is dropped). */
export interface Ticket {
  cancel(): void;
}

/** Per-cluster counters an upstream connection bumps. */
export interface UpstreamStats {
  cxTotal: Counter;
  cxActive: Gauge;
  cxConnectFail: Counter;
  cxDestroyWithActiveRq: Counter;
  rqTotal: Counter;
}

/** Options of {@linkcode UpstreamConnection}. */
export interface UpstreamConnectionOptions {
  readonly connectTimeoutMs: number;
  readonly multiplexed: boolean;
  readonly stats: UpstreamStats;
  /** Called when the connection closed (for any reason), once. */
  onClosed(conn: UpstreamConnection): void;
  /** Non-multiplexed: called when the connection is free for another request. */
  onFree?(conn: UpstreamConnection): void;
}

/** See module doc. */
export class UpstreamConnection {
  readonly endpoint: Endpoint;
  /** Local address once connected ("ip:port"), for access logs. */
  localAddress = "";
  #factory: CodecFactory;
  #opts: UpstreamConnectionOptions;
  /** Non-multiplexed: pending requests by the client's id (one at a time). */
  #pending = new Map<RequestId, UpstreamCallbacks>();
  /** Multiplexed: pending requests by the id the proxy gave them (see pending_slots.ts). */
  #slots = new PendingSlots<UpstreamCallbacks>();
  #conn: Deno.TcpConn | undefined;
  #writer: ConnWriter | undefined;
  #early: Uint8Array[] = [];
  #closed = false;
  #connectFailed = false;

  constructor(endpoint: Endpoint, factory: CodecFactory, opts: UpstreamConnectionOptions) {
    this.endpoint = endpoint;
    this.#factory = factory;
    this.#opts = opts;
    opts.stats.cxTotal.inc();
    opts.stats.cxActive.inc();
    this.#run();
  }

  /** Requests waiting for a response. */
  get pendingCount(): number {
    return this.#opts.multiplexed ? this.#slots.size : this.#pending.size;
  }

  /** Whether the connection is closed (or failed to connect). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends a request. `bytes` is a private copy the connection owns; `codec` is the codec that decoded
   * `frame` (used to rewrite the id). `cb` null = oneway, no response expected.
   */
  send(frame: Frame, codec: Codec, bytes: Uint8Array, cb: UpstreamCallbacks | null): Ticket {
    if (this.#closed) {
      cb?.onFailure(
        this.#connectFailed ? "upstream_connect_failure" : "upstream_reset",
        `connection to ${this.endpoint.address} closed`,
      );
      return NOOP;
    }
    this.#opts.stats.rqTotal.inc();
    let id: RequestId = frame.requestId;
    if (this.#opts.multiplexed) {
      id = this.#slots.add(cb ?? undefined);
      try {
        bytes = codec.setRequestId(frame, bytes, id);
      } catch (error) {
        if (cb) this.#slots.cancel(id, cb);
        throw error;
      }
    } else if (cb) this.#pending.set(id, cb);
    if (this.#writer) this.#writer.push(bytes);
    else this.#early.push(bytes);
    if (!cb) {
      this.#free();
      return NOOP;
    }
    return new PendingTicket(this, id, cb);
  }

  /** Forgets the pending request `id` if it still belongs to `cb` (see {@linkcode Ticket}). */
  cancel(id: RequestId, cb: UpstreamCallbacks): void {
    if (this.#opts.multiplexed) {
      if (typeof id === "number") this.#slots.cancel(id, cb);
      return;
    }
    if (this.#pending.get(id) !== cb) return;
    this.#pending.delete(id);
    // Without id rewriting a late response would be taken for the next request's: drop the connection.
    if (!this.#opts.multiplexed) this.close();
  }

  /** Closes the connection; pending requests get `upstream_reset`. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#opts.stats.cxActive.dec();
    this.#writer?.close();
    try {
      this.#conn?.close();
    } catch { /* already closed */ }
    this.#opts.onClosed(this); // leave the pool first, so retries from the failures below pick another connection
    this.#failAll(this.#connectFailed ? "upstream_connect_failure" : "upstream_reset");
  }

  #free(): void {
    if (!this.#opts.multiplexed && this.#pending.size === 0 && !this.#closed) this.#opts.onFree?.(this);
  }

  #failAll(kind: UpstreamFailure, reason = `upstream ${this.endpoint.address} closed the connection`): void {
    if (this.pendingCount === 0) return;
    if (kind === "upstream_reset") this.#opts.stats.cxDestroyWithActiveRq.inc();
    const all = [...this.#pending.values()];
    this.#pending.clear();
    all.push(...this.#slots.drain());
    for (const cb of all) cb.onFailure(kind, reason);
  }

  async #connect(): Promise<Deno.TcpConn> {
    const ep = this.endpoint;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const attempt = Deno.connect({ hostname: ep.host, port: ep.port });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`connection failure '${ep.address}' due to timeout`)),
        this.#opts.connectTimeoutMs,
      );
    });
    try {
      return await Promise.race([attempt, timeout]);
    } catch (error) {
      attempt.then((c) => c.close(), () => {});
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async #run(): Promise<void> {
    let conn: Deno.TcpConn;
    try {
      conn = await this.#connect();
    } catch (error) {
      this.#opts.stats.cxConnectFail.inc();
      this.#connectFailed = true;
      const msg = (error as Error).message;
      const reason = msg.includes("due to timeout")
        ? msg
        : `remote connection failure '${this.endpoint.address}': ${msg}`;
      this.#closed = true;
      this.#opts.stats.cxActive.dec();
      this.#opts.onClosed(this);
      this.#failAll("upstream_connect_failure", reason);
      return;
    }
    if (this.#closed) {
      conn.close();
      return;
    }
    this.#conn = conn;
    conn.setNoDelay(true);
    const la = conn.localAddr as Deno.NetAddr;
    this.localAddress = `${la.hostname}:${la.port}`;
    this.#writer = new ConnWriter(conn, () => this.close());
    for (const b of this.#early) this.#writer.push(b);
    this.#early = [];
    await this.#readLoop(conn);
    this.close();
  }

  async #readLoop(conn: Deno.TcpConn): Promise<void> {
    const codec = this.#factory.create("client");
    const buf = new ReadBuffer();
    let want = 0;
    try {
      for (;;) {
        const n = await conn.read(buf.tail(want));
        if (n === null) return;
        buf.filled(n);
        want = 0;
        while (buf.length > 0) {
          const r = codec.decode(buf.view());
          if (r.kind === "need-more") {
            want = r.atLeast ?? 0;
            break;
          }
          if (r.kind === "error") {
            this.#failAll("bad_response", `bad response from ${this.endpoint.address}: ${r.reason}`);
            return;
          }
          this.#dispatch(r.frame, codec);
          buf.consume(r.size);
          if (this.#closed) return;
        }
      }
    } catch { /* reset or read error: close() answers the pending requests */ }
  }

  #dispatch(frame: Frame, codec: Codec): void {
    if (frame.type === "heartbeat") {
      const reply = codec.heartbeatReply(frame);
      if (reply) this.#writer?.push(reply);
      return;
    }
    if (frame.type !== "response" && frame.type !== "error") return;
    const cb = this.#opts.multiplexed
      ? (typeof frame.requestId === "number" ? this.#slots.take(frame.requestId) : undefined)
      : this.#pending.get(frame.requestId);
    if (!cb) {
      // Multiplexed: a late answer to a timed-out request. Otherwise the peer broke the 1:1 exchange.
      if (!this.#opts.multiplexed) this.close();
      return;
    }
    if (!this.#opts.multiplexed) this.#pending.delete(frame.requestId);
    try {
      cb.onResponse(frame, codec, this);
    } finally {
      this.#free();
    }
  }
}

const NOOP: Ticket = { cancel() {} };

/** The ticket of a request waiting for its response: a plain record, no closure per request. */
class PendingTicket implements Ticket {
  #conn: UpstreamConnection;
  #id: RequestId;
  #cb: UpstreamCallbacks;

  constructor(conn: UpstreamConnection, id: RequestId, cb: UpstreamCallbacks) {
    this.#conn = conn;
    this.#id = id;
    this.#cb = cb;
  }

  cancel(): void {
    this.#conn.cancel(this.#id, this.#cb);
  }
}
