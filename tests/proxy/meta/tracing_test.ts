/**
 * MetaProtocol tracing to a tiny Zipkin HTTP collector (Deno.serve on a free loopback port): Zipkin v2
 * JSON spans in batches, B3 propagation in the request mutation, Envoy's UUID sampling; plus the sampling
 * arithmetic and the reporter's batching on fake timers.
 */
import assert from "node:assert/strict";
import { ClusterImpl, ClusterManager } from "../../../proxy/cluster_manager.ts";
import { Stats } from "../../../proxy/stats.ts";
import { decide, traceable, uuidSampled } from "../../../proxy/tracing/tracer.ts";
import { ZipkinReporter, type ZipkinSpan } from "../../../proxy/tracing/zipkin.ts";
import { FakeClient, startFakeServer } from "../../support/fake_codec.ts";
import { fakeBootstrap, startTestProxy, until } from "../_harness.ts";

type Obj = Record<string, unknown>;

function startCollector() {
  const batches: ZipkinSpan[][] = [];
  const hosts: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    if (req.method !== "POST" || new URL(req.url).pathname !== "/api/v2/spans") {
      return new Response("", { status: 404 });
    }
    hosts.push(req.headers.get("host") ?? "");
    batches.push(await req.json());
    return new Response("", { status: 202 });
  });
  return {
    port: server.addr.port,
    batches,
    hosts,
    spans: () => batches.flat(),
    close: () => server.shutdown(),
  };
}

function tracedBootstrap(upstream: number, collector: number, randomSampling: number): Obj {
  const b = fakeBootstrap({
    clusters: { "outbound|20880||svc": [upstream], zipkin: [collector] },
    filter: { tracing: { random_sampling: { value: randomSampling } } },
  });
  b.node = { id: "sidecar~10.0.0.1~c.ns~ns.svc.cluster.local", cluster: "consumer.ns" };
  ((b.static_resources as Obj).listeners as Obj[])[0].traffic_direction = "OUTBOUND";
  b.tracing = {
    http: {
      name: "envoy.tracers.zipkin",
      typed_config: {
        "@type": "type.googleapis.com/envoy.config.trace.v3.ZipkinConfig",
        collector_cluster: "zipkin",
        collector_endpoint: "/api/v2/spans",
        trace_id_128bit: true,
        collector_endpoint_version: "HTTP_JSON",
      },
    },
  };
  return b;
}

Deno.test("tracing: zipkin v2 JSON spans in one batch, B3 headers upstream, child of a client's B3 context", async () => {
  const collector = startCollector();
  const server = startFakeServer();
  const p = await startTestProxy(tracedBootstrap(server.port, collector.port, 100));
  const client = await FakeClient.connect(p.port);
  try {
    assert.equal(p.handle.warning, undefined); // bootstrap tracing (zipkin) and MetaProtocol tracing are implemented
    for (let i = 0; i < 4; i++) await client.call({ method: `m${i}`, user: "u" });
    await client.call({
      method: "child",
      "x-b3-traceid": "0af7651916cd43dd8448eb211c80319c",
      "x-b3-spanid": "b7ad6b7169203331",
    });
    // 5 spans = Envoy's min_flush_spans: one POST with all of them, no timer needed.
    await until(() => collector.spans().length === 5, 5000, "5 spans at the collector");
    assert.equal(collector.batches.length, 1);
    assert.equal(collector.hosts[0], `127.0.0.1:${collector.port}`); // fetch cannot send collector_hostname
    const spans = collector.spans();
    for (const [i, s] of spans.slice(0, 4).entries()) {
      const seen = server.requests[i].meta;
      assert.match(s.traceId, /^[0-9a-f]{32}$/);
      assert.match(s.id, /^[0-9a-f]{16}$/);
      assert.equal(s.parentId, undefined);
      assert.equal(s.name, `egress m${i}`);
      assert.equal(s.kind, "CLIENT");
      assert.equal(s.localEndpoint.serviceName, "consumer.ns");
      assert.ok(s.duration >= 1 && s.timestamp > 1.6e15, JSON.stringify(s));
      // Propagated upstream through the request mutation.
      assert.equal(seen.get("x-b3-traceid"), s.traceId);
      assert.equal(seen.get("x-b3-spanid"), s.id);
      assert.equal(seen.get("x-b3-sampled"), "1");
      const rid = seen.get("x-request-id")!;
      assert.equal(rid[14], "9"); // Envoy's "sampled" trace status packed into the generated UUID
      assert.equal(s.tags["guid:x-request-id"], rid);
      assert.equal(s.tags["upstream_cluster"], "outbound|20880||svc");
      assert.equal(s.tags["upstream_cluster.name"], "outbound|20880||svc");
      assert.equal(s.tags["request metadata: user"], "u");
      assert.equal(s.tags["response metadata: server"], "fake");
      assert.equal(s.tags["peer.address"], `127.0.0.1:${server.port}`);
      assert.equal(s.tags.component, "proxy");
      assert.equal(s.tags.node_id, "sidecar~10.0.0.1~c.ns~ns.svc.cluster.local");
      assert.equal(s.tags.error, undefined);
    }
    const child = spans[4];
    assert.equal(child.traceId, "0af7651916cd43dd8448eb211c80319c");
    assert.equal(child.parentId, "b7ad6b7169203331");
    const seen = server.requests[4].meta;
    assert.equal(seen.get("x-b3-parentspanid"), "b7ad6b7169203331");
    assert.equal(seen.get("x-b3-spanid"), child.id);
    // Counted when the collector's reply reaches the reporter, which may be after the spans arrived.
    await until(() => p.handle.stats.get("tracing.zipkin.spans_sent") === 5, 5000, "spans_sent = 5");
  } finally {
    await client.close();
    await p.close();
    await server.close();
    await collector.close();
  }
});

