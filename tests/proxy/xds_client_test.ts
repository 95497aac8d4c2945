import assert from "node:assert/strict";
import { TypeUrls } from "../../crds/protos.ts";
import { SnapshotCache } from "../../control/xds/cache.ts";
import { type AdsServer, startAdsServer } from "../../control/xds/server.ts";
import { Snapshot } from "../../control/xds/snapshot.ts";
import { adsBootstrap } from "../../proxy/ads_bootstrap.ts";
import type { ResourceUpdate } from "../../proxy/run.ts";
import { adsTarget, startXdsClient } from "../../proxy/xds_client.ts";
import { FAKE_CODEC, FakeClient, startFakeServer } from "../support/fake_codec.ts";
import { freePort } from "../support/net.ts";
import { fakeBootstrap, startTestProxy, until } from "./_harness.ts";

type Obj = Record<string, unknown>;
const NODE_ID = "sidecar~10.0.0.7~app.demo~demo.svc.cluster.local";
const ADS = { ads: {}, resource_api_version: "V3" };
const MPP = "type.googleapis.com/aeraki.meta_protocol_proxy.v1alpha.MetaProtocolProxy";

/** An Istio-style bootstrap: ADS over a static cluster, LDS/CDS from ADS. */
function bootstrap(xdsPort: number): Obj {
  return adsBootstrap({
    xdsPort,
    node: { id: NODE_ID, cluster: "app.demo", metadata: { NAMESPACE: "demo" } },
  });
}

/** A MetaProtocol listener (fake codec) whose routes come over RDS, routing to an EDS cluster. */
function metaResources(listenerPort: number, backendPorts: number[], lbPolicy?: string) {
  return {
    listeners: [{
      name: "meta-in",
      address: { socket_address: { address: "127.0.0.1", port_value: listenerPort } },
      filter_chains: [{
        filters: [{
          name: "aeraki.meta_protocol_proxy",
          typed_config: {
            "@type": MPP,
            stat_prefix: "meta-in",
            protocol: { name: "fake", codec: { name: FAKE_CODEC } },
            rds: { config_source: ADS, route_config_name: "meta-route" },
          },
        }],
      }],
    }],
    routes: [{
      name: "meta-route",
      virtual_hosts: [{
        name: "dummy",
        domains: ["*"],
        routes: [{
          name: "to-backend",
          match: { prefix: "/", headers: [{ name: "service", string_match: { exact: "echo" } }] },
          route: { cluster: "backend" },
        }],
      }],
    }],
    clusters: [{
      name: "backend",
      type: "EDS",
      connect_timeout: { seconds: 1, nanos: 0 },
      eds_cluster_config: { eds_config: ADS, service_name: "backend-eds" },
      ...(lbPolicy ? { lb_policy: lbPolicy } : {}),
    }],
    endpoints: [{
      cluster_name: "backend-eds",
      endpoints: [{
        lb_endpoints: backendPorts.map((port) => ({
          endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } },
        })),
      }],
    }],
  };
}

async function adsOn(port: number, snapshot: Snapshot): Promise<{ server: AdsServer; cache: SnapshotCache }> {
  const cache = new SnapshotCache();
  cache.setSnapshot(NODE_ID, snapshot);
  return { server: await startAdsServer({ cache, port, hostname: "127.0.0.1", debounceMs: 10 }), cache };
}

Deno.test("adsTarget: envoy_grpc static cluster, pipe, google_grpc; config errors name the field", () => {
  assert.equal(adsTarget(bootstrap(15010), "b.yaml"), "127.0.0.1:15010");
  const piped = bootstrap(1) as { static_resources: { clusters: Obj[] } };
  piped.static_resources.clusters[0].load_assignment = {
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: "./etc/istio/proxy/XDS" } } } }] }],
  };
  assert.equal(adsTarget(piped, "b.yaml"), "unix:./etc/istio/proxy/XDS");
  assert.equal(
    adsTarget({
      dynamic_resources: { ads_config: { grpc_services: [{ google_grpc: { target_uri: "cp:15010" } }] } },
    }, "b"),
    "cp:15010",
  );
  assert.throws(
    () =>
      adsTarget({
        dynamic_resources: { ads_config: { grpc_services: [{ envoy_grpc: { cluster_name: "x" } }] } },
      }, "b.yaml"),
    /Cannot load config b\.yaml at dynamic_resources\.ads_config\.grpc_services\[0\]\.envoy_grpc\.cluster_name: no static cluster named 'x'/,
  );
});

