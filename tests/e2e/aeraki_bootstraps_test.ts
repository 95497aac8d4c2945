/**
 * End to end with the Aeraki data-plane bootstraps no other test runs against real peers, each file
 * UNCHANGED: `main.ts --mode=proxy --config <file>` as a subprocess, real peers on the ports the file names.
 *
 * - brpc/test.yaml (listener 20000, admin 15000, upstream 20001): brpc calls reach the upstream with their
 *   service/method, attachments and errors come back, pipelined calls with out-of-order answers are
 *   matched (correlation ids rewritten, including a 64-bit one), a dead upstream gets a brpc error reply.
 * - idle_timeout/test.yaml (idle_timeout 5s): an idle downstream connection is closed after ~5 s; one
 *   that keeps sending stays open.
 * - hash_policy/test.yaml (Thrift, MAGLEV, hash on `method`, ONE endpoint 9091): every method always
 *   reaches that endpoint. (The file has a single endpoint, so "different keys spread" cannot be shown
 *   with it unchanged; MAGLEV spreading is covered in tests/proxy/lb_test.ts.)
 * - local-ratelimit/*.yaml (5 files, Thrift, route only for sayHello): the buckets and conditions each
 *   file declares — over-limit calls get a TApplicationException "has been rate limited", other calls
 *   the route-not-found one; the 5 s default bucket of the full-match file refills.
 *
 * The files fix their ports (9090/9091/8080 are shared with tests/e2e/thrift_aeraki_config_test.ts and
 * tests/proxy/dubbo_e2e_test.ts): everything here runs serially and waits for the ports to be free.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { type BrpcServer, connectBrpcClient, startBrpcServer } from "../support/brpc_peer.ts";
import { aerakiPath } from "../support/paths.ts";
import { retryPort, withProxyProcess } from "../support/proxy_process.ts";
import { connectHello, type HelloServer, startHelloServer } from "../support/thrift_hello.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
const thrift: Any = createRequire(import.meta.url)("thrift");

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs `body` with the proxy on the Aeraki file `file`, adding the proxy's output to a failure. */
function withProxy(file: string, port: number, body: () => Promise<void>): Promise<void> {
  return withProxyProcess(aerakiPath("dataplane-envoy-configs", file), port, body);
}

async function stats(adminPort: number): Promise<string> {
  return await (await fetch(`http://127.0.0.1:${adminPort}/stats`)).text();
}

function startBrpcUpstream(delayMs?: (payload: string) => number): Promise<BrpcServer> {
  return retryPort(
    "the brpc upstream on 20001",
    () => Promise.resolve(startBrpcServer({ name: "demo", port: 20001, delayMs })),
  );
}

Deno.test("aeraki brpc/test.yaml: brpc calls go through 20000 to 20001 with service/method, ids rewritten, errors native", async () => {
  // Answers to "slow-*" wait, so pipelined answers come back out of order.
  const upstream = await startBrpcUpstream((p) => (p.startsWith("slow") ? 150 : 0));
  let closed = false;
  try {
    await withProxy("brpc/test.yaml", 20000, async () => {
      const c = await connectBrpcClient(20000);
      try {
        const r = await c.call("example.EchoService", "Echo", "hello", { attachment: "ATT" });
        assert.deepEqual([r.errorCode, r.payload, r.attachment], [0, "demo:hello", "ATT"]);
        assert.deepEqual([upstream.calls[0].service, upstream.calls[0].method], [
          "example.EchoService",
          "Echo",
        ]);
        // The upstream's own error comes back as it was sent.
        const f = await c.call("example.EchoService", "Fail", "x");
        assert.deepEqual([f.errorCode, f.errorText], [2001, "demo failed"]);
        // Pipelined calls, answered out of order, each matched to its own correlation id; a 64-bit id
        // (10-byte varint) is rewritten to the proxy's upstream id and restored on the way back.
        const big = 0xfedcba9876543210n;
        const payloads = Array.from({ length: 20 }, (_, i) => (i % 2 ? `slow-${i}` : `fast-${i}`));
        const results = await Promise.all([
          ...payloads.map((p) => c.call("example.EchoService", "Echo", p)),
          c.call("example.OtherService", "Ping", "big", { correlationId: big }),
        ]);
        assert.deepEqual(results.map((x) => x.payload), [...payloads.map((p) => `demo:${p}`), "demo:big"]);
        assert.equal(results.at(-1)!.correlationId, big);
        const bigCall = upstream.calls.find((x) => x.payload === "big")!;
        assert.equal(bigCall.service, "example.OtherService");
        assert.notEqual(bigCall.correlationId, big, "the proxy sends its own upstream id");
        const text = await stats(15000);
        const prefix = "meta_protocol.brpc.outbound|20000||demo.brpc.server";
        assert.ok(text.includes(`${prefix}.request: 23\n`), text);
        // Upstream gone: a native brpc error (EFAILEDSOCKET), same correlation id, connection kept.
        await upstream.close();
        closed = true;
        const down = await c.call("example.EchoService", "Echo", "down", { correlationId: 4242n });
        assert.equal(down.errorCode, 1009);
        assert.equal(down.correlationId, 4242n);
      } finally {
        await c.close();
      }
    });
  } finally {
    if (!closed) await upstream.close();
  }
});