Deno.test("tracing: random_sampling 0 → nothing reported, B3 says sampled=0; an upstream error tags error=true", async () => {
  const collector = startCollector();
  const server = startFakeServer({
    behaviour: (r) => (r.meta.get("method") === "boom" ? "close" : "answer"),
  });
  const off = await startTestProxy(tracedBootstrap(server.port, collector.port, 0));
  const c1 = await FakeClient.connect(off.port);
  try {
    for (let i = 0; i < 6; i++) await c1.call({ method: "m" });
    const seen = server.requests.at(-1)!.meta;
    assert.equal(seen.get("x-b3-sampled"), "0");
    assert.equal(seen.get("x-request-id")![14], "4");
    // A client-forced decision (x-b3-sampled: 1) is honoured even at 0%.
    await c1.call({ method: "forced", "x-b3-sampled": "1" });
  } finally {
    await c1.close();
    await off.close(); // close flushes the buffer
  }
  assert.deepEqual(collector.spans().map((s) => s.name), ["egress forced"]);
  const on = await startTestProxy(tracedBootstrap(server.port, collector.port, 100));
  const c2 = await FakeClient.connect(on.port);
  try {
    const r = await c2.call({ method: "boom" });
    assert.equal(r.frame.type, "error");
  } finally {
    await c2.close();
    await on.close();
    await server.close();
    await collector.close();
  }
  const boom = collector.spans().find((s) => s.name === "egress boom")!;
  assert.equal(boom.tags.error, "true");
  assert.equal(boom.tags.response_size, "0");
});

Deno.test("tracing: Envoy's UUID sampling arithmetic and trace status", () => {
  const h = new Map<string, string>();
  // First 8 hex digits mod 10000 vs percent × 100.
  assert.equal(uuidSampled("00001387-0000-4000-8000-000000000000", 50), true); // 4999 < 5000
  assert.equal(uuidSampled("00001388-0000-4000-8000-000000000000", 50), false); // 5000
  const u = "00001388-0000-4000-8000-000000000000";
  assert.equal(decide(u, h, { client: 100, random: 50, overall: 100 })[14], "4");
  assert.equal(decide(u, h, { client: 100, random: 60, overall: 100 })[14], "9");
  assert.equal(decide(u, h, { client: 100, random: 60, overall: 40 })[14], "4"); // overall caps
  assert.equal(
    decide(u, new Map([["x-envoy-force-trace", "1"]]), { client: 100, random: 0, overall: 100 })[14],
    "a",
  );
  assert.equal(
    decide(u, new Map([["x-client-trace-id", "c"]]), { client: 100, random: 0, overall: 100 })[14],
    "b",
  );
  assert.equal(traceable("00001388-0000-9000-8000-000000000000"), true);
  assert.equal(traceable("00001388-0000-4000-8000-000000000000"), false);
});

Deno.test("tracing: the reporter batches by count and by a flush timer (fake timers), never blocks", async () => {
  const collector = startCollector();
  const clusters = new ClusterManager();
  clusters.apply([
    new ClusterImpl({
      name: "zipkin",
      type: "STATIC",
      load_assignment: {
        cluster_name: "zipkin",
        endpoints: [{
          lb_endpoints: [{
            endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: collector.port } } },
          }],
        }],
      },
    }, { origin: "test", path: "" }),
  ]);
  const pending: (() => void)[] = [];
  const timers = { set: (fn: () => void) => pending.push(fn), clear: () => {} };
  const stats = new Stats();
  const r = new ZipkinReporter(
    {
      collectorCluster: "zipkin",
      collectorEndpoint: "/api/v2/spans",
      collectorHostname: "zipkin",
      traceId128: false,
    },
    clusters,
    stats,
    { minFlushSpans: 3, timers },
  );
  const span = (id: string): ZipkinSpan => ({
    traceId: "1",
    id,
    name: "x",
    kind: "SERVER",
    timestamp: 1,
    duration: 1,
    localEndpoint: { serviceName: "s" },
    tags: {},
  });
  try {
    r.report(span("a"));
    assert.equal(pending.length, 1); // one timer armed for the first buffered span
    r.report(span("b"));
    assert.equal(r.buffered, 2);
    pending[0](); // the flush interval elapses
    assert.equal(r.buffered, 0);
    for (const id of ["c", "d", "e"]) r.report(span(id)); // count trigger
    assert.equal(r.buffered, 0);
    await until(() => collector.batches.length === 2, 5000, "two batches");
    assert.deepEqual(collector.batches.map((b) => b.map((s) => s.id)).sort(), [["a", "b"], ["c", "d", "e"]]);
    assert.equal(stats.get("tracing.zipkin.timer_flushed"), 1);
  } finally {
    await r.close();
    clusters.close();
    await collector.close();
  }
});
