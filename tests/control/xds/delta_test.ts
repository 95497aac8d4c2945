import assert from "node:assert/strict";
import { TypeUrls } from "../../../crds/protos.ts";
import { SnapshotCache } from "../../../control/xds/cache.ts";
import { startAdsServer } from "../../../control/xds/server.ts";
import { adsClient, loadAssignment, RawAdsStream, serviceSet, snapshotOf } from "./fixtures.ts";

const NODE = { id: "router~10.0.0.9~gw.ns~ns.svc.cluster.local" };

async function setup() {
  const cache = new SnapshotCache();
  const server = await startAdsServer({ cache, port: 0, hostname: "127.0.0.1", debounceMs: 20 });
  const client = adsClient(server.port);
  const stream = new RawAdsStream(client, true);
  return {
    cache,
    server,
    stream,
    async [Symbol.asyncDispose]() {
      await stream.close();
      client.close();
      await server.close();
    },
  };
}

function names(r: { raw: Record<string, unknown> }): string[] {
  return (r.raw.resources as { name: string }[]).map((x) => x.name).sort();
}

Deno.test("Delta: wildcard CDS, per-resource versions, only changed resources, removals", async () => {
  await using t = await setup();
  const a = serviceSet("a", 1001);
  const b = serviceSet("b", 1002);
  const snap = snapshotOf(a, b);
  t.cache.setSnapshot(NODE.id, snap);
  t.stream.send({ node: NODE, type_url: TypeUrls.cluster });
  const first = await t.stream.next();
  assert.deepEqual(names(first), ["a-cluster", "b-cluster"]);
  assert.equal(first.raw.system_version_info, snap.version(TypeUrls.cluster));
  const versions = (first.raw.resources as { name: string; version: string }[]).map((r) => r.version);
  assert.deepEqual(versions, [...snap.resources(TypeUrls.cluster).values()].map((r) => r.version));
  t.stream.send({ type_url: TypeUrls.cluster, response_nonce: first.raw.nonce });
  await t.stream.none(100);

  // Adding a cluster sends only the new one.
  t.cache.setSnapshot(NODE.id, snapshotOf(a, b, serviceSet("c", 1003)));
  const added = await t.stream.next();
  assert.deepEqual(names(added), ["c-cluster"]);
  assert.equal(added.raw.removed_resources, undefined);
  t.stream.send({ type_url: TypeUrls.cluster, response_nonce: added.raw.nonce });

  // Removing one sends removed_resources only.
  t.cache.setSnapshot(NODE.id, snapshotOf(a, serviceSet("c", 1003)));
  const removed = await t.stream.next();
  assert.deepEqual(removed.raw.resources ?? [], []);
  assert.deepEqual(removed.raw.removed_resources, ["b-cluster"]);
  t.stream.send({ type_url: TypeUrls.cluster, response_nonce: removed.raw.nonce });
  await t.stream.none(100);
  assert.equal(t.server.metrics.get("acks", TypeUrls.cluster), 3);
  assert.equal(t.server.streams()[0].kind, "delta");
});

Deno.test("Delta: named subscribe/unsubscribe, initial_resource_versions, NACK not resent", async () => {
  await using t = await setup();
  const a = serviceSet("a", 1001);
  const b = serviceSet("b", 1002);
  const snap = snapshotOf(a, b);
  t.cache.setSnapshot(NODE.id, snap);
  const aVersion = snap.resources(TypeUrls.endpoints).get("a-eds")!.version;
  // The client already holds a-eds at the current version (reconnect): only b-eds is sent.
  t.stream.send({
    node: NODE,
    type_url: TypeUrls.endpoints,
    resource_names_subscribe: ["a-eds", "b-eds"],
    initial_resource_versions: { "a-eds": aVersion },
  });
  const first = await t.stream.next();
  assert.deepEqual(names(first), ["b-eds"]);
  t.stream.send({ type_url: TypeUrls.endpoints, response_nonce: first.raw.nonce });

  // Unsubscribing b: a change to b is no longer sent; a change to a is.
  t.stream.send({ type_url: TypeUrls.endpoints, resource_names_unsubscribe: ["b-eds"] });
  await t.stream.none(100);
  t.cache.setSnapshot(NODE.id, snapshotOf(a, { ...b, endpoints: [loadAssignment("b-eds", 2002)] }));
  await t.stream.none(150);
  t.cache.setSnapshot(NODE.id, snapshotOf({ ...a, endpoints: [loadAssignment("a-eds", 2001)] }, b));
  const changed = await t.stream.next();
  assert.deepEqual(names(changed), ["a-eds"]);

  // NACK: recorded, and the same content is not sent again.
  t.stream.send({
    type_url: TypeUrls.endpoints,
    response_nonce: changed.raw.nonce,
    error_detail: { code: 3, message: "bad endpoint" },
  });
  await t.stream.none(150);
  const status = t.server.streams()[0].types.EDS;
  assert.equal(status.lastNack?.message, "bad endpoint");
  assert.deepEqual(status.subscribed, ["a-eds"]);
  assert.equal(t.server.metrics.get("nacks", TypeUrls.endpoints), 1);

  // Subscribing a name that exists sends it at once.
  t.stream.send({ type_url: TypeUrls.endpoints, resource_names_subscribe: ["b-eds"] });
  const again = await t.stream.next();
  assert.deepEqual(names(again), ["b-eds"]);
});

Deno.test("Delta: explicit '*' wildcard on LDS with a stale nonce still applies the subscription", async () => {
  await using t = await setup();
  t.cache.setSnapshot(NODE.id, snapshotOf(serviceSet("a", 1001)));
  t.stream.send({ node: NODE, type_url: TypeUrls.listener, resource_names_subscribe: ["*"] });
  const lds = await t.stream.next();
  assert.deepEqual(names(lds), ["a"]);
  t.stream.send({ type_url: TypeUrls.routes, resource_names_subscribe: ["a-route"], response_nonce: "999" });
  const rds = await t.stream.next();
  assert.deepEqual(names(rds), ["a-route"]);
});
