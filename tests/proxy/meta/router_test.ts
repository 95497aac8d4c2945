import assert from "node:assert/strict";
import { FAKE_CODEC_SERIAL, FakeClient, fakeFrame, startFakeServer } from "../../support/fake_codec.ts";
import { fakeBootstrap, startTestProxy, until } from "../_harness.ts";

Deno.test("router: routes by metadata, adds x-request-id and app protocol, applies request_mutation", async () => {
  const a = startFakeServer({ name: "a" });
  const b = startFakeServer({ name: "b" });
  const proxy = await startTestProxy(fakeBootstrap({
    clusters: { ca: [a.port], cb: [b.port] },
    routes: [
      {
        name: "to-a",
        match: { metadata: [{ name: "Method", exact_match: "sayHello" }] },
        route: { cluster: "ca" },
        request_mutation: [{ key: "foo1", value: "bar1" }],
      },
      {
        name: "to-b",
        match: { metadata: [{ name: "method", prefix_match: "get" }] },
        route: { cluster: "cb" },
      },
    ],
  }));
  const c = await FakeClient.connect(proxy.port);
  try {
    const r1 = await c.call({ method: "sayHello", foo: "bar" }, "hi");
    assert.equal(r1.frame.type, "response");
    assert.equal(r1.frame.metadata.get("server"), "a");
    assert.equal(r1.payload, "hi");
    assert.equal(r1.frame.requestId, 1);
    const r2 = await c.call({ method: "getX" }, "yo");
    assert.equal(r2.frame.metadata.get("server"), "b");
    const seen = a.requests[0];
    assert.equal(seen.meta.get("foo"), "bar");
    assert.equal(seen.meta.get("foo1"), "bar1");
    assert.match(seen.meta.get("x-request-id")!, /^[0-9a-f-]{36}$/);
    // a request id the client set is kept
    await c.call({ method: "sayHello", "x-request-id": "mine" });
    assert.equal(a.requests[1].meta.get("x-request-id"), "mine");
    assert.equal(proxy.handle.stats.get("meta_protocol.fake.test.request"), 3);
  } finally {
    await c.close();
    await proxy.close();
    await a.close();
    await b.close();
  }
});

Deno.test("router: no route → native error reply with the request's id; the connection stays usable", async () => {
  const a = startFakeServer();
  const proxy = await startTestProxy(fakeBootstrap({
    clusters: { ca: [a.port] },
    routes: [{
      name: "only",
      match: { metadata: [{ name: "method", exact_match: "ok" }] },
      route: { cluster: "ca" },
    }],
  }));
  const c = await FakeClient.connect(proxy.port);
  try {
    const r = await c.call({ method: "nope" }, "", 77);
    assert.equal(r.frame.type, "error");
    assert.equal(r.frame.requestId, 77);
    assert.equal(r.frame.metadata.get("error"), "route_not_found");
    assert.equal(r.frame.metadata.get("message"), "meta protocol router: no matched route for request '77'");
    const ok = await c.call({ method: "ok" }, "again");
    assert.equal(ok.frame.type, "response");
    assert.equal(ok.payload, "again");
    assert.equal(a.requests.length, 1);
  } finally {
    await c.close();
    await proxy.close();
    await a.close();
  }
});

Deno.test("router: unknown cluster and empty cluster get their own local replies", async () => {
  const proxy = await startTestProxy(fakeBootstrap({
    clusters: { empty: [] },
    routes: [
      {
        name: "ghost",
        match: { metadata: [{ name: "method", exact_match: "ghost" }] },
        route: { cluster: "nope" },
      },
      { name: "empty", route: { cluster: "empty" } },
    ],
  }));
  const c = await FakeClient.connect(proxy.port);
  try {
    const r1 = await c.call({ method: "ghost" });
    assert.equal(r1.frame.metadata.get("error"), "cluster_not_found");
    assert.equal(r1.frame.metadata.get("message"), "meta protocol router: unknown cluster 'nope'");
    const r2 = await c.call({ method: "x" });
    assert.equal(r2.frame.metadata.get("error"), "no_healthy_upstream");
  } finally {
    await c.close();
    await proxy.close();
  }
});

Deno.test("router: 2,000 requests from 50 connections, answered out of order through ≤ 2 upstream connections", async () => {
  const s = startFakeServer({ delayMs: () => Math.floor(Math.random() * 8) });
  const proxy = await startTestProxy(fakeBootstrap({ clusters: { c: [s.port] } }));
  const clients = await Promise.all(Array.from({ length: 50 }, () => FakeClient.connect(proxy.port)));
  try {
    let wrong = 0;
    await Promise.all(clients.map(async (c, ci) => {
      await Promise.all(Array.from({ length: 40 }, async (_, i) => {
        const body = `c${ci}-r${i}`;
        const r = await c.call({ method: "m" }, body);
        if (r.payload !== body || r.frame.type !== "response") wrong++;
      }));
    }));
    assert.equal(wrong, 0);
    assert.equal(s.requests.length, 2000);
    assert.ok(s.connections() <= 2, `upstream connections: ${s.connections()}`);
    // the server saw the proxy's rewritten ids, not the clients' (which repeat across connections)
    const ids = new Set(s.requests.map((r) => `${r.conn}:${r.id}`));
    assert.equal(ids.size, 2000);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await proxy.close();
    await s.close();
  }
});

