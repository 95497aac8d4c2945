import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { redisCli, startRedisCluster } from "../../support/redis_peer.ts";
import { makeCluster, proxyConfig, startProxy } from "./_harness.ts";

function client(port: number): Redis {
  return new Redis({ host: "127.0.0.1", port, maxRetriesPerRequest: 0, retryStrategy: () => null });
}

function commandCalls(info: string, command: string): number {
  return Number(info.match(new RegExp(`cmdstat_${command}:calls=(\\d+)`))?.[1] ?? 0);
}

Deno.test("redis proxy in front of a 6-node Redis Cluster (3 masters, 3 replicas)", async (t) => {
  const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  const seeds = cluster.nodes.slice(0, 2).map((n) => n.port);
  const proxy = startProxy(proxyConfig("rc", { settings: { enable_redirection: true } }), [
    makeCluster("rc", seeds, { redisCluster: true }),
  ]);
  const c = client(proxy.port);
  try {
    await t.step("ioredis in non-cluster mode and redis-cli see one big Redis", async () => {
      const p = c.pipeline();
      for (let i = 0; i < 3000; i++) p.set(`key:${i}`, `v${i}`);
      await p.exec();
      const sizes = await Promise.all(cluster.masters().map(async (m) => Number(await m.cli("dbsize"))));
      assert.ok(sizes.every((s) => s > 800), `keys spread over the 3 masters: ${sizes}`);
      assert.equal(sizes.reduce((a, b) => a + b), 3000);
      assert.equal(await c.dbsize(), 3000);
      assert.equal(await redisCli(proxy.port, ["get", "key:77"]), "v77");
      assert.equal(await c.get("key:2999"), "v2999");
      // Many clients share one pipelined connection per master.
      const counts = proxy.filter.upstreamConnections().get("rc")!;
      assert.ok([...counts.values()].every((n) => n === 1), JSON.stringify([...counts]));
    });

    await t.step("MGET, MSET, DEL, EXISTS across slots are split and merged in order", async () => {
      const keys = Array.from({ length: 30 }, (_, i) => `multi:${i}`);
      assert.equal(await c.mset(...keys.flatMap((k) => [k, `val-${k}`])), "OK");
      assert.deepEqual(await c.mget(...keys, "missing"), [...keys.map((k) => `val-${k}`), null]);
      assert.equal(await c.exists(...keys.slice(0, 10), "missing"), 10);
      assert.equal(await c.del(...keys.slice(0, 10)), 10);
      assert.deepEqual(await c.mget(keys[0], keys[10]), [null, `val-${keys[10]}`]);
      assert.equal(await c.mset("{tag}a", "1", "{tag}b", "2"), "OK");
      assert.equal(
        await c.call("eval", "return redis.call('mget', KEYS[1], KEYS[2])", "2", "{tag}a", "{tag}b").then(
          String,
        ),
        "1,2",
      );
    });

    await t.step("read_policy REPLICA sends reads to replicas and writes to masters", async () => {
      const readProxy = startProxy(
        proxyConfig("rc2", { settings: { read_policy: "REPLICA" } }),
        [makeCluster("rc2", seeds, { redisCluster: true })],
      );
      const r = client(readProxy.port);
      try {
        await Promise.all(cluster.nodes.map((n) => n.cli("config", "resetstat")));
        const p = r.pipeline();
        for (let i = 0; i < 300; i++) p.get(`key:${i}`);
        const results = await p.exec();
        assert.ok(results!.every(([e, v], i) => e === null && v === `v${i}`));
        assert.equal(await r.set("written", "1"), "OK");
        const stats = await Promise.all(cluster.nodes.map((n) => n.cli("info", "commandstats")));
        const gets = (role: string) =>
          cluster.nodes.reduce((sum, n, i) => sum + (n.role === role ? commandCalls(stats[i], "get") : 0), 0);
        const sets = (role: string) =>
          cluster.nodes.reduce((sum, n, i) => sum + (n.role === role ? commandCalls(stats[i], "set") : 0), 0);
        assert.equal(gets("replica"), 300);
        assert.equal(gets("master"), 0);
        assert.equal(sets("master"), 1);
      } finally {
        r.disconnect();
        await readProxy.close();
      }
    });

    await t.step("MOVED/ASK during a live redis-cli --cluster reshard lose no command", async () => {
      const [from, to] = cluster.masters();
      const fromId = await from.cli("cluster", "myid");
      const toId = await to.cli("cluster", "myid");
      let stop = false;
      let ops = 0;
      const failures: string[] = [];
      const workers = Array.from({ length: 4 }, async (_, w) => {
        const wc = client(proxy.port);
        try {
          for (let i = 0; !stop; i++) {
            const key = `live:${w}:${i % 500}`;
            try {
              await wc.set(key, `${i}`);
              const got = await wc.get(key);
              if (got !== `${i}`) failures.push(`${key}: got ${got}, want ${i}`);
              ops += 2;
            } catch (error) {
              failures.push(`${key}: ${error}`);
            }
          }
        } finally {
          wc.disconnect();
        }
      });
      const reshard = await new Deno.Command("redis-cli", {
        args: [
          "--cluster",
          "reshard",
          `127.0.0.1:${from.port}`,
          "--cluster-from",
          fromId,
          "--cluster-to",
          toId,
          "--cluster-slots",
          "1000",
          "--cluster-yes",
          "--cluster-pipeline",
          "50",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      stop = true;
      await Promise.all(workers);
      assert.ok(reshard.success, new TextDecoder().decode(reshard.stderr));
      assert.deepEqual(failures, []);
      assert.ok(ops > 500, `ops during the reshard: ${ops}`);
      assert.ok(proxy.filter.stats.redirections > 0, "MOVED/ASK were met and followed");
      // The moved keys are read from their new owner.
      for (let i = 0; i < 3000; i += 97) assert.equal(await c.get(`key:${i}`), `v${i}`);
    });
  } finally {
    c.disconnect();
    await proxy.close();
    await cluster.close();
  }
});