Deno.test("aeraki idle_timeout/test.yaml: an idle downstream connection is closed after 5 s, a busy one is kept", async () => {
  const upstream = await startBrpcUpstream();
  try {
    await withProxy("idle_timeout/test.yaml", 20000, async () => {
      const idle = await connectBrpcClient(20000);
      const busy = await connectBrpcClient(20000);
      try {
        assert.equal((await idle.call("s", "m", "once")).payload, "demo:once");
        const lastActivity = performance.now();
        let idleClosedAt = 0;
        const watched = idle.closed.then(() => (idleClosedAt = performance.now()));
        // The busy connection sends every 2 s (< 5 s), for 7 s in all.
        for (let i = 0; i < 4; i++) {
          assert.equal((await busy.call("s", "m", `tick${i}`)).payload, `demo:tick${i}`);
          if (i < 3) await sleep(2000);
        }
        await Promise.race([watched, sleep(3000)]);
        assert.ok(idleClosedAt > 0, "the idle connection was not closed");
        const after = idleClosedAt - lastActivity;
        assert.ok(after >= 4900 && after < 7500, `idle connection closed after ${after.toFixed(0)} ms`);
        assert.equal(
          (await busy.call("s", "m", "still")).payload,
          "demo:still",
          "the busy connection is open",
        );
        const text = await stats(15000);
        assert.ok(
          text.includes("meta_protocol.brpc.outbound|20000||demo.brpc.server.idle_timeout: 1\n"),
          text,
        );
      } finally {
        await idle.close();
        await busy.close();
      }
    });
  } finally {
    await upstream.close();
  }
});

/** The Hello upstream on 9091: `sayHello(n)` → `Hello n`, `sayGoodbye(n)` → `Bye n`; records calls. */
async function startHelloUpstream(): Promise<HelloServer> {
  const server = await startHelloServer({ transport: "framed", protocol: "binary", port: 9091 });
  assert.equal(server.port, 9091);
  return server;
}

/** Outcome of one Thrift call as a short word: the reply, `limited` or `no-route`. */
async function outcome(p: Promise<string>): Promise<string> {
  try {
    return await p;
  } catch (e) {
    assert.ok(e instanceof thrift.Thrift.TApplicationException, `expected TApplicationException, got ${e}`);
    const m = (e as Error).message;
    if (/has been rate limited/.test(m)) return "limited";
    if (/no matched route/.test(m)) return "no-route";
    return `other: ${m}`;
  }
}

/** Runs `body` with the Hello upstream and the proxy on a Thrift file, and a framed/binary client on 9090. */
async function withThriftFile(
  file: string,
  body: (client: Any, upstream: { calls: string[] }) => Promise<void>,
): Promise<void> {
  const upstream = await startHelloUpstream();
  try {
    await withProxy(file, 9090, async () => {
      const c = await connectHello({
        port: 9090,
        transport: "framed",
        protocol: "binary",
      });
      try {
        await body(c.client, upstream);
      } finally {
        await c.close();
      }
    });
  } finally {
    await upstream.close();
  }
}

/** Calls `method` `n` times in sequence; returns the outcomes. */
async function calls(client: Any, method: "sayHello" | "sayGoodbye", n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await outcome(client[method](`n${i}`)));
  return out;
}

const hello = (n: number) => Array.from({ length: n }, (_, i) => `Hello n${i}`);
const times = (n: number, s: string) => Array.from({ length: n }, () => s);

