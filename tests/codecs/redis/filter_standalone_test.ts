import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { redisCli, type RedisNode, startRedis } from "../../support/redis_peer.ts";
import { makeCluster, proxyConfig, rawExchange, startProxy } from "./_harness.ts";

function client(port: number, extra: Record<string, unknown> = {}): Redis {
  return new Redis({ host: "127.0.0.1", port, maxRetriesPerRequest: 0, retryStrategy: () => null, ...extra });
}

async function withRedis(
  count: number,
  body: (nodes: RedisNode[]) => Promise<void>,
  password?: string,
): Promise<void> {
  const nodes = await Promise.all(Array.from({ length: count }, () => startRedis({ password })));
  try {
    await body(nodes);
  } finally {
    await Promise.all(nodes.map((n) => n.close()));
  }
}

function commandCalls(info: string, command: string): number {
  return Number(info.match(new RegExp(`cmdstat_${command}:calls=(\\d+)`))?.[1] ?? 0);
}

Deno.test("redis proxy serves ioredis and redis-cli, answers local commands, refuses unsafe ones by name", async () => {
  await withRedis(2, async ([a, b]) => {
    const proxy = startProxy(proxyConfig("plain"), [makeCluster("plain", [a.port, b.port])]);
    const c = client(proxy.port);
    try {
      const pipeline = c.pipeline();
      for (let i = 0; i < 200; i++) pipeline.set(`key:${i}`, `value:${i}`);
      for (let i = 0; i < 200; i++) pipeline.get(`key:${i}`);
      const results = await pipeline.exec();
      assert.deepEqual(
        results!.slice(200).map(([, v]) => v),
        Array.from({ length: 200 }, (_, i) => `value:${i}`),
      );
      // Keys are hashed over both endpoints, and the proxy's DBSIZE is their sum.
      const [sa, sb] = [Number(await a.cli("dbsize")), Number(await b.cli("dbsize"))];
      assert.ok(sa > 50 && sb > 50, `keys spread: ${sa}/${sb}`);
      assert.equal(await c.dbsize(), sa + sb);
      assert.deepEqual(await c.mget("key:1", "key:2", "nope"), ["value:1", "value:2", null]);
      assert.equal(await c.del("key:1", "key:2", "nope"), 2);
      assert.equal(await redisCli(proxy.port, ["get", "key:3"]), "value:3");
      assert.equal(await c.ping(), "PONG");
      assert.equal(await c.echo("hi"), "hi");
      assert.equal(await c.call("select", "0"), "OK");
      await assert.rejects(c.call("select", "1"), /DB index is out of range/);
      await assert.rejects(c.call("hello", "3"), /NOPROTO/);
      const hello = await c.call("hello", "2") as unknown[];
      assert.equal(hello[hello.indexOf("proto") + 1], 2);
      await assert.rejects(c.call("blpop", "q", "0"), /unsupported command 'blpop': blocking/);
      await assert.rejects(c.call("multi"), /unsupported command 'multi': transactions/);
      await assert.rejects(c.call("subscribe", "ch"), /unsupported command 'subscribe'/);
      await assert.rejects(c.call("eval", "return 1", "0"), /needs at least one key/);
      assert.equal(await c.call("eval", "return redis.call('get', KEYS[1])", "1", "key:4"), "value:4");
      assert.equal(await c.flushall(), "OK");
      assert.equal(await c.dbsize(), 0);
      assert.equal(await rawExchange(proxy.port, "PING\r\nECHO x\r\n", 300), "+PONG\r\n$1\r\nx\r\n");
    } finally {
      c.disconnect();
      await proxy.close();
    }
  });
});

