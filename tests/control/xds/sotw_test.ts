import assert from "node:assert/strict";
import { TypeUrls } from "../../../crds/protos.ts";
import { SnapshotCache } from "../../../control/xds/cache.ts";
import type { LogLevel } from "../../../control/xds/log.ts";
import { RDS_SERVICE, startAdsServer } from "../../../control/xds/server.ts";
import { adsClient, edsCluster, loadAssignment, RawAdsStream, serviceSet, snapshotOf } from "./fixtures.ts";

const NODE = { id: "sidecar~10.0.0.1~a.ns~ns.svc.cluster.local", cluster: "test" };

async function setup() {
  const lines: [LogLevel, string][] = [];
  const cache = new SnapshotCache({ log: (level, message) => lines.push([level, message]) });
  const server = await startAdsServer({
    cache,
    port: 0,
    hostname: "127.0.0.1",
    debounceMs: 20,
    log: (level, message) => lines.push([level, message]),
  });
  const client = adsClient(server.port);
  const stream = new RawAdsStream(client, false);
  return {
    cache,
    server,
    stream,
    lines,
    async [Symbol.asyncDispose]() {
      await stream.close();
      client.close();
      await server.close();
    },
  };
}

Deno.test("SotW: wildcard CDS, ACK, nonce per stream, no response on ACK", async () => {
  await using t = await setup();
  const snap = snapshotOf(serviceSet("a", 1001), serviceSet("b", 1002));
  assert.equal(t.cache.setSnapshot(NODE.id, snap), true);

  t.stream.send({ node: NODE, type_url: TypeUrls.cluster });
  const first = await t.stream.next();
  assert.equal(first.raw.type_url, TypeUrls.cluster);
  assert.equal(first.raw.version_info, snap.version(TypeUrls.cluster));
  assert.equal(first.raw.nonce, "1");
  assert.deepEqual(first.resources.map((r) => r.name).sort(), ["a-cluster", "b-cluster"]);

  t.stream.send({ type_url: TypeUrls.cluster, version_info: first.raw.version_info, response_nonce: "1" });
  t.stream.send({ type_url: TypeUrls.endpoints, resource_names: ["a-eds"] });
  const eds = await t.stream.next();
  assert.equal(eds.raw.nonce, "2", "nonces increase per stream, across types");
  assert.deepEqual(eds.resources.map((r) => r.cluster_name), ["a-eds"]);
  t.stream.send({
    type_url: TypeUrls.endpoints,
    resource_names: ["a-eds"],
    version_info: eds.raw.version_info,
    response_nonce: "2",
  });
  await t.stream.none(150);

  const [status] = t.server.streams();
  assert.equal(status.nodeId, NODE.id);
  assert.equal(status.types.CDS.ackedVersion, snap.version(TypeUrls.cluster));
  assert.equal(status.types.EDS.ackedVersion, snap.version(TypeUrls.endpoints));
  assert.deepEqual(status.types.EDS.subscribed, ["a-eds"]);
  assert.equal(status.types.CDS.subscribed, "*");
  assert.equal(t.server.metrics.get("acks", TypeUrls.cluster), 1);
  assert.equal(t.server.metrics.get("pushes", TypeUrls.endpoints), 1);
});

Deno.test("SotW: subscription change answers; unchanged snapshot pushes nothing; changed type only", async () => {
  await using t = await setup();
  const a = serviceSet("a", 1001);
  const b = serviceSet("b", 1002);
  t.cache.setSnapshot(NODE.id, snapshotOf(a, b));
  t.stream.send({ node: NODE, type_url: TypeUrls.cluster });
  const cds = await t.stream.next();
  t.stream.send({
    type_url: TypeUrls.cluster,
    version_info: cds.raw.version_info,
    response_nonce: cds.raw.nonce,
  });
  t.stream.send({ type_url: TypeUrls.endpoints, resource_names: ["a-eds"] });
  let eds = await t.stream.next();
  t.stream.send({
    type_url: TypeUrls.endpoints,
    resource_names: ["a-eds"],
    version_info: eds.raw.version_info,
    response_nonce: eds.raw.nonce,
  });

  // Adding a name to the subscription answers with the new one only (EDS/RDS responses carry changes).
  t.stream.send({
    type_url: TypeUrls.endpoints,
    resource_names: ["a-eds", "b-eds"],
    version_info: eds.raw.version_info,
    response_nonce: eds.raw.nonce,
  });
  eds = await t.stream.next();
  assert.deepEqual(eds.resources.map((r) => r.cluster_name), ["b-eds"]);
  t.stream.send({
    type_url: TypeUrls.endpoints,
    resource_names: ["a-eds", "b-eds"],
    version_info: eds.raw.version_info,
    response_nonce: eds.raw.nonce,
  });

  // The same content rebuilt (new objects) has the same versions: nothing is pushed.
  t.cache.setSnapshot(NODE.id, snapshotOf(serviceSet("a", 1001), serviceSet("b", 1002)));
  await t.stream.none(200);

  // Only EDS changes: only EDS is pushed.
  const moved = { ...b, endpoints: [loadAssignment("b-eds", 2002)] };
  t.cache.setSnapshot(NODE.id, snapshotOf(a, moved));
  const push = await t.stream.next();
  assert.equal(push.raw.type_url, TypeUrls.endpoints);
  assert.notEqual(push.raw.version_info, eds.raw.version_info);
  assert.deepEqual(push.resources.map((r) => r.cluster_name), ["b-eds"]);
  const ports = push.resources.map((r) => JSON.stringify(r)).join();
  assert.match(ports, /2002/);
  await t.stream.none(150);
});

