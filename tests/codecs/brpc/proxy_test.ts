/**
 * The brpc codec inside the proxy (in-process, free loopback ports) with real brpc peers: routes match
 * the `service` / `method` metadata, request mutations reach the upstream as `user_fields`, many
 * downstream calls share a few multiplexed upstream connections, and an unrouted call gets ENOSERVICE.
 */
import assert from "node:assert/strict";
import "../../../codecs/builtin.ts";
import { BRPC_CODEC_NAME } from "../../../codecs/brpc/mod.ts";
import { connectBrpcClient, startBrpcServer } from "../../support/brpc_peer.ts";
import { fakeBootstrap, startTestProxy } from "../../proxy/_harness.ts";
import { DEFAULT_MUX_CONNECTIONS } from "../../../proxy/upstream/pool.ts";

Deno.test("brpc through the proxy: routes by service and method, mutations as user_fields, multiplexed, ENOSERVICE when unrouted", async () => {
  const echo = startBrpcServer({ name: "echo", delayMs: (p) => (p.endsWith("0") ? 80 : 0) });
  const admin = startBrpcServer({ name: "admin" });
  const proxy = await startTestProxy(fakeBootstrap({
    codec: BRPC_CODEC_NAME,
    clusters: { echo: [echo.port], admin: [admin.port] },
    routes: [
      {
        name: "admin-reset",
        match: {
          metadata: [{ name: "service", exact_match: "example.AdminService" }, {
            name: "method",
            exact_match: "Reset",
          }],
        },
        route: { cluster: "admin" },
        request_mutation: [{ key: "x-route", value: "admin" }],
      },
      {
        name: "echo",
        match: { metadata: [{ name: "service", prefix_match: "example.Echo" }] },
        route: { cluster: "echo" },
        request_mutation: [{ key: "x-route", value: "echo" }],
      },
    ],
  }));
  const c = await connectBrpcClient(proxy.port);
  try {
    const ids = Array.from({ length: 30 }, (_, i) => i);
    const echoes = await Promise.all(ids.map((i) => c.call("example.EchoService", "Echo", `m${i}`)));
    assert.deepEqual(echoes.map((r) => r.payload), ids.map((i) => `echo:m${i}`));
    assert.ok(
      echo.calls.every((x) => x.userFields["x-route"] === "echo"),
      JSON.stringify(echo.calls[0], (_k, v) => typeof v === "bigint" ? String(v) : v),
    );
    // 30 concurrent calls share the pool's few multiplexed connections (answers out of order).
    assert.ok(echo.connections <= DEFAULT_MUX_CONNECTIONS, `${echo.connections} upstream connections`);
    const reset = await c.call("example.AdminService", "Reset", "now", { userFields: { tenant: "t1" } });
    assert.equal(reset.payload, "admin:now");
    const fields = admin.calls[0].userFields;
    assert.deepEqual([fields.tenant, fields["x-route"]], ["t1", "admin"]);
    assert.match(fields["x-request-id"], /^[0-9a-f-]{36}$/, "the router adds x-request-id when it mutates");
    // Same service, other method: no route → ENOSERVICE with the router's message, same correlation id.
    const none = await c.call("example.AdminService", "Drop", "x", { correlationId: 99n });
    assert.deepEqual([none.errorCode, none.correlationId], [1001, 99n]);
    assert.match(none.errorText, /no matched route/);
    assert.equal(admin.calls.length, 1);
    // The connection is still usable after the local reply.
    assert.equal((await c.call("example.EchoServiceV2", "Echo", "again")).payload, "echo:again");
  } finally {
    await c.close();
    await proxy.close();
    await echo.close();
    await admin.close();
  }
});