Deno.test("redis proxy routes by longest prefix with remove_prefix and case_insensitive, mirrors writes only", async () => {
  await withRedis(3, async ([main, users, mirror]) => {
    const config = proxyConfig("main", {
      prefix_routes: {
        case_insensitive: true,
        routes: [
          { prefix: "user:", remove_prefix: true, cluster: "users" },
          {
            prefix: "user:vip:",
            cluster: "main",
            request_mirror_policy: [{ cluster: "mirror", exclude_read_commands: true }],
          },
        ],
        catch_all_route: { cluster: "main" },
      },
    });
    const clusters = [
      makeCluster("main", [main.port]),
      makeCluster("users", [users.port]),
      makeCluster("mirror", [mirror.port]),
    ];
    const proxy = startProxy(config, clusters);
    const c = client(proxy.port);
    try {
      await c.set("user:1", "alice");
      await c.set("USER:2", "bob");
      await c.set("user:vip:3", "carol");
      await c.set("other", "x");
      assert.equal(await users.cli("get", "1"), "alice");
      assert.equal(await users.cli("get", "2"), "bob");
      assert.equal(await main.cli("get", "user:vip:3"), "carol");
      assert.equal(await main.cli("get", "other"), "x");
      assert.equal(await main.cli("dbsize"), "2");
      assert.deepEqual(await c.mget("user:1", "other", "user:vip:3", "user:9"), [
        "alice",
        "x",
        "carol",
        null,
      ]);
      // Mirror: the write to user:vip:3 was copied, reads were not.
      await c.get("user:vip:3");
      await c.get("user:vip:3");
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await mirror.cli("get", "user:vip:3"), "carol");
      const stats = await mirror.cli("info", "commandstats");
      assert.equal(commandCalls(stats, "get"), 1, "only the redis-cli GET above reached the mirror");
      assert.equal(commandCalls(stats, "set"), 1);
    } finally {
      c.disconnect();
      await proxy.close();
    }
  });
});

Deno.test("redis proxy injects ERROR and DELAY faults by percentage and command", async () => {
  await withRedis(1, async ([a]) => {
    const config = proxyConfig("plain", {
      faults: [
        {
          fault_type: "ERROR",
          fault_enabled: { default_value: { numerator: 30, denominator: "HUNDRED" } },
          commands: ["GET"],
        },
        {
          fault_type: "DELAY",
          fault_enabled: { default_value: { numerator: 1000000, denominator: "MILLION" } },
          delay: { seconds: 0, nanos: 200_000_000 },
          commands: ["incr"],
        },
      ],
    });
    const proxy = startProxy(config, [makeCluster("plain", [a.port])]);
    const c = client(proxy.port);
    try {
      await c.set("k", "v");
      const pipeline = c.pipeline();
      for (let i = 0; i < 1000; i++) pipeline.get("k");
      const results = await pipeline.exec();
      const errors = results!.filter(([e]) => e !== null);
      assert.ok(errors.length > 220 && errors.length < 380, `about 30% errors, got ${errors.length}`);
      assert.match(String(errors[0][0]), /Fault Injected/);
      assert.ok(results!.every(([e, v]) => e !== null || v === "v"));
      const started = performance.now();
      const [incr, get] = await Promise.all([c.incr("n"), c.set("x", "1")]);
      assert.equal(incr, 1);
      assert.equal(get, "OK");
      assert.ok(performance.now() - started >= 190, "INCR delayed by 200 ms");
    } finally {
      c.disconnect();
      await proxy.close();
    }
  });
});

