/**
 * End to end: real npm `thrift` clients and servers through an in-process metamesh proxy, for every
 * transport × protocol pair the library supports. Each pair gets two upstream servers (A and B), one
 * MetaProtocol listener with the Thrift codec and routes by `method` (and by a THeader info header).
 *
 * @module
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import "../../codecs/builtin.ts";
import { type ProxyHandle, startProxy } from "../../proxy/run.ts";
import {
  connectThriftClient,
  generatedEcho,
  PEER_PAIRS,
  type PeerProtocol,
  peerStack,
  type PeerTransport,
  sendRealTHeader,
  startThriftServer,
  type ThriftServer,
} from "../support/thrift_peer.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
const thrift: Any = createRequire(import.meta.url)("thrift");
// npm thrift's compact protocol warns "SeqId already set" when one protocol object writes several
// pipelined replies (server side, with or without a proxy); that line is noise here, the rest is kept.
thrift.setLogFunc((line: string) => {
  if (!line.includes("SeqId already set")) console.log(line);
});

const CODEC = "aeraki.meta_protocol.codec.thrift";

/** A STATIC cluster with one endpoint on 127.0.0.1. */
function cluster(name: string, port: number): Record<string, unknown> {
  return {
    name,
    type: "STATIC",
    connect_timeout: { seconds: 1, nanos: 0 },
    load_assignment: {
      cluster_name: name,
      endpoints: [{
        lb_endpoints: [{
          endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } },
        }],
      }],
    },
  };
}

/**
 * Routes, first match wins: THeader `x-lane: blue` → B; method `add` → B; `echo`/`find`/`ping`/`blob`
 * (bare or `Echo:`-prefixed) → A. Anything else (e.g. `Calc:mul`) has no route.
 */
const ROUTES = [
  {
    name: "lane-blue",
    match: { metadata: [{ name: "x-lane", exact_match: "blue" }] },
    route: { cluster: "b" },
  },
  { name: "add", match: { metadata: [{ name: "method", exact_match: "add" }] }, route: { cluster: "b" } },
  {
    name: "echo",
    match: { metadata: [{ name: "method", safe_regex_match: { regex: "^(Echo:)?(echo|find|ping|blob)$" } }] },
    route: { cluster: "a" },
  },
];

/** A canonical bootstrap: one Thrift MetaProtocol listener on a free port, clusters `a` and `b`. */
function thriftBootstrap(ports: { a: number; b: number }): Record<string, unknown> {
  return {
    node: { id: "thrift-e2e" },
    static_resources: {
      listeners: [{
        name: "thrift",
        address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
        filter_chains: [{
          filters: [{
            name: "aeraki.meta_protocol_proxy",
            typed_config: {
              "@type": "type.googleapis.com/aeraki.meta_protocol_proxy.v1alpha.MetaProtocolProxy",
              stat_prefix: "thrift-e2e",
              protocol: { name: "thrift", codec: { name: CODEC } },
              route_config: { name: "thrift-e2e", routes: ROUTES },
            },
          }],
        }],
      }],
      clusters: [cluster("a", ports.a), cluster("b", ports.b)],
    },
  };
}

interface Setup {
  a: ThriftServer;
  b: ThriftServer;
  proxy: ProxyHandle;
  port: number;
  logs: string[];
  close(): Promise<void>;
}

async function setup(
  transport: PeerTransport,
  protocol: PeerProtocol,
  multiplexed = false,
): Promise<Setup> {
  const a = await startThriftServer({ transport, protocol, name: "A", multiplexed });
  const b = await startThriftServer({ transport, protocol, name: "B", multiplexed });
  const logs: string[] = [];
  const proxy = await startProxy({
    bootstrap: thriftBootstrap({ a: a.port, b: b.port }),
    origin: "thrift_proxy_test",
    log: (m) => logs.push(m),
  });
  const port = proxy.listeners.get("thrift");
  assert.ok(port, `listener missing: ${logs.join("\n")}`);
  return {
    a,
    b,
    proxy,
    port,
    logs,
    async close() {
      await proxy.close();
      await a.close();
      await b.close();
    },
  };
}

