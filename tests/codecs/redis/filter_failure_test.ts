import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { slotOf } from "../../../codecs/redis/crc16.ts";
import { startRedisCluster } from "../../support/redis_peer.ts";
import { makeCluster, proxyConfig, startProxy } from "./_harness.ts";

const enc = new TextEncoder();

Deno.test("redis proxy: a dead Redis Cluster master fails its slots only, and is used again once restarted", async () => {
  // No replicas and partial coverage allowed, so the cluster keeps serving the other slots.
  const cluster = await startRedisCluster({
    masters: 3,
    replicasPerMaster: 0,
    extraArgs: ["--cluster-require-full-coverage", "no"],
  });
  const proxy = startProxy(
    proxyConfig("rc", { settings: { enable_redirection: true } }),
    [makeCluster("rc", cluster.nodes.map((n) => n.port), { redisCluster: true })],
  );
  const c = new Redis({
    host: "127.0.0.1",
    port: proxy.port,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    const keys = Array.from({ length: 300 }, (_, i) => `k:${i}`);
    await c.mset(...keys.flatMap((k) => [k, "v"]));
    const victim = cluster.nodes[1];
    const myself = (await victim.cli("cluster", "nodes")).split("\n").find((l) => l.includes("myself"))!;
    const ranges = myself.split(" ").slice(8).map((r) => r.split("-").map(Number));
    const onVictim = (key: string) => {
      const slot = slotOf(enc.encode(key));
      return ranges.some(([from, to]) => slot >= from && slot <= (to ?? from));
    };
    const victimSlots = new Set(keys.filter(onVictim).map((k) => slotOf(enc.encode(k))));

    await victim.kill();
    const results = await Promise.all(
      keys.map((k) => c.get(k).then((v) => ({ k, v, e: "" }), (e) => ({ k, v: null, e: String(e) }))),
    );
    for (const { k, v, e } of results) {
      if (victimSlots.has(slotOf(enc.encode(k)))) {
        assert.match(e, /upstream failure/, `${k} lives on the dead node`);
      } else assert.equal(v, "v", `${k} lives on a live node: ${e}`);
    }
    assert.ok(victimSlots.size > 50 && victimSlots.size < 250);
    await victim.start();
    const deadline = Date.now() + 10_000;
    for (;;) {
      const again = await Promise.all(keys.map((k) => c.get(k).catch(() => "error")));
      // The restarted node is empty (no persistence): its keys read as null, none fails.
      if (again.every((v) => v !== "error")) break;
      assert.ok(Date.now() < deadline, "recovered within 10 s");
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(await c.set("k:1", "back"), "OK");
    assert.equal(await c.get("k:1"), "back");
  } finally {
    c.disconnect();
    await proxy.close();
    await cluster.close();
  }
});