Deno.test("redis proxy requires downstream AUTH and authenticates upstream with the cluster's protocol options", async () => {
  await withRedis(1, async ([a]) => {
    const config = proxyConfig("secured", { downstream_auth_password: { inline_string: "down-secret" } });
    const proxy = startProxy(config, [makeCluster("secured", [a.port], { password: "up-secret" })]);
    const wrongUpstream = startProxy(proxyConfig("bad"), [
      makeCluster("bad", [a.port], { password: "nope" }),
    ]);
    try {
      assert.match(
        await rawExchange(proxy.port, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", 300),
        /^-NOAUTH/,
      );
      assert.equal(
        await rawExchange(proxy.port, "*2\r\n$4\r\nAUTH\r\n$5\r\nwrong\r\n", 300),
        "-ERR invalid password\r\n",
      );
      const c = client(proxy.port, { password: "down-secret" });
      try {
        assert.equal(await c.set("k", "v"), "OK");
        assert.equal(await a.cli("get", "k"), "v");
      } finally {
        c.disconnect();
      }
      assert.match(await rawExchange(wrongUpstream.port, "GET k\r\n", 500), /AUTH failed: WRONGPASS/);
    } finally {
      await proxy.close();
      await wrongUpstream.close();
    }
  }, "up-secret");
});

Deno.test("redis proxy closes only the offending connection on bad input", async () => {
  await withRedis(1, async ([a]) => {
    const proxy = startProxy(proxyConfig("plain"), [makeCluster("plain", [a.port])]);
    const good = client(proxy.port);
    try {
      await good.set("k", "v");
      const bad = [
        "*1\r\n$2147483648\r\n",
        "*10000000\r\n",
        "*1\r\n".repeat(40),
        "*1\r\n!garbage\r\n",
        "*2\r\n$3\r\nGET\r\n$5\r\nkX",
      ];
      const replies = await Promise.all(bad.map((b) => rawExchange(proxy.port, b, 1000)));
      for (const [i, reply] of replies.entries()) {
        if (i === 4) assert.equal(reply, "", "an incomplete command is simply dropped with the connection");
        else assert.match(reply, /^-ERR Protocol error: Cannot decode RESP/, `reply to bad input ${i}`);
        assert.equal(await good.get("k"), "v");
      }
      assert.equal(proxy.filter.stats.downstreamProtocolErrors, 4);
      // Pipelined good commands before the bad bytes are answered first, in order.
      assert.equal(
        await rawExchange(proxy.port, "GET k\r\n*1\r\n$-5\r\n", 1000),
        "$1\r\nv\r\n-ERR Protocol error: Cannot decode RESP: invalid length '-5'\r\n",
      );
    } finally {
      good.disconnect();
      await proxy.close();
    }
  });
});

Deno.test("redis proxy multiplexes many pipelining clients onto one upstream connection per node and recovers from an upstream restart", async () => {
  await withRedis(1, async ([a]) => {
    const proxy = startProxy(proxyConfig("plain"), [makeCluster("plain", [a.port])]);
    const clients = Array.from({ length: 50 }, () => client(proxy.port));
    try {
      await Promise.all(clients.map(async (c, n) => {
        const p = c.pipeline();
        for (let i = 0; i < 100; i++) p.set(`c${n}:${i}`, `${n}-${i}`).get(`c${n}:${i}`);
        const results = await p.exec();
        for (let i = 0; i < 100; i++) assert.equal(results![2 * i + 1][1], `${n}-${i}`);
      }));
      assert.deepEqual([...proxy.filter.upstreamConnections().get("plain")!.values()], [1]);
      const connected = Number((await a.cli("info", "clients")).match(/connected_clients:(\d+)/)![1]);
      assert.equal(connected, 2, "the proxy's one connection plus this redis-cli");
      // A slow reader does not stall the others.
      await clients[0].set("big", "x".repeat(100_000));
      const slow = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
      await slow.write(new TextEncoder().encode("GET big\r\n".repeat(200)));
      const started = performance.now();
      for (let i = 0; i < 20; i++) assert.equal(await clients[1].get("c1:0"), "1-0");
      // Stalled would mean never answered while the slow reader holds 20 MB of replies; the bound is loose for loaded machines.
      assert.ok(
        performance.now() - started < 3000,
        `others waited ${Math.round(performance.now() - started)} ms`,
      );
      slow.close();
      // Upstream restart: errors while it is down, served again once it is back.
      await a.kill();
      await assert.rejects(clients[2].get("c2:0"), /upstream failure/);
      await a.start();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await clients[2].set("again", "yes"), "OK");
      assert.equal(await clients[3].get("again"), "yes");
    } finally {
      for (const c of clients) c.disconnect();
      await proxy.close();
    }
  });
});
