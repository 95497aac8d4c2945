/**
 * End to end with Aeraki's own data-plane file, unchanged:
 * `main.ts --mode=proxy --config shared/aeraki/dataplane-envoy-configs/thrift/test.yaml` as a subprocess.
 * The file fixes its ports (listener 0.0.0.0:9090, admin 127.0.0.1:8080, upstream 127.0.0.1:9091); this
 * is the only test using 9090/9091, but 8080 is also the admin port of the Dubbo file's test, so startup
 * retries until the ports are free. The upstream is a real npm `thrift` server of the Aeraki sample IDL
 * (`tests/support/thrift/hello.thrift`); it records the THeader info headers it receives, so the file's
 * `request_mutation` (foo=bar, foo1=bar1) is checked on THeader calls.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { aerakiPath } from "../support/paths.ts";
import { type ProxyProcess, startProxyProcess } from "../support/proxy_process.ts";
import { connectHello, quietSeqIdWarnings, startHelloServer } from "../support/thrift_hello.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
const thrift: Any = createRequire(import.meta.url)("thrift");
quietSeqIdWarnings();

const CONFIG = aerakiPath("dataplane-envoy-configs/thrift/test.yaml");
const LISTENER_PORT = 9090;
const UPSTREAM_PORT = 9091;

Deno.test("thrift aeraki test.yaml: main.ts --mode=proxy routes sayHello to 9091, other methods get no route", async () => {
  const pairs = [
    { transport: "framed", protocol: "binary" },
    { transport: "header", protocol: "compact" },
  ] as const;
  for (const { transport, protocol } of pairs) {
    const upstream = await startHelloServer({ transport, protocol, port: UPSTREAM_PORT });
    assert.equal(upstream.port, UPSTREAM_PORT);
    let proxy: ProxyProcess | undefined;
    try {
      proxy = await startProxyProcess(CONFIG, LISTENER_PORT);
      const c = await connectHello({ port: LISTENER_PORT, transport, protocol });
      try {
        const label = `${transport}+${protocol}`;
        assert.equal(await c.client.sayHello("Aeraki"), "Hello Aeraki", label);
        // Other methods: route_not_found as a TApplicationException; the connection stays usable.
        await assert.rejects(c.client.sayGoodbye("Aeraki"), (e: unknown) => {
          assert.ok(
            e instanceof thrift.Thrift.TApplicationException,
            `${label}: expected TApplicationException, got ${e}`,
          );
          return true;
        });
        const names = Array.from({ length: 20 }, (_, i) => `n${i}`);
        assert.deepEqual(
          await Promise.all(names.map((n) => c.client.sayHello(n))),
          names.map((n) => `Hello ${n}`),
        );
        // Concurrent calls may spread over the proxy's shared upstream connections: compare as sets.
        assert.deepEqual(
          [...upstream.calls].sort(),
          ["sayHello:Aeraki", ...names.map((n) => `sayHello:${n}`)].sort(),
          label,
        );
        // The file's admin (127.0.0.1:8080) serves the MetaProtocolProxy counters under its stat_prefix.
        const stats = await (await fetch("http://127.0.0.1:8080/stats")).text();
        const prefix = "meta_protocol.thrift.outbound|9090||thrift-sample-server.thrift.svc.cluster.local";
        for (
          const [name, value] of [["request", 22], ["response_success", 21], [
            "local_response_business_exception",
            1,
          ]]
        ) {
          assert.ok(
            stats.includes(`${prefix}.${name}: ${value}\n`),
            `${label}: ${name} != ${value} in\n${stats}`,
          );
        }
        if (transport === "header") {
          // request_mutation foo=bar, foo1=bar1 lands in the THeader info headers the upstream reads.
          for (const h of upstream.headers) {
            assert.equal(h.foo, "bar", `${label}: ${JSON.stringify(h)}`);
            assert.equal(h.foo1, "bar1", `${label}: ${JSON.stringify(h)}`);
          }
          assert.equal(upstream.headers.length, upstream.calls.length);
        }
      } finally {
        await c.close();
      }
    } catch (error) {
      throw new Error(`${error}\n--- proxy output ---\n${proxy?.output() ?? "(not started)"}`);
    } finally {
      await proxy?.close();
      await upstream.close();
    }
  }
});
