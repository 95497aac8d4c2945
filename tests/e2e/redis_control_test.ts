/**
 * Issue #5 acceptance, Redis, end to end: Aeraki's `samples/redis/` RedisService/RedisDestination files copied
 * UNCHANGED into a config directory → the control plane (in-process, directory source) → a proxy configured
 * only over ADS (in-process `startProxy`, sidecar node `redis-client-1.redis`, the samples' client namespace) →
 * real redis-server processes on loopback.
 *
 * What a Kubernetes cluster would provide is added as "facts" (see `clusterFacts` in
 * tests/support/redis_mesh.ts): the two Services of `samples/redis/redis-single.yaml` and
 * `samples/redis/redis-cluster.yaml` as the API server returns them after `kubectl apply` (a ClusterIP assigned), and the EndpointSlices the endpoints controller writes for their pods.
 * Since there is no kube-proxy here, the "assigned" ClusterIPs are random loopback addresses (127.x.y.z; the
 * proxy's outbound listener `<clusterIP>_6379` is then reachable, and parallel runs do not collide), and the
 * endpoints are the real redis-servers' loopback ports. The sample Deployments/StatefulSet/ConfigMaps are not
 * copied: the control plane does not read them; the servers follow them (redis-single requires the password
 * `testredis` as its ConfigMap says; redis-cluster is a 6-node Redis Cluster, 3 masters + 3 replicas).
 *
 * One Redis Cluster, one control plane and one proxy serve every step; steps switch sample files in the watched
 * directory and wait until the proxy's `/config_dump` shows the new listener/cluster before asserting.
 *
 * @module
 */
import "../../codecs/builtin.ts";
import assert from "node:assert/strict";
import { waitFor } from "../support/net.ts";
import { type RedisCluster, startRedis, startRedisCluster } from "../support/redis_peer.ts";
import { CLUSTER, clusterFacts, NS, type Obj, PORT, RedisMesh, SINGLE } from "../support/redis_mesh.ts";

/** redis-single's `requirepass` (samples/redis/redis-single.yaml ConfigMap) = the sample Secret, trimmed. */
const SERVER_PASSWORD = "testredis";
/** samples/redis/client-side-password.yaml. */
const CLIENT_PASSWORD = "testredis123!";

/** `cmdstat_<command>` calls in an `INFO commandstats` reply. */
function commandCalls(info: string, command: string): number {
  return Number(info.match(new RegExp(`cmdstat_${command}:calls=(\\d+)`))?.[1] ?? 0);
}

/** The error message of a failed command, or `"ok"`. */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (error) {
    return (error as Error).message;
  }
}

Deno.test("redis control: server-side password (Secret) and client-side password samples", async (t) => {
  const single = await startRedis({ password: SERVER_PASSWORD });
  const mesh = await RedisMesh.start((ips) => clusterFacts(ips, single, undefined), []).catch(
    async (error) => {
      await single.close();
      throw error;
    },
  );
  try {
    await mesh.waitListener(SINGLE, (c) => c.prefix_routes !== undefined, "a redis_proxy");

    await t.step("server-side password: the Secret's password is sent upstream as AUTH", async () => {
      // Without the RedisDestination the proxy does not authenticate: redis-single refuses.
      assert.match(await outcome(mesh.client(SINGLE).set("k", "v")), /NOAUTH/);
      await mesh.apply("server-side-password.yaml");
      await mesh.waitCluster(
        `outbound|${PORT}||${SINGLE}`,
        (c) => c?.typed_extension_protocol_options !== undefined,
        "upstream auth",
      );
      const authBefore = commandCalls(await single.cli("INFO", "commandstats"), "auth");
      const c = mesh.client(SINGLE);
      assert.equal(await c.set("server-side:k", "v1"), "OK");
      assert.equal(await c.get("server-side:k"), "v1");
      assert.equal(await single.cli("GET", "server-side:k"), "v1");
      const authAfter = commandCalls(await single.cli("INFO", "commandstats"), "auth");
      assert.ok(
        authAfter > authBefore,
        `the proxy's AUTH reached redis-single (${authBefore} → ${authAfter})`,
      );
    });

    await t.step("client-side password: the proxy requires AUTH testredis123!", async () => {
      await mesh.with("client-side-password.yaml", async () => {
        await mesh.waitListener(SINGLE, (c) => c.downstream_auth_password !== undefined, "downstream auth");
        // No ready check: ioredis would send INFO before AUTH and give up on the NOAUTH.
        const anonymous = mesh.client(SINGLE, { enableReadyCheck: false });
        assert.equal(
          await outcome(anonymous.get("server-side:k")),
          "NOAUTH Authentication required.",
        );
        // The server's own password is not the proxy's.
        assert.match(await outcome(anonymous.auth(SERVER_PASSWORD)), /invalid password|WRONGPASS/);
        assert.equal(await anonymous.auth(CLIENT_PASSWORD), "OK");
        assert.equal(await anonymous.get("server-side:k"), "v1");
        const authed = mesh.client(SINGLE, { password: CLIENT_PASSWORD });
        assert.equal(await authed.set("client-side:k", "v2"), "OK");
        assert.equal(await single.cli("GET", "client-side:k"), "v2");
      });
      await mesh.waitListener(SINGLE, (c) => c.downstream_auth_password === undefined, "no downstream auth");
      assert.equal(await mesh.client(SINGLE).get("client-side:k"), "v2");
    });
  } finally {
    await mesh.close();
    await single.close();
  }
});

