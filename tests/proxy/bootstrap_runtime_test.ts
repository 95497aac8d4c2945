import assert from "node:assert/strict";
import { FakeClient, startFakeServer } from "../support/fake_codec.ts";
import { fakeBootstrap, startTestProxy } from "./_harness.ts";

const META = "type.googleapis.com/aeraki.meta_protocol_proxy.v1alpha.MetaProtocolProxy";

function cla(name: string, ports: number[]) {
  return {
    cluster_name: name,
    endpoints: [{
      lb_endpoints: ports.map((p) => ({
        endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: p } } },
      })),
    }],
  };
}

function httpRoutes(name: string, cluster: string) {
  return {
    name,
    virtual_hosts: [{
      name: "dummy",
      domains: ["*"],
      routes: [{ name: "r", match: { prefix: "/" }, route: { cluster } }],
    }],
  };
}

Deno.test("applyResources: EDS cluster + RDS routes arrive over xDS; a bad update is NACKed and the old config kept", async () => {
  const a = startFakeServer({ name: "a" });
  const b = startFakeServer({ name: "b" });
  const bootstrap = fakeBootstrap({
    clusters: {
      eds: { type: "EDS", eds_cluster_config: { service_name: "eds" }, connect_timeout: { seconds: 1 } },
    },
    filter: { rds: { route_config_name: "meta-routes", config_source: { ads: {} } } },
  });
  const proxy = await startTestProxy(bootstrap);
  const c = await FakeClient.connect(proxy.port);
  try {
    // no routes yet → route_not_found
    assert.equal((await c.call({ method: "m" })).frame.metadata.get("error"), "route_not_found");
    assert.equal(proxy.handle.applyResources({ routes: [httpRoutes("meta-routes", "eds")] }), undefined);
    // routes but no endpoints → no_healthy_upstream
    assert.equal((await c.call({ method: "m" })).frame.metadata.get("error"), "no_healthy_upstream");
    assert.equal(proxy.handle.applyResources({ endpoints: [cla("eds", [a.port])] }), undefined);
    assert.equal((await c.call({ method: "m" })).frame.metadata.get("server"), "a");
    // a bad update (one good cluster, one invalid) is rejected as a whole
    const err = proxy.handle.applyResources({
      origin: "xds:CDS",
      clusters: [{ name: "fine", type: "STATIC" }, { name: "broken", type: "ORIGINAL_DST" }],
      endpoints: [cla("eds", [b.port])],
    });
    assert.match(err!, /xds:CDS/);
    assert.match(err!, /clusters\[1\]\.type/);
    assert.equal((await c.call({ method: "m" })).frame.metadata.get("server"), "a");
    // a good one switches endpoints
    assert.equal(proxy.handle.applyResources({ endpoints: [cla("eds", [b.port])] }), undefined);
    assert.equal((await c.call({ method: "m" })).frame.metadata.get("server"), "b");
  } finally {
    await c.close();
    await proxy.close();
    await a.close();
    await b.close();
  }
});

Deno.test("applyResources: LDS adds and removes listeners; a filter update keeps the port and drains open connections", async () => {
  const a = startFakeServer({ name: "a" });
  const proxy = await startTestProxy(fakeBootstrap({ clusters: { ca: [a.port] } }));
  try {
    const listener = (name: string, cluster: string, prefix: string) => ({
      name,
      address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
      filter_chains: [{
        filters: [{
          name: "aeraki.meta_protocol_proxy",
          typed_config: {
            "@type": META,
            stat_prefix: prefix,
            protocol: { name: "fake", codec: { name: "metamesh.codec.fake" } },
            route_config: { routes: [{ route: { cluster } }] },
          },
        }],
      }],
    });
    assert.equal(proxy.handle.applyResources({ listeners: [listener("extra", "ca", "x1")] }), undefined);
    const port = proxy.handle.listeners.get("extra")!;
    const c = await FakeClient.connect(port);
    assert.equal((await c.call({ method: "m" })).frame.metadata.get("server"), "a");
    assert.equal(proxy.handle.applyResources({ listeners: [listener("extra", "nope", "x2")] }), undefined);
    assert.equal(proxy.handle.listeners.get("extra"), port);
    // The update drains: the open connection is not dropped and finishes on the config it started with…
    assert.equal((await c.call({ method: "m" })).frame.metadata.get("server"), "a");
    await c.close();
    // …while new connections get the new config.
    const c2 = await FakeClient.connect(port);
    assert.equal((await c2.call({ method: "m" })).frame.metadata.get("error"), "cluster_not_found");
    await c2.close();
    // an unknown codec is a NACK naming the field
    const bad = listener("bad", "ca", "x3");
    (bad.filter_chains[0].filters[0].typed_config.protocol.codec as { name: string }).name = "no.such.codec";
    assert.match(proxy.handle.applyResources({ listeners: [bad] })!, /protocol\.codec.*no\.such\.codec/);
    assert.equal(proxy.handle.listeners.has("bad"), false);
    assert.equal(proxy.handle.applyResources({ removedListeners: ["extra"] }), undefined);
    assert.equal(proxy.handle.listeners.has("extra"), false);
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }));
  } finally {
    await proxy.close();
    await a.close();
  }
});

