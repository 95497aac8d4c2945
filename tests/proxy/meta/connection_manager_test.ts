import assert from "node:assert/strict";
import { FakeClient, fakeFrame, startFakeServer } from "../../support/fake_codec.ts";
import { fakeBootstrap, startTestProxy } from "../_harness.ts";

/** Resolves true when the proxy closes `conn` within `ms`. */
async function closedByPeer(conn: Deno.Conn, ms = 2000): Promise<boolean> {
  const buf = new Uint8Array(1024);
  const timer = setTimeout(() => conn.close(), ms);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) return true;
    }
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

async function withProxy(
  fn: (port: number, stats: (n: string) => number) => Promise<void>,
  filter: Record<string, unknown> = {},
): Promise<void> {
  const s = startFakeServer();
  const proxy = await startTestProxy(fakeBootstrap({ clusters: { c: [s.port] }, filter }));
  try {
    await fn(proxy.port, (n) => proxy.handle.stats.get(`meta_protocol.fake.test.${n}`));
  } finally {
    await proxy.close();
    await s.close();
  }
}

for (
  const [what, bytes] of [
    ["garbage", new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n")],
    ["bad magic", Uint8Array.from([0xab, 0, 0, 0, 20, 0, 0, 0, 0, 1, 0, 0])],
    ["an oversized length", Uint8Array.from([0xfa, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 0, 0])],
  ] as const
) {
  Deno.test(`connection manager: ${what} closes only that connection`, async () => {
    await withProxy(async (port, stat) => {
      const good = await FakeClient.connect(port);
      const bad = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        assert.equal((await good.call({ method: "m" }, "1")).payload, "1");
        await bad.write(bytes);
        assert.equal(await closedByPeer(bad), true);
        assert.equal((await good.call({ method: "m" }, "2")).payload, "2");
        assert.equal(stat("request_decoding_error"), 1);
      } finally {
        await good.close();
        try {
          bad.close();
        } catch { /* closed */ }
      }
    });
  });
}

Deno.test("connection manager: a frame split at every byte boundary is decoded once", async () => {
  await withProxy(async (port) => {
    const c = await FakeClient.connect(port);
    try {
      const frame = fakeFrame({ type: "request", id: 3, meta: { method: "m" }, payload: "split" });
      const pending = c.expect(3);
      for (const b of frame) {
        c.write(Uint8Array.of(b));
        await new Promise((r) => setTimeout(r, 1));
      }
      assert.equal((await pending).payload, "split");
      // two frames in one write, then a partial third completed later
      const f4 = fakeFrame({ type: "request", id: 4, meta: { method: "m" }, payload: "four" });
      const f5 = fakeFrame({ type: "request", id: 5, meta: { method: "m" }, payload: "five" });
      const f6 = fakeFrame({ type: "request", id: 6, meta: { method: "m" }, payload: "six" });
      const ps = [c.expect(4), c.expect(5), c.expect(6)];
      const joined = new Uint8Array(f4.length + f5.length + 7);
      joined.set(f4);
      joined.set(f5, f4.length);
      joined.set(f6.subarray(0, 7), f4.length + f5.length);
      c.write(joined);
      await new Promise((r) => setTimeout(r, 20));
      c.write(f6.subarray(7));
      assert.deepEqual((await Promise.all(ps)).map((r) => r.payload), ["four", "five", "six"]);
    } finally {
      await c.close();
    }
  });
});

Deno.test("connection manager: a client closing mid-frame does not disturb others", async () => {
  await withProxy(async (port, stat) => {
    const good = await FakeClient.connect(port);
    try {
      for (let i = 0; i < 5; i++) {
        const half = await Deno.connect({ hostname: "127.0.0.1", port });
        const f = fakeFrame({ type: "request", id: 1, meta: { method: "m" }, payload: "x".repeat(100) });
        await half.write(f.subarray(0, 30));
        half.close();
      }
      assert.equal((await good.call({ method: "m" }, "ok")).payload, "ok");
      assert.equal(stat("request_decoding_error"), 0);
    } finally {
      await good.close();
    }
  });
});

Deno.test("connection manager: idle_timeout closes a silent connection", async () => {
  await withProxy(async (port, stat) => {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    const t0 = performance.now();
    assert.equal(await closedByPeer(c, 3000), true);
    const took = performance.now() - t0;
    assert.ok(took >= 140 && took < 2000, `closed after ${took} ms`);
    assert.equal(stat("idle_timeout"), 1);
  }, { idle_timeout: { seconds: 0, nanos: 150_000_000 } });
});
