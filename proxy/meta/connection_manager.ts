/**
 * The MetaProtocol connection manager: one per downstream connection. A manual read loop into one
 * growable buffer, a decode loop (one frame at a time), heartbeats answered locally, requests handed to
 * the router, answers written through a coalescing writer, an optional idle timeout.
 *
 * @module
 */
import type { Codec } from "../../codecs/codec.ts";
import { ConnWriter } from "../conn_writer.ts";
import { ReadBuffer } from "../read_buffer.ts";
import type { MetaFilterConfig } from "./filter_config.ts";
import { type Downstream, routeRequest } from "./router.ts";

/** Serves one downstream connection until it closes; never throws. */
export async function serveMetaConnection(conn: Deno.TcpConn, cfg: MetaFilterConfig): Promise<void> {
  const cm = new ConnectionManager(conn, cfg);
  await cm.run();
}

class ConnectionManager implements Downstream {
  readonly cfg: MetaFilterConfig;
  readonly codec: Codec;
  readonly localAddress: string;
  readonly remoteAddress: string;
  active = 0;
  #conn: Deno.TcpConn;
  #writer: ConnWriter;
  #closed = false;
  #lastActivity = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(conn: Deno.TcpConn, cfg: MetaFilterConfig) {
    this.#conn = conn;
    this.cfg = cfg;
    this.codec = cfg.factory.create("server");
    const la = conn.localAddr as Deno.NetAddr;
    const ra = conn.remoteAddr as Deno.NetAddr;
    this.localAddress = `${la.hostname}:${la.port}`;
    this.remoteAddress = `${ra.hostname}:${ra.port}`;
    this.#writer = new ConnWriter(conn, () => this.#close());
  }

  write(bytes: Uint8Array): void {
    this.#writer.push(bytes);
  }

  async run(): Promise<void> {
    try {
      this.#conn.setNoDelay(true);
    } catch { /* not fatal */ }
    const idle = this.cfg.idleTimeoutMs;
    if (idle !== undefined) {
      this.#lastActivity = performance.now();
      this.#idleTimer = setTimeout(() => this.#checkIdle(), idle);
    }
    const buf = new ReadBuffer();
    const codec = this.codec;
    const st = this.cfg.stats;
    let want = 0;
    try {
      while (!this.#closed) {
        const n = await this.#conn.read(buf.tail(want));
        if (n === null) {
          if (this.active > 0) st.cxDestroyRemoteWithActiveRq.inc();
          break;
        }
        buf.filled(n);
        if (idle !== undefined) this.#lastActivity = performance.now();
        want = 0;
        while (buf.length > 0 && !this.#closed) {
          const r = codec.decode(buf.view());
          if (r.kind === "need-more") {
            want = r.atLeast ?? 0;
            break;
          }
          if (r.kind === "error") {
            st.requestDecodingError.inc();
            await this.#writer.flushed(); // answers already queued still go out
            this.#close();
            break;
          }
          const f = r.frame;
          if (f.type === "request" || f.type === "oneway") {
            routeRequest(this, f);
          } else if (f.type === "heartbeat") {
            st.requestEvent.inc();
            const reply = codec.heartbeatReply(f);
            if (reply) this.write(reply);
          }
          // Responses from a client are not part of the protocol flow: skipped.
          buf.consume(r.size);
        }
      }
    } catch {
      // Read error, or a frame larger than the buffer cap: a protocol error on this connection only.
      if (!this.#closed) st.requestDecodingError.inc();
    }
    if (!this.#closed) {
      await this.#writer.flushed();
      this.#close();
    }
  }

  #checkIdle(): void {
    const idle = this.cfg.idleTimeoutMs!;
    const since = performance.now() - this.#lastActivity;
    if (since >= idle) {
      this.cfg.stats.idleTimeout.inc();
      if (this.active > 0) this.cfg.stats.cxDestroyLocalWithActiveRq.inc();
      this.#close();
      return;
    }
    this.#idleTimer = setTimeout(() => this.#checkIdle(), idle - since);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#writer.close();
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}