Deno.test("SotW: NACK is logged and counted, not resent; stale nonce ignored; next change is pushed", async () => {
  await using t = await setup();
  t.cache.setSnapshot(NODE.id, snapshotOf(serviceSet("a", 1001)));
  t.stream.send({ node: NODE, type_url: TypeUrls.cluster });
  const good = await t.stream.next();
  t.stream.send({
    type_url: TypeUrls.cluster,
    version_info: good.raw.version_info,
    response_nonce: good.raw.nonce,
  });

  const bad = { ...serviceSet("a", 1001), clusters: [edsCluster("a-cluster", "a-eds", "MAGLEV")] };
  t.cache.setSnapshot(NODE.id, snapshotOf(bad));
  const pushed = await t.stream.next();
  t.stream.send({
    type_url: TypeUrls.cluster,
    version_info: good.raw.version_info,
    response_nonce: pushed.raw.nonce,
    error_detail: { code: 3, message: "lb_policy MAGLEV unsupported" },
  });
  await t.stream.none(200);
  const [status] = t.server.streams();
  assert.equal(status.types.CDS.ackedVersion, good.raw.version_info, "the node keeps its last good version");
  assert.equal(status.types.CDS.lastNack?.message, "lb_policy MAGLEV unsupported");
  assert.equal(status.types.CDS.lastNack?.version, pushed.raw.version_info);
  assert.equal(t.server.metrics.get("nacks", TypeUrls.cluster), 1);
  const logged = t.lines.find(([level, m]) => level === "warn" && m.includes("NACK"));
  assert.ok(logged, "NACK logged");
  assert.match(logged[1], new RegExp(`node '${NODE.id.replaceAll(".", "\\.")}'.*CDS.*MAGLEV`));

  // A request carrying an old nonce is ignored (no response, no ACK recorded).
  t.stream.send({ type_url: TypeUrls.cluster, resource_names: ["x"], response_nonce: good.raw.nonce });
  await t.stream.none(150);
  assert.equal(t.server.metrics.get("stale", TypeUrls.cluster), 1);

  // Fixed content goes out.
  t.cache.setSnapshot(NODE.id, snapshotOf(serviceSet("a", 1003)));
  const fixed = await t.stream.next();
  assert.equal(fixed.raw.type_url, TypeUrls.cluster);
  assert.equal(fixed.resources[0].lb_policy, "ROUND_ROBIN");
});

Deno.test("SotW: a resynchronising client holding the current version gets nothing until a change", async () => {
  await using t = await setup();
  const snap = snapshotOf(serviceSet("a", 1001));
  t.cache.setSnapshot(NODE.id, snap);
  t.stream.send({ node: NODE, type_url: TypeUrls.cluster, version_info: snap.version(TypeUrls.cluster) });
  await t.stream.none(150);
  t.cache.setSnapshot(NODE.id, snapshotOf(serviceSet("a", 1001), serviceSet("b", 1002)));
  const push = await t.stream.next();
  assert.deepEqual(push.resources.map((r) => r.name).sort(), ["a-cluster", "b-cluster"]);
});

Deno.test("SotW: a request before any snapshot is answered once the snapshot arrives", async () => {
  await using t = await setup();
  t.stream.send({ node: NODE, type_url: TypeUrls.listener });
  await t.stream.none(100);
  t.cache.setSnapshot(NODE.id, snapshotOf(serviceSet("a", 1001)));
  const lds = await t.stream.next();
  assert.deepEqual(lds.resources.map((r) => r.name), ["a"]);
});

Deno.test("MetaRDS: RouteDiscoveryService/StreamRoutes serves RouteConfigurations by name (Aeraki's non-ADS RDS)", async () => {
  await using t = await setup();
  const snap = snapshotOf(serviceSet("a", 1001), serviceSet("b", 1002));
  t.cache.setSnapshot(NODE.id, snap);
  const client = adsClient(t.server.port);
  const routes = new RawAdsStream(client, false, `/${RDS_SERVICE}/StreamRoutes`);
  try {
    routes.send({ node: NODE, type_url: TypeUrls.routes, resource_names: ["b-route"] });
    const got = await routes.next();
    assert.deepEqual(got.resources.map((r) => r.name), ["b-route"]);
    assert.equal(got.raw.version_info, snap.version(TypeUrls.routes));
    routes.send({
      type_url: TypeUrls.routes,
      resource_names: ["b-route"],
      version_info: got.raw.version_info,
      response_nonce: got.raw.nonce,
    });
    await routes.none(100);
    assert.equal(t.server.metrics.get("acks", TypeUrls.routes), 1);
  } finally {
    await routes.close();
    client.close();
  }
});

Deno.test("SotW: a name dropped after a full-list response and subscribed again is sent again", async () => {
  await using t = await setup();
  t.cache.setSnapshot(NODE.id, snapshotOf(serviceSet("a", 1001), serviceSet("b", 1002)));
  const ack = (names: string[], r: { raw: Record<string, unknown> }) =>
    t.stream.send({
      node: NODE,
      type_url: TypeUrls.endpoints,
      resource_names: names,
      version_info: r.raw.version_info,
      response_nonce: r.raw.nonce,
    });
  t.stream.send({ node: NODE, type_url: TypeUrls.endpoints, resource_names: ["a-eds", "b-eds"] });
  let eds = await t.stream.next();
  assert.deepEqual(eds.resources.map((r) => r.cluster_name).sort(), ["a-eds", "b-eds"]);
  ack(["a-eds"], eds); // drops b-eds: answered with what is left
  eds = await t.stream.next();
  assert.deepEqual(eds.resources.map((r) => r.cluster_name), ["a-eds"]);
  ack(["a-eds", "b-eds"], eds);
  eds = await t.stream.next();
  assert.deepEqual(eds.resources.map((r) => r.cluster_name), ["b-eds"]);
  ack(["a-eds", "b-eds"], eds);
  await t.stream.none(200);
});
