import assert from "node:assert/strict";
import { FAKE_CODEC_SERIAL, FakeClient, startFakeServer } from "../../support/fake_codec.ts";
import { freePort } from "../../support/net.ts";
import { fakeBootstrap, startTestProxy } from "../_harness.ts";

Deno.test("upstream: connection refused → upstream_connect_failure reply, proxy keeps serving", async () => {
  const dead = freePort();
  const proxy = await startTestProxy(fakeBootstrap({ clusters: { c: [dead] } }));
  const c = await FakeClient.connect(proxy.port);
  try {
    const rs = await Promise.all([1, 2, 3].map(() => c.call({ method: "m" })));
    for (const r of rs) {
      assert.equal(r.frame.type, "error");
      assert.equal(r.frame.metadata.get("error"), "upstream_connect_failure");
      assert.match(
        r.frame.metadata.get("message")!,
        /^meta protocol upstream request: remote connection failure '127\.0\.0\.1:\d+'/,
      );
    }
    assert.ok(proxy.handle.stats.get("cluster.c.upstream_cx_connect_fail") >= 1);
  } finally {
    await c.close();
    await proxy.close();
  }
});

Deno.test("upstream: the upstream dying mid-request → every pending request gets upstream_reset (multiplexed)", async () => {
  let seen = 0;
  const s = startFakeServer({ behaviour: () => (++seen === 5 ? "close" : "ignore") });
  const cluster = {
    type: "STATIC",
    circuit_breakers: { thresholds: [{ max_connections: 1 }] }, // one shared connection carries all five
    load_assignment: {
      endpoints: [{
        lb_endpoints: [{
          endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: s.port } } },
        }],
      }],
    },
  };
  const proxy = await startTestProxy(fakeBootstrap({ clusters: { c: cluster } }));
  const c = await FakeClient.connect(proxy.port);
  try {
    const rs = await Promise.all([1, 2, 3, 4, 5].map((i) => c.call({ method: "m" }, `${i}`, i)));
    assert.deepEqual(rs.map((r) => r.frame.metadata.get("error")), Array(5).fill("upstream_reset"));
    assert.deepEqual(rs.map((r) => Number(r.frame.requestId)), [1, 2, 3, 4, 5]);
    assert.equal(s.connections(), 1);
  } finally {
    await c.close();
    await proxy.close();
    await s.close();
  }
});

Deno.test("upstream: the upstream dying mid-request (one request per connection) → that request gets upstream_reset", async () => {
  const s = startFakeServer({ behaviour: (r) => (r.payload === "die" ? "close" : "ignore") });
  const proxy = await startTestProxy(fakeBootstrap({
    clusters: { c: [s.port] },
    codec: FAKE_CODEC_SERIAL,
    routes: [{ name: "r", route: { cluster: "c", timeout: { seconds: 0, nanos: 200_000_000 } } }],
  }));
  const c = await FakeClient.connect(proxy.port);
  try {
    const [a, b] = await Promise.all([c.call({ method: "m" }, "hang", 1), c.call({ method: "m" }, "die", 2)]);
    assert.equal(a.frame.metadata.get("error"), "timeout");
    assert.equal(b.frame.metadata.get("error"), "upstream_reset");
    assert.equal(b.frame.requestId, 2);
  } finally {
    await c.close();
    await proxy.close();
    await s.close();
  }
});

Deno.test("upstream: route timeout → timeout reply; the late response is dropped", async () => {
  const s = startFakeServer({ delayMs: (r) => (r.payload === "slow" ? 400 : 0) });
  const proxy = await startTestProxy(fakeBootstrap({
    clusters: { c: [s.port] },
    routes: [{ name: "r", route: { cluster: "c", timeout: { seconds: 0, nanos: 100_000_000 } } }],
  }));
  const c = await FakeClient.connect(proxy.port);
  try {
    const t0 = performance.now();
    const r = await c.call({ method: "m" }, "slow", 10);
    const took = performance.now() - t0;
    assert.equal(r.frame.metadata.get("error"), "timeout");
    assert.equal(r.frame.requestId, 10);
    assert.ok(took >= 90 && took < 350, `took ${took}`);
    const fast = await c.call({ method: "m" }, "fast", 11);
    assert.equal(fast.payload, "fast");
    await new Promise((res) => setTimeout(res, 450)); // the slow answer arrives upstream now
    assert.equal(c.unmatched.length, 0);
    assert.equal((await c.call({ method: "m" }, "after", 12)).payload, "after");
  } finally {
    await c.close();
    await proxy.close();
    await s.close();
  }
});

Deno.test("upstream: retry_policy retries a connect failure on another endpoint", async () => {
  const s = startFakeServer({ name: "alive" });
  const dead = freePort();
  const proxy = await startTestProxy(fakeBootstrap({
    clusters: { c: [dead, s.port] },
    routes: [{
      name: "r",
      route: { cluster: "c", retry_policy: { num_retries: { value: 2 }, retry_on: "connect-failure" } },
    }],
  }));
  const c = await FakeClient.connect(proxy.port);
  try {
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => c.call({ method: "m" }, `${i}`)));
    rs.forEach((r, i) => {
      assert.equal(r.frame.type, "response");
      assert.equal(r.payload, `${i}`);
    });
  } finally {
    await c.close();
    await proxy.close();
    await s.close();
  }
});

Deno.test("upstream: requests before the connection is up are queued and coalesced", async () => {
  const s = startFakeServer();
  const proxy = await startTestProxy(fakeBootstrap({ clusters: { c: [s.port] } }));
  const c = await FakeClient.connect(proxy.port);
  try {
    const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => c.call({ method: "m" }, `${i}`)));
    assert.deepEqual(rs.map((r) => r.payload), Array.from({ length: 100 }, (_, i) => `${i}`));
    assert.ok(s.connections() <= 2);
  } finally {
    await c.close();
    await proxy.close();
    await s.close();
  }
});

Deno.test("upstream: retry_policy retries a reset before any response on a fresh connection", async () => {
  let n = 0;
  const s = startFakeServer({ behaviour: () => (++n === 1 ? "close" : "answer") });
  const proxy = await startTestProxy(fakeBootstrap({
    clusters: { c: [s.port] },
    routes: [{
      name: "r",
      route: { cluster: "c", retry_policy: { num_retries: { value: 1 }, retry_on: "reset" } },
    }],
  }));
  const c = await FakeClient.connect(proxy.port);
  try {
    const r = await c.call({ method: "m" }, "again", 42);
    assert.equal(r.frame.type, "response");
    assert.equal(r.payload, "again");
    assert.equal(r.frame.requestId, 42);
    assert.equal(s.requests.length, 2);
  } finally {
    await c.close();
    await proxy.close();
    await s.close();
  }
});

Deno.test("upstream: route response_mutation is applied to responses", async () => {
  const s = startFakeServer();
  const proxy = await startTestProxy(fakeBootstrap({
    clusters: { c: [s.port] },
    routes: [{ name: "r", route: { cluster: "c" }, response_mutation: [{ key: "via", value: "metamesh" }] }],
  }));
  const c = await FakeClient.connect(proxy.port);
  try {
    const r = await c.call({ method: "m" }, "body", 7);
    assert.equal(r.frame.metadata.get("via"), "metamesh");
    assert.equal(r.frame.metadata.get("server"), "fake");
    assert.equal(r.payload, "body");
    assert.equal(r.frame.requestId, 7);
  } finally {
    await c.close();
    await proxy.close();
    await s.close();
  }
});