Deno.test("router: a non-multiplexable codec gets one request per upstream connection, reused", async () => {
  let inFlight = 0;
  let maxInFlightPerConn = 0;
  const perConn = new Map<number, number>();
  const s = startFakeServer({
    delayMs: (r) => {
      const n = (perConn.get(r.conn) ?? 0) + 1;
      perConn.set(r.conn, n);
      maxInFlightPerConn = Math.max(maxInFlightPerConn, n);
      inFlight++;
      setTimeout(() => {
        perConn.set(r.conn, perConn.get(r.conn)! - 1);
        inFlight--;
      }, 4);
      return 3;
    },
  });
  const proxy = await startTestProxy(fakeBootstrap({ clusters: { c: [s.port] }, codec: FAKE_CODEC_SERIAL }));
  const c = await FakeClient.connect(proxy.port);
  try {
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => c.call({ method: "m" }, `p${i}`)));
    rs.forEach((r, i) => assert.equal(r.payload, `p${i}`));
    assert.equal(maxInFlightPerConn, 1);
    // the same ids are kept (no rewriting) and connections come back to the pool
    assert.deepEqual(
      s.requests.map((r) => r.id).sort((x, y) => x - y),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    const before = s.connections();
    for (let i = 0; i < 5; i++) await c.call({ method: "m" });
    assert.equal(s.connections(), before);
  } finally {
    await c.close();
    await proxy.close();
    await s.close();
  }
});

Deno.test("router: mirrors a fraction of requests, the client only sees the primary's answers", async () => {
  const primary = startFakeServer({ name: "primary" });
  const mirror = startFakeServer({ name: "mirror" });
  const proxy = await startTestProxy(fakeBootstrap({
    clusters: { p: [primary.port], m: [mirror.port] },
    routes: [{
      name: "r",
      route: {
        cluster: "p",
        request_mirror_policies: [{ cluster: "m", runtime_fraction: { default_value: { numerator: 50 } } }],
      },
    }],
  }));
  const c = await FakeClient.connect(proxy.port);
  try {
    const rs = await Promise.all(Array.from({ length: 1000 }, (_, i) => c.call({ method: "m" }, String(i))));
    assert.ok(rs.every((r, i) => r.frame.metadata.get("server") === "primary" && r.payload === String(i)));
    await until(() => mirror.requests.length > 0);
    await new Promise((r) => setTimeout(r, 50));
    const n = mirror.requests.length;
    assert.ok(n >= 300 && n <= 700, `mirrored ${n} of 1000`);
    assert.equal(primary.requests.length, 1000);
    assert.equal(c.unmatched.length, 0);
  } finally {
    await c.close();
    await proxy.close();
    await primary.close();
    await mirror.close();
  }
});

Deno.test("router: weighted clusters split traffic by weight", async () => {
  const a = startFakeServer({ name: "a" });
  const b = startFakeServer({ name: "b" });
  const proxy = await startTestProxy(fakeBootstrap({
    clusters: { a: [a.port], b: [b.port] },
    routes: [{
      name: "w",
      route: {
        weighted_clusters: {
          clusters: [{ name: "a", weight: { value: 80 } }, { name: "b", weight: { value: 20 } }],
        },
      },
    }],
  }));
  const c = await FakeClient.connect(proxy.port);
  try {
    await Promise.all(Array.from({ length: 500 }, () => c.call({ method: "m" })));
    assert.ok(a.requests.length > 330 && a.requests.length < 470, `a got ${a.requests.length}`);
    assert.equal(a.requests.length + b.requests.length, 500);
  } finally {
    await c.close();
    await proxy.close();
    await a.close();
    await b.close();
  }
});

Deno.test("router: oneway requests are forwarded (Aeraki drops them); heartbeats are answered locally", async () => {
  const s = startFakeServer();
  const proxy = await startTestProxy(fakeBootstrap({ clusters: { c: [s.port] } }));
  const c = await FakeClient.connect(proxy.port);
  try {
    c.write(fakeFrame({ type: "oneway", id: 5, meta: { method: "fire" }, payload: "x" }));
    await until(() => s.requests.length === 1, 2000, "oneway forwarded");
    assert.equal(s.requests[0].type, "oneway");
    assert.equal(s.requests[0].payload, "x");
    const hb = c.expect(9);
    c.write(fakeFrame({ type: "heartbeat", id: 9 }));
    const r = await hb;
    assert.equal(r.frame.type, "heartbeat");
    assert.equal(r.frame.metadata.get("pong"), "1");
    assert.equal(s.requests.length, 1); // heartbeat not forwarded
    const ok = await c.call({ method: "m" }, "after");
    assert.equal(ok.payload, "after");
    assert.equal(proxy.handle.stats.get("meta_protocol.fake.test.request_oneway"), 1);
    assert.equal(proxy.handle.stats.get("meta_protocol.fake.test.request_event"), 1);
  } finally {
    await c.close();
    await proxy.close();
    await s.close();
  }
});

Deno.test("router: hash_policy keys pin a MAGLEV cluster's endpoint per key value", async () => {
  const servers = [
    startFakeServer({ name: "s0" }),
    startFakeServer({ name: "s1" }),
    startFakeServer({ name: "s2" }),
  ];
  const proxy = await startTestProxy(fakeBootstrap({
    clusters: { c: servers.map((s) => s.port) },
    lbPolicy: "MAGLEV",
    routes: [{ name: "h", route: { cluster: "c", hash_policy: ["user"] } }],
  }));
  const c = await FakeClient.connect(proxy.port);
  try {
    const seen = new Map<string, Set<string>>();
    for (let i = 0; i < 200; i++) {
      const user = `u${i % 20}`;
      const r = await c.call({ method: "m", user });
      if (!seen.has(user)) seen.set(user, new Set());
      seen.get(user)!.add(r.frame.metadata.get("server")!);
    }
    for (const servers of seen.values()) assert.equal(servers.size, 1);
    const used = new Set([...seen.values()].map((s) => [...s][0]));
    assert.ok(used.size >= 2, "keys spread over endpoints");
  } finally {
    await c.close();
    await proxy.close();
    await Promise.all(servers.map((s) => s.close()));
  }
});
