import assert from "node:assert/strict";
import { LocalRateLimiter } from "../../../proxy/meta/local_ratelimit.ts";
import { Stats } from "../../../proxy/stats.ts";
import { FakeClient, startFakeServer } from "../../support/fake_codec.ts";
import { fakeBootstrap, startTestProxy } from "../_harness.ts";

const p = { origin: "t", path: "lrl" };

Deno.test("local rate limit: conditions pick their bucket, the default bucket catches the rest, refill by interval", () => {
  let now = 0;
  const stats = new Stats();
  const rl = new LocalRateLimiter(
    {
      stat_prefix: "lrl",
      token_bucket: { max_tokens: 2, tokens_per_fill: { value: 1 }, fill_interval: { seconds: 1 } },
      conditions: [{
        match: { metadata: [{ name: "method", exact_match: "hot" }] },
        token_bucket: { max_tokens: 1, tokens_per_fill: { value: 1 }, fill_interval: { seconds: 10 } },
      }],
    },
    p,
    stats,
    () => now,
  );
  const hot = new Map([["method", "hot"]]);
  const other = new Map([["method", "x"]]);
  assert.equal(rl.allow(hot), true);
  assert.equal(rl.allow(hot), false);
  assert.equal(rl.allow(other), true);
  assert.equal(rl.allow(other), true);
  assert.equal(rl.allow(other), false);
  now = 1000;
  assert.equal(rl.allow(other), true);
  assert.equal(rl.allow(hot), false);
  now = 10_000;
  assert.equal(rl.allow(hot), true);
  assert.equal(stats.get("meta_protocol.lrl.local_rate_limit.rate_limited"), 3);
  assert.equal(stats.get("meta_protocol.lrl.local_rate_limit.ok"), 5);
  assert.throws(
    () =>
      new LocalRateLimiter(
        { stat_prefix: "x", token_bucket: { max_tokens: 1, fill_interval: { nanos: 10_000_000 } } },
        p,
        stats,
      ),
    /fill_interval/,
  );
});

Deno.test("local rate limit: rejected requests get a rate_limited local reply through the proxy", async () => {
  const s = startFakeServer();
  const proxy = await startTestProxy(fakeBootstrap({
    clusters: { c: [s.port] },
    filter: {
      meta_protocol_filters: [
        {
          name: "aeraki.meta_protocol.filters.local_ratelimit",
          config: {
            "@type":
              "type.googleapis.com/aeraki.meta_protocol_proxy.filters.local_ratelimit.v1alpha.LocalRateLimit",
            stat_prefix: "lrl",
            token_bucket: { max_tokens: 3, tokens_per_fill: { value: 3 }, fill_interval: { seconds: 60 } },
          },
        },
        { name: "aeraki.meta_protocol.filters.router" },
      ],
    },
  }));
  const c = await FakeClient.connect(proxy.port);
  try {
    const rs = [];
    for (let i = 0; i < 5; i++) rs.push(await c.call({ method: "m" }, "", 100 + i));
    assert.deepEqual(rs.map((r) => r.frame.metadata.get("error") ?? "ok"), [
      "ok",
      "ok",
      "ok",
      "rate_limited",
      "rate_limited",
    ]);
    assert.equal(rs[4].frame.requestId, 104);
    assert.equal(
      rs[3].frame.metadata.get("message"),
      "meta protocol local rate limit: request '103' has been rate limited",
    );
    assert.equal(s.requests.length, 3);
  } finally {
    await c.close();
    await proxy.close();
    await s.close();
  }
});
