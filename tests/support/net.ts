/**
 * Socket helpers shared by tests: free loopback ports, waiting for a listener or any condition.
 *
 * @module
 */

/** Returns a TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, release it). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Resolves once something accepts TCP connections on `port`, or throws after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 10_000, hostname = "127.0.0.1"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const conn = await Deno.connect({ hostname, port });
      conn.close();
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`Cannot connect to ${hostname}:${port} within ${timeoutMs} ms: ${error}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** Reads from `conn` until `n` bytes arrived (or throws on EOF/timeout). */
export async function readExactly(conn: Deno.Conn, n: number, timeoutMs = 5_000): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    while (off < n) {
      const got = await conn.read(out.subarray(off));
      if (got === null) throw new Error(`Cannot read ${n} bytes: connection closed after ${off}`);
      off += got;
    }
  } finally {
    clearTimeout(timer);
  }
  return out;
}

/** Whether something accepts a TCP connection on `hostname:port` right now. */
export async function canConnect(port: number, hostname = "127.0.0.1"): Promise<boolean> {
  try {
    (await Deno.connect({ hostname, port })).close();
    return true;
  } catch {
    return false;
  }
}

/** Polls `check` every 20 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Cannot wait for ${what}: not there after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A loopback TCP server whose connections are each handled by one call of a handler. */
export interface ConnServer {
  readonly port: number;
  /** Stops accepting, closes every open connection, waits for the accept loop to end. */
  close(): Promise<void>;
}

/**
 * Accepts connections on 127.0.0.1 (a free port) and runs `handle` on each; a handler that throws (peer reset,
 * a bad frame) just ends its connection, which is closed when the handler returns.
 */
export function serveConnections(handle: (conn: Deno.Conn) => Promise<void>): ConnServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const close = (conn: Deno.Conn) => {
    try {
      conn.close();
    } catch { /* already closed */ }
  };
  const serve = async (conn: Deno.Conn) => {
    conns.add(conn);
    try {
      await handle(conn);
    } catch {
      /* reset or bad input */
    } finally {
      conns.delete(conn);
      close(conn);
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) serve(conn);
    } catch { /* closed */ }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      for (const c of conns) close(c);
      await accepting;
    },
  };
}
