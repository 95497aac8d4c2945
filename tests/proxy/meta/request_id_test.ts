import assert from "node:assert/strict";
import { FakeClient, startFakeServer } from "../../support/fake_codec.ts";
import { fakeBootstrap, startTestProxy } from "../_harness.ts";

const ID = /^[0-9a-f-]{36}$/;

/** Sends two requests (plain, then with the client's own id) and returns what the upstream saw. */
async function seenUpstream(filter: Record<string, unknown>, routeMutation: boolean) {
  const a = startFakeServer();
  const proxy = await startTestProxy(fakeBootstrap({
    clusters: { ca: [a.port] },
    routes: [{
      name: "all",
      route: { cluster: "ca" },
      ...(routeMutation ? { request_mutation: [{ key: "foo1", value: "bar1" }] } : {}),
    }],
    filter,
  }));
  const c = await FakeClient.connect(proxy.port);
  try {
    await c.call({ method: "m" }, "x");
    await c.call({ method: "m", "x-request-id": "mine" }, "x");
    return a.requests.map((r) => r.meta.get("x-request-id"));
  } finally {
    await c.close();
    await proxy.close();
    await a.close();
  }
}

Deno.test("request id: not generated (no re-encode) when no log, tracing or route mutation uses it", async () => {
  assert.deepEqual(await seenUpstream({}, false), [undefined, "mine"]);
});

Deno.test("request id: generated and forwarded when the route mutates the request", async () => {
  const [generated, mine] = await seenUpstream({}, true);
  assert.match(generated!, ID);
  assert.equal(mine, "mine");
});

Deno.test("request id: generated and forwarded when an access log reads %REQ(X-REQUEST-ID)%", async () => {
  const log = (format: string) => ({
    access_log: [{
      name: "envoy.access_loggers.file",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
        path: "/dev/null",
        log_format: { text_format_source: { inline_string: format } },
      },
    }],
  });
  const [generated, mine] = await seenUpstream(log("%REQ(x-request-id)% %DURATION%\n"), false);
  assert.match(generated!, ID);
  assert.equal(mine, "mine");
  assert.deepEqual(await seenUpstream(log("%REQ(METHOD)% %DURATION%\n"), false), [undefined, "mine"]);
});
