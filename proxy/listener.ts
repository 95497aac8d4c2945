/**
 * A bound TCP listener: accepts connections and hands each to the current network filter. The filter can
 * be swapped (LDS update with the same address): new connections use the new one, old ones finish.
 *
 * @module
 */
import type { NetworkFilter } from "./extension.ts";

/** A running listener. */
export class ListenerImpl {
  readonly name: string;
  readonly host: string;
  /** The bound port (the configured one, or the OS pick for port 0). */
  readonly port: number;
  /** The canonical Listener config it runs. */
  config: Readonly<Record<string, unknown>>;
  #filter: NetworkFilter;
  #listener: Deno.TcpListener;
  #conns = new Set<Deno.TcpConn>();
  #tasks = new Set<Promise<void>>();
  #loop: Promise<void>;
  #closed = false;
  #onError: (msg: string) => void;

  /** Binds synchronously (throws when the address is taken). */
  constructor(
    name: string,
    host: string,
    port: number,
    filter: NetworkFilter,
    config: Readonly<Record<string, unknown>>,
    onError: (msg: string) => void,
  ) {
    this.name = name;
    this.host = host;
    this.#filter = filter;
    this.config = config;
    this.#onError = onError;
    this.#listener = Deno.listen({ hostname: host, port });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#loop = this.#accept();
  }

  /** Live downstream connections. */
  get connectionCount(): number {
    return this.#conns.size;
  }

  /** Swaps the filter for new connections; the old filter drains. */
  update(filter: NetworkFilter, config: Readonly<Record<string, unknown>>): void {
    const old = this.#filter;
    this.#filter = filter;
    this.config = config;
    if (old !== filter) old.close().catch(() => {});
  }

  /** Stops accepting, closes every connection and waits for their handlers. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    await this.#loop;
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    await Promise.all(this.#tasks);
    await this.#filter.close();
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closed) return;
        this.#onError(`Cannot accept on listener ${this.name}: ${error}`);
        await new Promise((r) => setTimeout(r, 10)); // EMFILE and friends: back off, keep serving
        continue;
      }
      this.#conns.add(conn);
      const task = this.#filter.handle(conn).catch((error) => {
        this.#onError(`Cannot serve connection on ${this.name}: ${error}`);
      }).finally(() => {
        this.#conns.delete(conn);
        this.#tasks.delete(task);
        try {
          conn.close();
        } catch { /* already closed */ }
      });
      this.#tasks.add(task);
    }
  }
}