/** Polls until `cond()` holds or fails after `ms`. */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`Cannot observe ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Rejects after `ms` so a hang is a failure with a message, not a stuck test. */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`Cannot get ${what} within ${ms} ms (hang)`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Connects a peer client through the proxy. */
function connect(port: number, transport: PeerTransport, protocol: PeerProtocol) {
  return connectThriftClient({ port, transport, protocol });
}

function upstreamConns(proxy: ProxyHandle, clusterName: string): number {
  let n = 0;
  for (const [key, count] of proxy.upstreamConnections()) if (key.startsWith(`${clusterName}::`)) n += count;
  return n;
}

for (const { transport, protocol } of PEER_PAIRS) {
  const pair = `${transport}+${protocol}`;

  Deno.test(`thrift proxy ${pair}: calls, oneway, exception, 1 MiB, multiplexing, routing`, async () => {
    const s = await setup(transport, protocol);
    const { types } = generatedEcho();
    const c1 = await connect(s.port, transport, protocol);
    try {
      // Two-way calls, routed by method: echo → A, add → B.
      assert.equal(await c1.client.echo("hi"), "A:hi");
      assert.equal(await c1.client.add(20, 22), 42);
      assert.deepEqual(s.a.calls, ["echo:hi"]);
      assert.deepEqual(s.b.calls, ["add:20+22"]);

      // Oneway: no reply, but it reaches the server; the next call still pairs with its own reply.
      c1.client.ping("one-way");
      assert.equal(await c1.client.echo("after-ping"), "A:after-ping");
      await until(() => s.a.calls.includes("ping:one-way"), "the oneway call at A");

      // A declared IDL exception comes back as the typed exception.
      await assert.rejects(c1.client.find("missing"), (e: unknown) => {
        assert.ok(e instanceof types.NotFound, `expected NotFound, got ${e}`);
        assert.equal((e as { key: string }).key, "missing");
        return true;
      });
      assert.equal(await c1.client.find("known"), "A:found");

      // A 1 MiB binary payload, both directions.
      const blob = new Uint8Array(1 << 20);
      for (let i = 0; i < blob.length; i++) blob[i] = (i * 31 + 7) & 0xff;
      const back: Uint8Array = await withTimeout(
        c1.client.blob(Buffer.from(blob.buffer)),
        10_000,
        "the 1 MiB blob",
      );
      assert.equal(back.length, blob.length);
      assert.ok(Buffer.from(back).equals(Buffer.from(blob)), "blob came back changed");

      // Multiplexing: 3 client connections × 50 concurrent calls (colliding client seqids) share the
      // proxy's few upstream connections to A; every reply pairs with its own call.
      const c2 = await connect(s.port, transport, protocol);
      const c3 = await connect(s.port, transport, protocol);
      try {
        const calls: Promise<void>[] = [];
        for (const [ci, c] of [c1, c2, c3].entries()) {
          for (let i = 0; i < 50; i++) {
            const msg = `c${ci}-${i}`;
            calls.push(c.client.echo(msg).then((r: string) => assert.equal(r, `A:${msg}`)));
            if (i % 10 === 0) {
              calls.push(c.client.add(ci, i).then((r: number) => assert.equal(r, ci + i)));
            }
          }
        }
        await withTimeout(Promise.all(calls), 10_000, "150 concurrent calls");
        const toA = upstreamConns(s.proxy, "a");
        assert.ok(toA >= 1 && toA <= 2, `expected 1..2 shared upstream connections to A, got ${toA}`);
      } finally {
        await c2.close();
        await c3.close();
      }

      if (transport === "header") {
        // Routing by THeader info header: x-lane=blue sends `echo` to B.
        c1.client.output.setWriteHeader("x-lane", "blue");
        assert.equal(await c1.client.echo("lane"), "B:lane");
        c1.client.output.clearWriteHeaders();
        assert.equal(await c1.client.echo("no-lane"), "A:no-lane");
      }
    } finally {
      await c1.close();
      await s.close();
    }
  });

  Deno.test(`thrift proxy ${pair}: a route-less method gets a TApplicationException, the connection stays usable`, async () => {
    // TMultiplexedProtocol puts two services on one connection: `Calc:mul` has no route, `Echo:echo` has.
    const s = await setup(transport, protocol, true);
    const { Echo, Calc } = generatedEcho();
    const connection = thrift.createConnection("127.0.0.1", s.port, {
      ...peerStack(transport, protocol),
      max_attempts: 1,
      connect_timeout: 5000,
    });
    connection.on("error", () => {});
    try {
      await new Promise((ok, fail) => {
        connection.once("connect", ok);
        connection.once("error", fail);
      });
      const mux = new thrift.Multiplexer();
      const echo = mux.createClient("Echo", Echo, connection);
      const calc = mux.createClient("Calc", Calc, connection);
      if (transport === "header") sendRealTHeader(echo), sendRealTHeader(calc);
      await assert.rejects(withTimeout(calc.mul(6, 7), 5000, "the route-less reply"), (e: unknown) => {
        assert.ok(
          e instanceof thrift.Thrift.TApplicationException,
          `expected TApplicationException, got ${e}`,
        );
        assert.match(String((e as Error).message), /route/i);
        assert.equal((e as { type: number }).type, thrift.Thrift.TApplicationExceptionType.UNKNOWN_METHOD);
        return true;
      });
      assert.equal(await echo.echo("still-usable"), "A:still-usable");
      assert.deepEqual(s.a.calls, ["echo:still-usable"]);
      assert.deepEqual(s.b.calls, []);
    } finally {
      await new Promise<void>((ok) => {
        const socket = connection.connection;
        if (socket.destroyed) return ok();
        socket.once("close", () => ok());
        connection.end();
        socket.destroy();
      });
      await s.close();
    }
  });
}

// THeader is left out: an npm THeader server reads the protocol id from the header, so it serves compact.
for (const transport of ["framed", "buffered"] as const) {
  Deno.test(`thrift proxy ${transport}: compact client to a binary-only server gets a TApplicationException, not a hang`, async () => {
    // Both clusters point at binary servers; the client speaks compact, which the server rejects by
    // closing the connection. The proxy must answer the pending call with a local reply.
    const a = await startThriftServer({ transport, protocol: "binary", name: "A" });
    const proxy = await startProxy({
      bootstrap: thriftBootstrap({ a: a.port, b: a.port }),
      origin: "thrift_proxy_test",
      log: () => {},
    });
    const port = proxy.listeners.get("thrift")!;
    const c = await connectThriftClient({ port, transport, protocol: "compact" });
    try {
      await assert.rejects(
        withTimeout(c.client.echo("mismatch"), 8000, "the mismatch reply"),
        (e: unknown) => {
          assert.ok(
            e instanceof thrift.Thrift.TApplicationException,
            `expected TApplicationException, got ${e}`,
          );
          assert.match((e as Error).message, /upstream .* closed the connection/);
          return true;
        },
      );
      assert.deepEqual(a.calls, []);
    } finally {
      await c.close();
      await proxy.close();
      await a.close();
    }
  });
}

Deno.test("thrift proxy header+compact: an unreachable upstream gives a TApplicationException, the connection stays usable", async () => {
  // Cluster `b` (method `add`) points at a port nobody listens on.
  const a = await startThriftServer({ transport: "header", protocol: "compact", name: "A" });
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (dead.addr as Deno.NetAddr).port;
  dead.close();
  const proxy = await startProxy({
    bootstrap: thriftBootstrap({ a: a.port, b: deadPort }),
    origin: "thrift_proxy_test",
    log: () => {},
  });
  const c = await connect(proxy.listeners.get("thrift")!, "header", "compact");
  try {
    await assert.rejects(withTimeout(c.client.add(1, 2), 8000, "the connect-failure reply"), (e: unknown) => {
      assert.ok(e instanceof thrift.Thrift.TApplicationException, `expected TApplicationException, got ${e}`);
      return true;
    });
    assert.equal(await c.client.echo("alive"), "A:alive");
  } finally {
    await c.close();
    await proxy.close();
    await a.close();
  }
});

Deno.test("thrift proxy framed+binary: a client that leaves with calls in flight does not disturb others", async () => {
  const s = await setup("framed", "binary");
  try {
    const leaver = await connect(s.port, "framed", "binary");
    const stay = await connect(s.port, "framed", "binary");
    const big = Buffer.alloc(100_000, 1);
    // npm thrift never settles the calls of a closed connection: they are left unawaited.
    for (let i = 0; i < 20; i++) leaver.client.blob(big).catch(() => {});
    const kept = Array.from({ length: 20 }, (_, i) => stay.client.echo(`k${i}`));
    await leaver.close();
    assert.deepEqual(
      await withTimeout(Promise.all(kept), 5000, "the staying client's replies"),
      kept.map((_, i) => `A:k${i}`),
    );
    assert.equal(await stay.client.echo("after"), "A:after");
    await stay.close();
    const again = await connect(s.port, "framed", "binary");
    assert.equal(await again.client.echo("new"), "A:new");
    await again.close();
  } finally {
    await s.close();
  }
});

Deno.test("thrift proxy: bytes that are not Thrift close only that connection, counted", async () => {
  const s = await setup("framed", "binary");
  try {
    for (
      const bad of [
        new Uint8Array([0x7f, 0xff, 0xff, 0xff, 0x80, 0x01, 0x00, 0x01]), // frame size over the 16 MiB limit
        new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
      ]
    ) {
      const raw = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
      await raw.write(bad);
      const got = await withTimeout(
        raw.read(new Uint8Array(1024)),
        5000,
        "the proxy closing a bad connection",
      );
      raw.close();
      assert.equal(got, null, "expected the proxy to close the connection");
    }
    const c = await connect(s.port, "framed", "binary");
    assert.equal(await c.client.echo("fine"), "A:fine");
    await c.close();
    assert.match(s.proxy.stats.text(), /\.request_decoding_error: 2\n/);
  } finally {
    await s.close();
  }
});
