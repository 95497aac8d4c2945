/**
 * Global rate limit on Aeraki's global-ratelimit/test.yaml, loaded from the file unchanged except for
 * ports (listener → free port, admin → 0, the Thrift cluster → a real npm `thrift` server, the ratelimit
 * cluster → a real grpc-js RateLimitService implementing the sample's config/config.yaml).
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import "../../../codecs/builtin.ts";
import { loadBootstrapFile } from "../../../crds/proto_json.ts";
import { type ProxyHandle, startProxy } from "../../../proxy/run.ts";
import { aerakiPath } from "../../support/paths.ts";
import { compileThriftIdl, loadGenerated } from "../../support/thrift_peer.ts";
import { type RlsServer, rulesFromConfigYaml, startRlsServer } from "./rls_server.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
type Obj = Record<string, Any>;

const DIR = aerakiPath("dataplane-envoy-configs", "global-ratelimit");
const require = createRequire(import.meta.url);
const thrift: Any = require("thrift");
const Hello: Any = loadGenerated(
  compileThriftIdl(new URL("./hello.thrift", import.meta.url).pathname),
  "Hello.js",
);
const STACK = { transport: thrift.TFramedTransport, protocol: thrift.TBinaryProtocol };

/** The sample's thrift-sample-server: answers "hello <name>". */
async function startHelloServer(): Promise<{ port: number; calls: string[]; close(): Promise<void> }> {
  const calls: string[] = [];
  const server = thrift.createServer(Hello, {
    sayHello: (n: string) => Promise.resolve((calls.push(n), `hello ${n}`)),
    sayGoodbye: (n: string) => Promise.resolve(`bye ${n}`),
  }, STACK);
  const sockets = new Set<Any>();
  server.on("connection", (s: Any) => (sockets.add(s), s.on("close", () => sockets.delete(s))));
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    port: server.address().port,
    calls,
    close: () => new Promise<void>((ok) => (sockets.forEach((s) => s.destroy()), server.close(() => ok()))),
  };
}

async function connect(port: number): Promise<{ client: Any; close(): Promise<void> }> {
  const connection = thrift.createConnection("127.0.0.1", port, { ...STACK, max_attempts: 1 });
  connection.on("error", () => {});
  await new Promise<void>((ok, fail) => (connection.once("connect", ok), connection.once("error", fail)));
  return {
    client: thrift.createClient(Hello, connection),
    close: () =>
      new Promise<void>((ok) => {
        const socket = connection.connection;
        if (socket.destroyed) return ok();
        socket.once("close", () => ok());
        connection.end();
        socket.destroy();
      }),
  };
}

/** Loads test.yaml and points its ports at the test's peers; `edit` may change the RateLimit config. */
function bootstrapFor(thriftPort: number, rlsPort: number, edit?: (rl: Obj) => void): Obj {
  const { bootstrap: b, warnings } = loadBootstrapFile(`${DIR}/test.yaml`);
  const bootstrap = b as Obj;
  assert.deepEqual(warnings, []);
  bootstrap.admin.address.socket_address.port_value = 0;
  const sr = bootstrap.static_resources;
  const listener = sr.listeners[0];
  listener.address.socket_address.address = "127.0.0.1";
  listener.address.socket_address.port_value = 0;
  for (const c of sr.clusters) {
    const sa = c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
    sa.port_value = c.name === "ratelimit" ? rlsPort : thriftPort;
  }
  const filters = listener.filter_chains[0].filters[0].typed_config.meta_protocol_filters;
  edit?.(filters[0].config);
  return bootstrap;
}

interface Setup {
  proxy: ProxyHandle;
  port: number;
  rls: RlsServer;
  upstream: Awaited<ReturnType<typeof startHelloServer>>;
  clock: { now: number };
  close(): Promise<void>;
}

