import assert from "node:assert/strict";
import { compileAccessLog, compileFormat, FILE_ACCESS_LOG, type LogSink } from "../../proxy/access_log.ts";
import { FakeClient, startFakeServer } from "../support/fake_codec.ts";
import { fakeBootstrap, startTestProxy } from "./_harness.ts";

const entry = {
  startMs: Date.UTC(2024, 0, 2, 3, 4, 5, 6),
  headers: new Map([["x-request-id", "rid"], ["interface", "I"]]),
  respHeaders: new Map([["server", "s1"]]),
  responseCode: 0,
  bytesReceived: 10,
  bytesSent: 20,
  durationMs: 3.4,
  upstreamCluster: "c",
  upstreamHost: "127.0.0.1:1",
  downstreamRemote: "127.0.0.1:2",
  routeName: "r",
};

Deno.test("access log: operators, case-insensitive REQ/RESP, '-' for missing and unknown", () => {
  const f = compileFormat(
    "[%START_TIME%] %REQ(X-REQUEST-ID)% %REQ(Interface)% %REQ(NOPE)% %RESP(SERVER)% %RESPONSE_CODE% %RESPONSE_CODE_DETAILS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %UPSTREAM_CLUSTER% %UPSTREAM_HOST% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %ROUTE_NAME% %WHATEVER%",
  );
  assert.equal(
    f(entry),
    "[2024-01-02T03:04:05.006Z] rid I - s1 0 - 10 20 3 c 127.0.0.1:1 - 127.0.0.1:2 r -",
  );
});

Deno.test("access log: json_format and legacy format; one file sink per path", async () => {
  const path = await Deno.makeTempFile();
  const sinks = new Map<string, LogSink>();
  try {
    const json = compileAccessLog(
      {
        typed_config: {
          "@type": FILE_ACCESS_LOG,
          path,
          log_format: { json_format: { id: "%REQ(X-REQUEST-ID)%", code: "%RESPONSE_CODE%" } },
        },
      },
      { origin: "t", path: "access_log[0]" },
      sinks,
    );
    const legacy = compileAccessLog(
      { typed_config: { "@type": FILE_ACCESS_LOG, path, format: "%ROUTE_NAME%" } },
      { origin: "t", path: "x" },
      sinks,
    );
    json.log(entry);
    legacy.log(entry);
    assert.equal(sinks.size, 1);
    await sinks.get(path)!.close();
    assert.equal(await Deno.readTextFile(path), '{"id":"rid","code":"0"}\nr\n');
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("access log: one line per request through the proxy (response, no route, upstream failure)", async () => {
  const path = await Deno.makeTempFile();
  const s = startFakeServer();
  const proxy = await startTestProxy(fakeBootstrap({
    clusters: { c: [s.port], dead: [1] },
    routes: [
      { name: "ok", match: { metadata: [{ name: "method", exact_match: "ok" }] }, route: { cluster: "c" } },
      {
        name: "dead",
        match: { metadata: [{ name: "method", exact_match: "dead" }] },
        route: { cluster: "dead" },
      },
    ],
    filter: {
      access_log: [{
        name: "envoy.access_loggers.file",
        typed_config: {
          "@type": FILE_ACCESS_LOG,
          path,
          log_format: {
            text_format_source: {
              inline_string:
                "%REQ(METHOD)% %RESPONSE_CODE% %RESPONSE_CODE_DETAILS% %ROUTE_NAME% %RESP(SERVER)%\n",
            },
          },
        },
      }],
    },
  }));
  const c = await FakeClient.connect(proxy.port);
  try {
    await c.call({ method: "ok" });
    await c.call({ method: "none" });
    await c.call({ method: "dead" });
  } finally {
    await c.close();
    await proxy.close();
    await s.close();
  }
  const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
  await Deno.remove(path);
  assert.deepEqual(lines, [
    "ok 0 - ok fake",
    "none 1 no_matched_route - -",
    "dead 1 upstream_reset_before_response_started{connection_failure} dead -",
  ]);
});