Deno.test("aeraki hash_policy/test.yaml: MAGLEV hashing on method sends every method to the file's one endpoint", async () => {
  await withThriftFile("hash_policy/test.yaml", async (client, upstream) => {
    // No route match in this file: both methods are routed, hashed by method, to 127.0.0.1:9091.
    for (let round = 0; round < 3; round++) {
      assert.deepEqual(await calls(client, "sayHello", 5), hello(5));
      assert.deepEqual(
        await calls(client, "sayGoodbye", 5),
        Array.from({ length: 5 }, (_, i) => `Bye n${i}`),
      );
    }
    assert.equal(upstream.calls.length, 30);
    const text = await stats(8080);
    assert.ok(
      text.includes(
        "meta_protocol.thrift.outbound|9090||thrift-sample-server.thrift.svc.cluster.local.request: 30\n",
      ),
      text,
    );
  });
});

const LRL = "local_rate_limit.outbound|9090||thrift-sample-server.thrift.svc.cluster.local";
const lrlStat = (text: string, name: "ok" | "rate_limited") =>
  Number(
    text.match(
      new RegExp(
        `meta_protocol\\.outbound\\|9090\\|\\|thrift-sample-server\\.thrift\\.svc\\.cluster\\.local\\.local_rate_limit\\.${name}: (\\d+)`,
      ),
    )?.[1],
  );

Deno.test("aeraki local-ratelimit/test-full-match-condition.yaml: sayHello bucket 2/30s, default bucket 5/5s refills", async () => {
  await withThriftFile("local-ratelimit/test-full-match-condition.yaml", async (client, upstream) => {
    const start = performance.now();
    assert.deepEqual(await calls(client, "sayHello", 3), [...hello(2), "limited"]);
    // sayGoodbye uses the default bucket (5 tokens) and then has no route.
    assert.deepEqual(await calls(client, "sayGoodbye", 6), [...times(5, "no-route"), "limited"]);
    assert.equal(upstream.calls.length, 2);
    const text = await stats(8080);
    assert.deepEqual([lrlStat(text, "ok"), lrlStat(text, "rate_limited")], [7, 2], `${LRL}\n${text}`);
    // After the default bucket's 5 s fill interval it has tokens again; the sayHello bucket (30 s) does not.
    await sleep(5200 - (performance.now() - start));
    assert.deepEqual(await calls(client, "sayGoodbye", 1), ["no-route"]);
    assert.deepEqual(await calls(client, "sayHello", 1), ["limited"]);
  });
});

Deno.test("aeraki local-ratelimit/test-full-no-matched-condition.yaml: the condition never matches, the default bucket 3/30s limits every method", async () => {
  await withThriftFile("local-ratelimit/test-full-no-matched-condition.yaml", async (client, upstream) => {
    assert.deepEqual(await calls(client, "sayHello", 2), hello(2));
    assert.deepEqual(await calls(client, "sayGoodbye", 2), ["no-route", "limited"]);
    assert.deepEqual(await calls(client, "sayHello", 1), ["limited"]);
    assert.equal(upstream.calls.length, 2);
  });
});

Deno.test("aeraki local-ratelimit/test-no-global-bucket-match-condition.yaml: only sayHello is limited (2/10s)", async () => {
  await withThriftFile(
    "local-ratelimit/test-no-global-bucket-match-condition.yaml",
    async (client, upstream) => {
      assert.deepEqual(await calls(client, "sayHello", 4), [...hello(2), "limited", "limited"]);
      assert.deepEqual(await calls(client, "sayGoodbye", 8), times(8, "no-route"));
      assert.equal(upstream.calls.length, 2);
    },
  );
});

Deno.test("aeraki local-ratelimit/test-no-global-bucket-no-matched-condition.yaml: nothing matches, nothing is limited", async () => {
  await withThriftFile(
    "local-ratelimit/test-no-global-bucket-no-matched-condition.yaml",
    async (client, upstream) => {
      assert.deepEqual(await calls(client, "sayHello", 12), hello(12));
      assert.deepEqual(await calls(client, "sayGoodbye", 3), times(3, "no-route"));
      assert.equal(upstream.calls.length, 12);
      const text = await stats(8080);
      assert.deepEqual([lrlStat(text, "ok"), lrlStat(text, "rate_limited")], [15, 0], text);
    },
  );
});

Deno.test("aeraki local-ratelimit/test-only-global-token.yaml: one bucket 2/30s for every request", async () => {
  await withThriftFile("local-ratelimit/test-only-global-token.yaml", async (client, upstream) => {
    assert.deepEqual(await calls(client, "sayGoodbye", 1), ["no-route"]);
    assert.deepEqual(await calls(client, "sayHello", 3), ["Hello n0", "limited", "limited"]);
    assert.deepEqual(await calls(client, "sayGoodbye", 1), ["limited"]);
    assert.equal(upstream.calls.length, 1);
  });
});