Deno.test("xds client: applies CDS/EDS/LDS/RDS, NACKs an unappliable update, keeps config across a control-plane restart, resyncs", async () => {
  const port = freePort();
  const first = Snapshot.build(metaResources(20001, [30001]));
  let { server, cache } = await adsOn(port, first);
  const updates: ResourceUpdate[] = [];
  const sink = {
    applyResources(update: ResourceUpdate) {
      if (update.clusters?.some((c) => c.lb_policy === "MAGLEV")) {
        return "Cannot apply cluster 'backend': MAGLEV";
      }
      updates.push(update);
      return undefined;
    },
  };
  const logs: string[] = [];
  const client = startXdsClient({
    bootstrap: bootstrap(port),
    sink,
    log: (m) => logs.push(m),
    backoff: { initialMs: 50, maxMs: 200 },
  });
  try {
    await client.synced;
    await until(() => client.status().types.RDS.version !== "" && client.status().types.EDS.version !== "");
    const applied = (key: keyof ResourceUpdate) => updates.flatMap((u) => (u[key] ?? []) as Obj[]);
    assert.equal(applied("clusters")[0]["@type"], TypeUrls.cluster);
    assert.equal(applied("clusters")[0].name, "backend");
    assert.equal(applied("listeners")[0].name, "meta-in");
    assert.equal(applied("endpoints")[0].cluster_name, "backend-eds");
    assert.equal(applied("routes")[0].name, "meta-route");
    const status = client.status();
    assert.deepEqual(status.types.EDS.names, ["backend-eds"]);
    assert.deepEqual(status.types.RDS.names, ["meta-route"]);
    assert.equal(status.types.CDS.version, first.version(TypeUrls.cluster));
    await until(() =>
      Object.values(server.streams()[0]?.types ?? {}).filter((t) => t.ackedVersion).length === 4
    );
    const types = server.streams()[0].types;
    assert.equal(types.RDS.ackedVersion, first.version(TypeUrls.routes));
    assert.equal(server.streams()[0].nodeId, NODE_ID);

    // Unappliable: NACK reaches the server; the client keeps the old version.
    cache.setSnapshot(NODE_ID, Snapshot.build(metaResources(20001, [30001], "MAGLEV")));
    await until(() => server.metrics.get("nacks", TypeUrls.cluster) === 1, 5_000, "CDS NACK");
    const nack = server.streams()[0].types.CDS.lastNack!;
    assert.match(nack.message, /MAGLEV/);
    assert.equal(client.status().types.CDS.version, first.version(TypeUrls.cluster));
    assert.equal(client.status().nacks, 1);

    // Control plane gone: nothing is removed from the proxy.
    const before = updates.length;
    await server.close();
    await until(() => !client.status().connected, 2_000, "disconnect");
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(updates.length, before, "no updates while disconnected");
    assert.equal(client.status().types.LDS.resources.length, 1);

    // Restart with only the endpoints changed: the client resubscribes with its accepted versions, so only
    // EDS is sent again.
    const moved = Snapshot.build(metaResources(20001, [30002]));
    ({ server, cache } = await adsOn(port, moved));
    await until(
      () => client.status().types.EDS.version === moved.version(TypeUrls.endpoints),
      5_000,
      "resync",
    );
    assert.ok(client.status().reconnects >= 1);
    const last = updates.at(-1)!;
    assert.match(JSON.stringify(last.endpoints), /30002/);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(server.metrics.get("pushes", TypeUrls.cluster), 0, "CDS not resent: same version");
    assert.equal(server.metrics.get("pushes", TypeUrls.listener), 0, "LDS not resent: same version");
    assert.equal(server.metrics.get("pushes", TypeUrls.endpoints), 1);
    assert.ok(logs.some((l) => l.includes("keeping the last config")));
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("xds client + real proxy: a MetaProtocol listener, its RDS routes and EDS endpoints arrive over ADS and serve traffic", async () => {
  const echoA = startFakeServer({ name: "a" });
  const echoB = startFakeServer({ name: "b" });
  const listenerPort = freePort();
  const cache = new SnapshotCache();
  cache.setSnapshot(NODE_ID, Snapshot.build(metaResources(listenerPort, [echoA.port])));
  const server = await startAdsServer({ cache, port: 0, hostname: "127.0.0.1", debounceMs: 10 });
  const proxy = await startTestProxy(bootstrap(server.port));
  const client = proxy.handle.xds!; // started by the proxy itself: the bootstrap has ADS
  let conn: FakeClient | undefined;
  try {
    await client.synced;
    await until(() => client.status().types.EDS.version !== "" && client.status().types.RDS.version !== "");
    assert.equal(proxy.handle.listeners.get("meta-in"), listenerPort);
    conn = await FakeClient.connect(listenerPort);
    const reply = await conn.call({ service: "echo" }, "ping");
    assert.equal(reply.payload, "ping");
    assert.equal(reply.frame.metadata.get("server"), "a");

    // New endpoints over EDS: new connections go to b.
    const next = Snapshot.build(metaResources(listenerPort, [echoB.port]));
    cache.setSnapshot(NODE_ID, next);
    await until(() => client.status().types.EDS.version === next.version(TypeUrls.endpoints), 3_000, "EDS");
    await conn.close();
    conn = await FakeClient.connect(listenerPort);
    const moved = await conn.call({ service: "echo" }, "pong");
    assert.equal(moved.frame.metadata.get("server"), "b");
  } finally {
    await conn?.close();
    await proxy.close();
    await server.close();
    await echoA.close();
    await echoB.close();
  }
});

Deno.test("xds client + real proxy: static listener with Aeraki-style MetaRDS (api_config_source → StreamRoutes)", async () => {
  const echo = startFakeServer({ name: "static" });
  const cache = new SnapshotCache();
  const route = metaResources(0, []).routes[0] as { virtual_hosts: { routes: { route: Obj }[] }[] };
  route.virtual_hosts[0].routes[0].route = { cluster: "upstream" };
  cache.setSnapshot(
    "test-node",
    Snapshot.build({ routes: [route] }),
  );
  const server = await startAdsServer({ cache, port: 0, hostname: "127.0.0.1", debounceMs: 10 });
  // As in shared/aeraki/dataplane-envoy-configs/rds/test.yaml: no ADS, RDS from cluster aeraki_xds_server.
  const boot = fakeBootstrap({
    clusters: { upstream: [echo.port], aeraki_xds_server: [server.port] },
    filter: {
      rds: {
        route_config_name: "meta-route",
        config_source: {
          resource_api_version: "V3",
          api_config_source: {
            api_type: "GRPC",
            transport_api_version: "V3",
            grpc_services: [{ envoy_grpc: { cluster_name: "aeraki_xds_server" } }],
          },
        },
      },
    },
  });
  const proxy = await startTestProxy(boot);
  const client = proxy.handle.xds!; // started by the proxy itself: the listener's routes come over RDS
  let conn: FakeClient | undefined;
  try {
    await until(() => client.status().channels[0]?.types.RDS.version !== "", 5_000, "MetaRDS");
    const [channel] = client.status().channels;
    assert.equal(channel.target, `127.0.0.1:${server.port}`);
    assert.deepEqual(channel.types.RDS.resources, ["meta-route"]);
    conn = await FakeClient.connect(proxy.port);
    const reply = await conn.call({ service: "echo" }, "via rds");
    assert.equal(reply.frame.metadata.get("server"), "static");
    assert.equal(server.metrics.get("acks", TypeUrls.routes), 1);
  } finally {
    await conn?.close();
    await proxy.close();
    await server.close();
    await echo.close();
  }
});