/** Reads `key` straight from the Redis Cluster (redis-cli -c follows MOVED). */
function clusterGet(cluster: RedisCluster, key: string): Promise<string> {
  return cluster.nodes[0].cli("-c", "GET", key);
}

Deno.test("redis control: routing, mirroring, faults, read policy, cluster mode samples (6-node cluster)", async (t) => {
  const single = await startRedis({ password: SERVER_PASSWORD });
  let cluster: RedisCluster | undefined;
  let mesh: RedisMesh | undefined;
  try {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    const nodes = cluster.nodes;
    // cluster.yaml: redis-cluster in Redis Cluster mode (every sample routing to it needs it);
    // server-side-password.yaml: the proxy can talk to redis-single (routing's catch-all, the mirror).
    mesh = await RedisMesh.start(
      (ips) => clusterFacts(ips, single, nodes),
      ["cluster.yaml", "server-side-password.yaml"],
    );
    const m = mesh;
    const cl = cluster;
    await m.waitCluster(
      `outbound|${PORT}||${CLUSTER}`,
      (c) => (c?.cluster_type as Obj | undefined)?.name === "envoy.clusters.redis",
      "Redis Cluster mode",
    );

    await t.step(
      "routing: keys with prefix `cluster` go to redis-cluster, others to redis-single",
      async () => {
        await m.with("routing.yaml", async () => {
          await m.waitListener(
            CLUSTER,
            (c) => ((c.prefix_routes as Obj).routes as Obj[] | undefined)?.length === 1,
            "the prefix route",
          );
          const c = m.client(CLUSTER);
          const keys = Array.from({ length: 20 }, (_, i) => i);
          for (const i of keys) {
            assert.equal(await c.set(`cluster:user:${i}`, `c${i}`), "OK");
            assert.equal(await c.set(`user:${i}`, `s${i}`), "OK");
          }
          for (const i of keys) {
            assert.equal(await c.get(`cluster:user:${i}`), `c${i}`);
            assert.equal(await c.get(`user:${i}`), `s${i}`);
          }
          // Checked on the servers themselves.
          for (const i of keys.slice(0, 8)) {
            assert.equal(await clusterGet(cl, `cluster:user:${i}`), `c${i}`);
            assert.equal(await single.cli("GET", `cluster:user:${i}`), "");
            assert.equal(await single.cli("GET", `user:${i}`), `s${i}`);
            assert.equal(await clusterGet(cl, `user:${i}`), "");
          }
          assert.equal(await single.cli("DBSIZE"), "20");
        });
      },
    );

    await t.step("mirroring: every command to redis-cluster is mirrored to redis-single", async () => {
      await m.with("traffic-mirroring.yaml", async () => {
        await m.waitListener(
          CLUSTER,
          (c) => ((c.prefix_routes as Obj).catch_all_route as Obj).request_mirror_policy !== undefined,
          "the mirror policy",
        );
        const c = m.client(CLUSTER);
        for (let i = 0; i < 20; i++) assert.equal(await c.set(`mirror:${i}`, `m${i}`), "OK");
        for (let i = 0; i < 20; i++) {
          assert.equal(await c.get(`mirror:${i}`), `m${i}`);
          await waitFor(
            async () => (await single.cli("GET", `mirror:${i}`)) === `m${i}`,
            2_000,
            `mirror:${i} on redis-single`,
          );
        }
        for (let i = 0; i < 5; i++) assert.equal(await clusterGet(cl, `mirror:${i}`), `m${i}`);
      });
    });

    await t.step("fault injection: 50 % of GET fail with an injected error, SET never", async () => {
      await m.with("fault-injection.yaml", async () => {
        await m.waitListener(CLUSTER, (c) => c.faults !== undefined, "the faults");
        const c = m.client(CLUSTER);
        assert.equal(await c.set("fault:k", "v"), "OK");
        const n = 400;
        const gets = await Promise.all(Array.from({ length: n }, () => outcome(c.get("fault:k"))));
        const injected = gets.filter((o) => o === "ERR Fault Injected: Error").length;
        assert.equal(gets.filter((o) => o === "ok").length + injected, n, `unexpected outcomes: ${gets}`);
        // Binomial(400, 0.5): σ = 10; ±60 is 6σ.
        assert.ok(injected > 140 && injected < 260, `${injected}/${n} GETs failed, expected about 50 %`);
        const sets = await Promise.all(
          Array.from({ length: 200 }, (_, i) => outcome(c.set(`fault:${i}`, "v"))),
        );
        assert.deepEqual(new Set(sets), new Set(["ok"]));
      });
    });

    await t.step("fault injection DELAY (not a sample: same shape, type DELAY 30 % 25 ms)", async () => {
      await Deno.writeTextFile(`${m.dir}/delay.yaml`, DELAY_FAULT);
      try {
        await m.waitListener(
          CLUSTER,
          (c) => (c.faults as Obj[] | undefined)?.[0]?.delay !== undefined,
          "the delay fault",
        );
        const c = m.client(CLUSTER);
        assert.equal(await c.set("delay:k", "v"), "OK");
        let delayed = 0;
        const n = 200;
        for (let i = 0; i < n; i++) {
          const started = performance.now();
          assert.equal(await c.get("delay:k"), "v");
          if (performance.now() - started >= 24) delayed++;
        }
        // Binomial(200, 0.3): mean 60, σ ≈ 6.5.
        assert.ok(delayed > 25 && delayed < 100, `${delayed}/${n} GETs delayed, expected about 30 %`);
      } finally {
        await Deno.remove(`${m.dir}/delay.yaml`);
      }
    });

    await t.step("read policy REPLICA: reads go to the replicas only", async () => {
      await m.with("read-policy.yaml", async () => {
        await m.waitListener(CLUSTER, (c) => (c.settings as Obj).read_policy === "REPLICA", "read_policy");
        const c = m.client(CLUSTER);
        for (let i = 0; i < 50; i++) assert.equal(await c.set(`read:${i}`, `r${i}`), "OK");
        for (const node of nodes) await node.cli("CONFIG", "RESETSTAT");
        const n = 300;
        const values = await Promise.all(Array.from({ length: n }, (_, i) => c.get(`read:${i % 50}`)));
        // A replica may lag a write by a moment: null is allowed, another value is not.
        assert.ok(values.every((v, i) => v === null || v === `r${i % 50}`));
        const gets = await Promise.all(
          nodes.map(async (node) => [node.role, commandCalls(await node.cli("INFO", "commandstats"), "get")]),
        );
        const on = (role: string) => gets.filter(([r]) => r === role).map(([, g]) => g as number);
        assert.deepEqual(on("master"), [0, 0, 0], "no GET on a master");
        assert.equal(on("replica").reduce((s, g) => s + g, 0), n, "every GET on a replica");
        assert.ok(on("replica").every((g) => g > 0), `all replicas serve reads: ${on("replica")}`);
      });
    });

    await t.step("cluster mode: keys spread over all masters; cross-slot MSET/MGET/DEL", async () => {
      await m.waitListener(
        CLUSTER,
        (c) =>
          c.faults === undefined && (c.settings as Obj).read_policy === undefined &&
          (c.prefix_routes as Obj).routes === undefined,
        "no RedisService",
      );
      const c = m.client(CLUSTER);
      assert.equal(await c.flushall(), "OK");
      const n = 300;
      const pipeline = c.pipeline();
      for (let i = 0; i < n; i++) pipeline.set(`spread:${i}`, String(i));
      const results = await pipeline.exec();
      assert.ok(results?.every(([err, r]) => err === null && r === "OK"));
      const sizes = await Promise.all(cl.masters().map(async (node) => Number(await node.cli("DBSIZE"))));
      assert.equal(sizes.reduce((a, b) => a + b, 0), n);
      assert.ok(sizes.every((s) => s > n / 6), `keys per master: ${sizes}`);
      const keys = Array.from({ length: 30 }, (_, i) => `multi:${i}`);
      assert.equal(await c.mset(...keys.flatMap((k, i) => [k, `v${i}`])), "OK");
      assert.deepEqual(await c.mget(...keys, "multi:absent"), [...keys.map((_, i) => `v${i}`), null]);
      for (const [i, k] of keys.slice(0, 6).entries()) assert.equal(await clusterGet(cl, k), `v${i}`);
      assert.equal(await c.exists(...keys), keys.length);
      assert.equal(await c.del(...keys), keys.length);
      assert.equal(await c.exists(...keys), 0);
      assert.equal(await c.dbsize(), n);
    });
  } finally {
    await mesh?.close();
    await cluster?.close();
    await single.close();
  }
});

/** Not an Aeraki sample: fault-injection.yaml with a DELAY fault (the samples only show ERROR). */
const DELAY_FAULT = `apiVersion: redis.aeraki.io/v1alpha1
kind: RedisService
metadata:
  name: redis-cluster
  namespace: ${NS}
spec:
  host:
    - ${CLUSTER}
  redis:
    - route:
        host: ${CLUSTER}
  faults:
    - type: DELAY
      percentage:
        value: 30
      delay: 0.025s
      commands:
        - GET
`;
