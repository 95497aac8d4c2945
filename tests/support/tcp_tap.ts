import { concatBytes } from "../../crds/bytes.ts";
/**
 * A TCP tap for tests: forwards a loopback port to a target and keeps every byte sent towards the target,
 * per connection, so a test can check what the proxy put on the wire upstream.
 *
 * @module
 */

/** A TCP tap: forwards 127.0.0.1:`port` to `target` and keeps every byte sent towards the target. */
export interface Tap {
  /** The tap's own port. */
  port: number;
  /** Bytes received from the proxy, per upstream connection. */
  received(): Uint8Array[];
  /** Stops listening and closes every forwarded connection. */
  close(): Promise<void>;
}

/** Starts a tap in front of 127.0.0.1:`target`. */
export function startTap(target: number): Tap {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const streams: Uint8Array[][] = [];
  const pumps: Promise<void>[] = [];
  const pump = async (from: Deno.Conn, to: Deno.Conn, record?: Uint8Array[]) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        record?.push(buf.slice(0, n));
        await to.write(buf.subarray(0, n));
      }
    } catch { /* closed */ }
    for (const c of [from, to]) {
      if (conns.delete(c)) c.close();
    }
  };
  const accepting = (async () => {
    for await (const down of listener) {
      const up = await Deno.connect({ hostname: "127.0.0.1", port: target });
      conns.add(down).add(up);
      const record: Uint8Array[] = [];
      streams.push(record);
      pumps.push(pump(down, up, record), pump(up, down));
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    received: () => streams.map((chunks) => concatBytes(chunks)),
    async close() {
      listener.close();
      await accepting;
      for (const c of conns) c.close();
      conns.clear();
      await Promise.all(pumps);
    },
  };
}
