/**
 * Issue #2 acceptance: `main.ts --mode=proxy` on Aeraki's unchanged dubbo/test.yaml, real Dubbo frames.
 * This file owns the bootstrap's fixed ports (20880 listener, 8080 admin, 20881 primary, 20882 mirror):
 * every test using them lives here, so they never run concurrently.
 */
import assert from "node:assert/strict";
import {
  DubboClient,
  type DubboClient as Client,
  type DubboServer,
  startDubboServer,
} from "../support/dubbo_peer.ts";
import { waitForPort } from "../support/net.ts";
import { aerakiPath, repoRoot } from "../support/paths.ts";

const IFACE = "org.apache.dubbo.samples.basic.api.DemoService";
const LOG_LINE =
  /^\[\d{4}-\d\d-\d\dT[^\]]+\] "[0-9a-f-]{36} dubbo org\.apache\.dubbo\.samples\.basic\.api\.DemoService (\S+) (\d|-) /;

interface ProxyProcess {
  stdout: string[];
  stderr: string[];
  stop(): Promise<void>;
}

function startProxyProcess(): ProxyProcess {
  const child = new Deno.Command(`${repoRoot}/node_modules/.bin/deno`, {
    args: [
      "run",
      "-A",
      "main.ts",
      "--mode=proxy",
      "--config",
      aerakiPath("dataplane-envoy-configs", "dubbo", "test.yaml"),
    ],
    cwd: repoRoot,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout: string[] = [];
  const stderr: string[] = [];
  const pump = async (stream: ReadableStream<Uint8Array>, into: string[]) => {
    const dec = new TextDecoder();
    let rest = "";
    for await (const chunk of stream) {
      const lines = (rest + dec.decode(chunk, { stream: true })).split("\n");
      rest = lines.pop()!;
      into.push(...lines);
    }
    if (rest) into.push(rest);
  };
  const pumps = [pump(child.stdout, stdout), pump(child.stderr, stderr)];
  return {
    stdout,
    stderr,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* exited */ }
      await child.status;
      await Promise.all(pumps);
    },
  };
}

function hello(
  c: Client,
  name: string,
  attachments: Record<string, unknown> = { foo: "bar" },
  method = "sayHello",
) {
  return c.call({ interface: IFACE, method, args: [name], attachments });
}