async function setup(edit?: (rl: Obj) => void, rlsDown = false): Promise<Setup> {
  const clock = { now: Date.parse("2024-01-01T00:00:00Z") };
  const rls = await startRlsServer(rulesFromConfigYaml(`${DIR}/config/config.yaml`), () => clock.now);
  const rlsPort = rls.port;
  if (rlsDown) await rls.close();
  const upstream = await startHelloServer();
  const proxy = await startProxy({
    bootstrap: bootstrapFor(upstream.port, rlsPort, edit),
    origin: "test.yaml",
    log: () => {},
  });
  return {
    proxy,
    port: [...proxy.listeners.values()][0],
    rls,
    upstream,
    clock,
    async close() {
      await proxy.close();
      await rls.close();
      await upstream.close();
    },
  };
}

const PREFIX = "meta_protocol.thrift.outbound|9090||thrift-sample-server.thrift.svc.cluster.local.ratelimit";

Deno.test("global ratelimit: test.yaml + config.yaml: 5 sayHello per minute pass, the 6th gets a Thrift exception", async () => {
  const s = await setup();
  const c = await connect(s.port);
  try {
    for (let i = 0; i < 5; i++) assert.equal(await c.client.sayHello(`n${i}`), `hello n${i}`);
    await assert.rejects(c.client.sayHello("n5"), (e: Any) => {
      assert.match(String(e.message), /meta protocol global ratelimit: request '\d+' has been rate limited/);
      return true;
    });
    assert.equal(s.upstream.calls.length, 5);
    // The request the RLS saw: domain + one descriptor per Descriptor {property → value}.
    assert.deepEqual(s.rls.requests[0], {
      domain: "production",
      descriptors: [{ entries: [{ key: "method", value: "sayHello" }] }],
    });
    assert.equal(s.proxy.stats.get(`${PREFIX}.ok`), 5);
    assert.equal(s.proxy.stats.get(`${PREFIX}.over_limit`), 1);
    // The connection is still usable; the next minute (the RLS's clock) has a fresh quota.
    s.clock.now += 60_000;
    assert.equal(await c.client.sayHello("again"), "hello again");
    // Requests outside `match` are not checked (sayGoodbye has no route in test.yaml: route_not_found).
    const before = s.rls.requests.length;
    await assert.rejects(c.client.sayGoodbye("x"), /no matched route/);
    assert.equal(s.rls.requests.length, before);
  } finally {
    await c.close();
    await s.close();
  }
});

Deno.test("global ratelimit: RLS down → rejected with failure_mode_deny (test.yaml), allowed without it", async () => {
  const deny = await setup(undefined, true);
  const c1 = await connect(deny.port);
  try {
    await assert.rejects(c1.client.sayHello("x"), /has been rate limited/);
    assert.equal(deny.upstream.calls.length, 0);
    assert.equal(deny.proxy.stats.get(`${PREFIX}.error`), 1);
  } finally {
    await c1.close();
    await deny.close();
  }
  const allow = await setup((rl) => (rl.failure_mode_deny = false), true);
  const c2 = await connect(allow.port);
  try {
    assert.equal(await c2.client.sayHello("y"), "hello y");
    assert.equal(allow.proxy.stats.get(`${PREFIX}.failure_mode_allowed`), 1);
  } finally {
    await c2.close();
    await allow.close();
  }
});

Deno.test("global ratelimit: a hanging RLS costs `timeout`, not more, and blocks no other request", async () => {
  const s = await setup((rl) => {
    rl.timeout = { seconds: 0, nanos: 300_000_000 };
    rl.failure_mode_deny = false;
  });
  s.rls.mode = "hang";
  const c = await connect(s.port);
  try {
    const t0 = performance.now();
    const slow = c.client.sayHello("slow");
    // Pipelined on the same connection while the RLS call waits: answered at once (route_not_found).
    await assert.rejects(c.client.sayGoodbye("fast"), /no matched route/);
    const fastMs = performance.now() - t0;
    assert.equal(await slow, "hello slow");
    const slowMs = performance.now() - t0;
    assert.ok(fastMs < 250, `the unchecked request waited ${fastMs} ms`);
    assert.ok(slowMs >= 280 && slowMs < 2000, `the checked request took ${slowMs} ms (timeout 300 ms)`);
    assert.equal(s.proxy.stats.get(`${PREFIX}.error`), 1);
  } finally {
    await c.close();
    await s.close();
  }
});