Deno.test("startup: config errors name the origin and field path; unsupported fields make one warning", async () => {
  const bootstrap = fakeBootstrap({ clusters: { c: [1] } });
  const sr = bootstrap.static_resources as { clusters: Record<string, unknown>[] };
  sr.clusters[0].lb_policy = "CLUSTER_PROVIDED";
  await assert.rejects(
    startTestProxy(bootstrap),
    (e: Error) =>
      e instanceof TypeError && /test/.test(e.message) &&
      /static_resources\.clusters\[0\]\.lb_policy/.test(e.message),
  );
  const ok = fakeBootstrap({ clusters: { c: [1] } });
  (ok as Record<string, unknown>).stats_config = {};
  (ok.static_resources as { clusters: Record<string, unknown>[] }).clusters[0].health_checks = [];
  const proxy = await startTestProxy(ok);
  try {
    const warnings = proxy.logs.filter((l) => l.includes("unsupported"));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /stats_config/);
    assert.match(warnings[0], /clusters\[0\]\.health_checks/);
  } finally {
    await proxy.close();
  }
});

Deno.test("clusters: STRICT_DNS with localhost resolves and serves", async () => {
  const a = startFakeServer({ name: "dns" });
  const proxy = await startTestProxy(fakeBootstrap({
    clusters: {
      c: {
        type: "STRICT_DNS",
        connect_timeout: { seconds: 1 },
        load_assignment: {
          cluster_name: "c",
          endpoints: [{
            lb_endpoints: [{
              endpoint: { address: { socket_address: { address: "localhost", port_value: a.port } } },
            }],
          }],
        },
      },
    },
  }));
  const c = await FakeClient.connect(proxy.port);
  try {
    assert.equal((await c.call({ method: "m" })).frame.metadata.get("server"), "dns");
  } finally {
    await c.close();
    await proxy.close();
    await a.close();
  }
});

Deno.test("clusters: a custom cluster_type takes lb_policy CLUSTER_PROVIDED and hostname seeds", async () => {
  const a = startFakeServer({ name: "seeded" });
  const proxy = await startTestProxy(fakeBootstrap({
    clusters: {
      c: {
        cluster_type: {
          name: "envoy.clusters.redis",
          typed_config: { "@type": "type.googleapis.com/google.protobuf.Struct" },
        },
        lb_policy: "CLUSTER_PROVIDED",
        load_assignment: {
          cluster_name: "c",
          endpoints: [{
            lb_endpoints: [{
              endpoint: { address: { socket_address: { address: "localhost", port_value: a.port } } },
            }],
          }],
        },
      },
    },
  }));
  const c = await FakeClient.connect(proxy.port);
  try {
    assert.ok(!proxy.logs.some((l) => /cluster_type/.test(l)), proxy.logs.join("\n"));
    assert.equal((await c.call({ method: "m" })).frame.metadata.get("server"), "seeded");
  } finally {
    await c.close();
    await proxy.close();
    await a.close();
  }
});

Deno.test("admin: /ready, /stats, /stats/prometheus, /config_dump, /clusters", async () => {
  const a = startFakeServer();
  const proxy = await startTestProxy(fakeBootstrap({ clusters: { c: [a.port] }, admin: true }));
  const c = await FakeClient.connect(proxy.port);
  try {
    await c.call({ method: "m" });
    const base = `http://127.0.0.1:${proxy.handle.adminPort}`;
    const get = async (p: string) => {
      const r = await fetch(base + p);
      return [r.status, await r.text()] as const;
    };
    assert.deepEqual(await get("/ready"), [200, "LIVE\n"]);
    const [, stats] = await get("/stats");
    assert.match(stats, /^meta_protocol\.fake\.test\.request: 1$/m);
    assert.match(stats, /^meta_protocol\.fake\.test\.request_active: 0$/m);
    assert.match(stats, /^cluster\.c\.upstream_cx_total: 1$/m);
    const [, prom] = await get("/stats/prometheus");
    assert.match(prom, /^envoy_meta_protocol_fake_test_request 1$/m);
    const [, dump] = await get("/config_dump");
    assert.equal(JSON.parse(dump).clusters[0].name, "c");
    const [, clusters] = await get("/clusters");
    assert.match(clusters, new RegExp(`^c::127\\.0\\.0\\.1:${a.port}::cx_active::1$`, "m"));
    assert.equal((await get("/nope"))[0], 404);
  } finally {
    await c.close();
    await proxy.close();
    await a.close();
  }
});

Deno.test("applyResources: an endpoint leaving EDS has its upstream connections drained", async () => {
  const a = startFakeServer({ name: "a" });
  const b = startFakeServer({ name: "b" });
  const proxy = await startTestProxy(fakeBootstrap({
    clusters: { eds: { type: "EDS", connect_timeout: { seconds: 1 } } },
  }));
  const c = await FakeClient.connect(proxy.port);
  try {
    assert.equal(proxy.handle.applyResources({ endpoints: [cla("eds", [a.port])] }), undefined);
    assert.equal((await c.call({ method: "m" })).frame.metadata.get("server"), "a");
    assert.equal(proxy.handle.upstreamConnections().get(`eds::127.0.0.1:${a.port}`), 1);
    assert.equal(proxy.handle.applyResources({ endpoints: [cla("eds", [b.port])] }), undefined);
    assert.equal(proxy.handle.upstreamConnections().has(`eds::127.0.0.1:${a.port}`), false);
    assert.equal((await c.call({ method: "m" })).frame.metadata.get("server"), "b");
  } finally {
    await c.close();
    await proxy.close();
    await a.close();
    await b.close();
  }
});