async function settle(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

Deno.test("dubbo e2e: main.ts --mode=proxy on Aeraki's unchanged dubbo/test.yaml", async (t) => {
  const primary: DubboServer = await startDubboServer({
    port: 20881,
    name: "primary",
    delayMs: (r) => (String(r.args[0]).startsWith("ooo") ? Math.floor(Math.random() * 6) : 0),
    onRequest: (r) => (r.args[0] === "hang" ? "silent" : "reply"),
  });
  const mirror: DubboServer = await startDubboServer({ port: 20882, name: "mirror" });
  const proxy = startProxyProcess();
  const clients: Client[] = [];
  const connect = async () => {
    const c = await DubboClient.connect(20880);
    clients.push(c);
    return c;
  };
  try {
    await waitForPort(20880, 20_000);

    await t.step("startup: one warning listing unsupported config (stats_config only)", () => {
      const warnings = proxy.stderr.filter((l) => l.includes("unsupported config"));
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /stats_config/);
      // Implemented: zipkin tracing, metadata_exchange, istio_stats.
      assert.doesNotMatch(warnings[0], /tracing|metadata_exchange|istio_stats/);
    });

    await t.step(
      "sayHello with foo=bar reaches 20881 with mutated attachments foo=bar, foo1=bar1",
      async () => {
        const c = await connect();
        const r = await hello(c, "world");
        assert.equal(r.status, 20);
        assert.equal(r.value, "sayHello(world) from primary");
        const seen = primary.requests.at(-1)!;
        assert.equal(seen.interface, IFACE);
        assert.equal(seen.method, "sayHello");
        assert.equal(seen.attachments.foo, "bar");
        assert.equal(seen.attachments.foo1, "bar1");
        assert.match(String(seen.attachments["x-request-id"]), /^[0-9a-f-]{36}$/);
        await settle(() => proxy.stdout.some((l) => LOG_LINE.test(l)));
        await new Promise((r) => setTimeout(r, 50));
        const lines = proxy.stdout.filter((l) => LOG_LINE.test(l));
        assert.equal(lines.length, 1);
        assert.ok(lines[0].includes(String(seen.attachments["x-request-id"])));
      },
    );

    await t.step(
      "1,000 requests: 30–70% mirrored to 20882, the client sees only the primary; one log line each",
      async () => {
        const c = await connect();
        const logBefore = proxy.stdout.filter((l) => LOG_LINE.test(l)).length;
        const mirBefore = mirror.requests.length;
        const primBefore = primary.requests.length;
        const rs = await Promise.all(Array.from({ length: 1000 }, (_, i) => hello(c, `m${i}`)));
        rs.forEach((r, i) => assert.equal(r.value, `sayHello(m${i}) from primary`));
        await settle(() => proxy.stdout.filter((l) => LOG_LINE.test(l)).length >= logBefore + 1000);
        const mirrored = mirror.requests.length - mirBefore;
        assert.ok(mirrored >= 300 && mirrored <= 700, `mirrored ${mirrored}`);
        assert.equal(primary.requests.length - primBefore, 1000);
        const lines = proxy.stdout.filter((l) => LOG_LINE.test(l));
        assert.equal(lines.length - logBefore, 1000);
        const last = lines.at(-1)!;
        assert.match(
          last,
          /sayHello 0 - - "-" \d+ \d+ \d+ - outbound\|20880\|\|org\.apache\.dubbo\.samples\.basic\.api\.demoservice 127\.0\.0\.1:\d+ 127\.0\.0\.1:20880 127\.0\.0\.1:\d+ default-route$/,
        );
        // mirrored copies carry the same mutation
        assert.equal(mirror.requests.at(-1)!.attachments.foo1, "bar1");
      },
    );

    await t.step(
      "no route → Dubbo error response with the request's own id; the connection stays usable",
      async () => {
        const c = await connect();
        const before = primary.requests.length;
        const miss = await hello(c, "x", { foo: "baz" });
        assert.notEqual(miss.status, 20);
        assert.match(String(miss.value), /^meta protocol router: no matched route for request '\d+'$/);
        assert.equal(miss.requestId, 1);
        const other = await hello(c, "y", { foo: "bar" }, "sayGoodbye");
        assert.notEqual(other.status, 20);
        assert.equal(other.requestId, 2);
        const ok = await hello(c, "z");
        assert.equal(ok.value, "sayHello(z) from primary");
        assert.equal(primary.requests.length, before + 1);
        await settle(() => proxy.stdout.some((l) => / 1 no_matched_route /.test(l)));
        assert.ok(proxy.stdout.some((l) => / 1 no_matched_route /.test(l)));
      },
    );

    await t.step(
      "2,000 requests from 50 connections, out of order upstream, through a handful of connections",
      async () => {
        const cs = await Promise.all(Array.from({ length: 50 }, () => connect()));
        let wrong = 0;
        await Promise.all(cs.map((c, ci) =>
          Promise.all(Array.from({ length: 40 }, async (_, i) => {
            const r = await hello(c, `ooo-${ci}-${i}`);
            if (r.value !== `sayHello(ooo-${ci}-${i}) from primary`) wrong++;
          }))
        ));
        assert.equal(wrong, 0);
        assert.ok(primary.connections <= 4, `primary saw ${primary.connections} connections`);
        assert.ok(mirror.connections <= 4, `mirror saw ${mirror.connections} connections`);
      },
    );

    await t.step("bad input closes only the offending connection", async () => {
      const good = await connect();
      const bads = [
        new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"),
        Uint8Array.from([0xde, 0xad, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]),
        Uint8Array.from([0xda, 0xbb, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff]),
      ];
      for (const bytes of bads) {
        const bad = await Deno.connect({ hostname: "127.0.0.1", port: 20880 });
        await bad.write(bytes);
        const buf = new Uint8Array(256);
        let closed = false;
        try {
          for (;;) if ((await bad.read(buf)) === null) break;
          closed = true;
        } catch {
          /* reset counts as closed */ closed = true;
        }
        bad.close();
        assert.ok(closed);
      }
      const half = await Deno.connect({ hostname: "127.0.0.1", port: 20880 });
      await half.write(Uint8Array.from([0xda, 0xbb, 0xc2, 0, 0, 0, 0, 0]));
      half.close();
      assert.equal((await hello(good, "still")).value, "sayHello(still) from primary");
    });

    await t.step(
      "the upstream dying mid-request → every pending request gets an error response",
      async () => {
        const c = await connect();
        const before = primary.requests.length;
        const pending = Array.from({ length: 6 }, () => hello(c, "hang"));
        await settle(() => primary.requests.length >= before + 6);
        await primary.close(); // the provider dies with six requests in flight
        const rs = await Promise.all(pending);
        for (const r of rs) {
          assert.notEqual(r.status, 20);
          assert.match(String(r.value), /^meta protocol upstream request: /);
        }
        assert.deepEqual(rs.map((r) => r.requestId), [1, 2, 3, 4, 5, 6]);
      },
    );

    await t.step("the upstream refusing connections → error responses, the proxy keeps serving", async () => {
      const c = await connect();
      const r = await hello(c, "refused");
      assert.notEqual(r.status, 20);
      assert.match(String(r.value), /connection failure/);
      const r2 = await hello(c, "refused-again");
      assert.notEqual(r2.status, 20);
      assert.equal(r2.requestId, 2);
    });
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await proxy.stop();
    await primary.close();
    await mirror.close();
  }
});
