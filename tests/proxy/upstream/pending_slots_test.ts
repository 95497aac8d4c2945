import assert from "node:assert/strict";
import { FakeClient, startFakeServer } from "../../support/fake_codec.ts";
import { fakeBootstrap, startTestProxy } from "../_harness.ts";

/** One shared upstream connection (max_connections 1) to `port`, route timeout `ms`. */
function oneConnection(port: number, ms: number) {
  return fakeBootstrap({
    clusters: {
      c: {
        type: "STATIC",
        circuit_breakers: { thresholds: [{ max_connections: 1 }] },
        load_assignment: {
          endpoints: [{
            lb_endpoints: [{
              endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } },
            }],
          }],
        },
      },
    },
    routes: [{ name: "r", route: { cluster: "c", timeout: { seconds: 0, nanos: ms * 1_000_000 } } }],
  });
}

Deno.test("upstream slots: 300 requests in flight on one connection, answered out of order, each gets its own reply", async () => {
  const s = startFakeServer({ delayMs: (r) => (r.id * 7919) % 40 }); // scrambled answer order
  const proxy = await startTestProxy(oneConnection(s.port, 5000));
  const c = await FakeClient.connect(proxy.port);
  try {
    const ids = Array.from({ length: 300 }, (_, i) => i + 1); // grows the slot table past its 64 start
    const rs = await Promise.all(ids.map((i) => c.call({ method: "m" }, `p${i}`, i)));
    assert.deepEqual(rs.map((r) => [Number(r.frame.requestId), r.payload]), ids.map((i) => [i, `p${i}`]));
    assert.equal(s.connections(), 1);
    const upstreamIds = new Set(s.requests.map((r) => r.id));
    assert.equal(upstreamIds.size, 300); // rewritten ids never collide while in flight
  } finally {
    await c.close();
    await proxy.close();
    await s.close();
  }
});

Deno.test("upstream slots: a timed-out request frees its slot; its late answer is dropped, the connection stays", async () => {
  const s = startFakeServer({ delayMs: (r) => (r.payload === "slow" ? 300 : 0) });
  const proxy = await startTestProxy(oneConnection(s.port, 100));
  const c = await FakeClient.connect(proxy.port);
  try {
    const slow = c.call({ method: "m" }, "slow", 1);
    const r = await slow;
    assert.equal(r.frame.metadata.get("error"), "timeout");
    await new Promise((res) => setTimeout(res, 300)); // the late answer arrives and is dropped
    const ok = await c.call({ method: "m" }, "fast", 2);
    assert.equal(ok.payload, "fast");
    assert.equal(Number(ok.frame.requestId), 2);
    assert.equal(s.connections(), 1);
  } finally {
    await c.close();
    await proxy.close();
    await s.close();
  }
});
