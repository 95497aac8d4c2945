import assert from "node:assert/strict";
import { TypeUrls } from "../../../crds/protos.ts";
import { SnapshotCache } from "../../../control/xds/cache.ts";
import { consistencyProblems } from "../../../control/xds/consistency.ts";
import { Snapshot } from "../../../control/xds/snapshot.ts";
import { apiListener, edsCluster, loadAssignment, routeConfig, serviceSet, snapshotOf } from "./fixtures.ts";

const MPP = "type.googleapis.com/aeraki.meta_protocol_proxy.v1alpha.MetaProtocolProxy";

function metaListener(name: string, route: string) {
  return {
    name,
    address: { socket_address: { address: "0.0.0.0", port_value: 20880 } },
    filter_chains: [{
      filters: [{
        name: "aeraki.meta_protocol_proxy",
        typed_config: {
          "@type": MPP,
          stat_prefix: "outbound|20880||dubbo",
          rds: { config_source: { ads: {}, resource_api_version: "V3" }, route_config_name: route },
          protocol: { name: "dubbo", codec: { name: "aeraki.meta_protocol.codec.dubbo" } },
        },
      }],
    }],
  };
}

Deno.test("Snapshot: versions are content hashes; each object is packed once", () => {
  const set = serviceSet("a", 1001);
  const one = snapshotOf(set);
  const two = snapshotOf(set);
  const rebuilt = snapshotOf(serviceSet("a", 1001));
  assert.equal(one.version(TypeUrls.cluster), rebuilt.version(TypeUrls.cluster));
  assert.notEqual(
    one.version(TypeUrls.endpoints),
    snapshotOf(serviceSet("a", 1002)).version(TypeUrls.endpoints),
  );
  const r1 = one.resources(TypeUrls.cluster).get("a-cluster")!;
  assert.equal(two.resources(TypeUrls.cluster).get("a-cluster"), r1, "same object → same packed resource");
  assert.ok(r1.any.value.length > 0);
  assert.equal(r1.any.type_url, TypeUrls.cluster);
  assert.ok(Object.isFrozen(r1.canonical));
  assert.throws(
    () => Snapshot.build({ clusters: [edsCluster("x"), edsCluster("x")] }),
    /Cannot build snapshot: duplicate CDS resource 'x'/,
  );
  assert.throws(() => Snapshot.build({ clusters: [{ name: "x", bogus: 1 }] }), /CDS 'x' does not encode/);
});

Deno.test("consistency: RDS from MetaProtocolProxy and api_listener HCM, EDS names, route clusters", () => {
  assert.deepEqual(consistencyProblems(snapshotOf(serviceSet("a", 1))), []);
  const broken = Snapshot.build({
    listeners: [metaListener("dubbo", "dubbo-route"), apiListener("grpc", "grpc-route")],
    routes: [routeConfig("grpc-route", "missing-cluster")],
    clusters: [edsCluster("c1", "svc-eds"), edsCluster("c2"), { name: "static", type: "STATIC" }],
    endpoints: [loadAssignment("svc-eds", 1)],
  });
  assert.deepEqual(consistencyProblems(broken).sort(), [
    "cluster 'c2' uses missing endpoints 'c2'",
    "listener 'dubbo' uses missing route config 'dubbo-route'",
    "route config 'grpc-route' uses missing cluster 'missing-cluster'",
  ]);
  // RDS-only (MetaRDS) snapshots: clusters come from elsewhere.
  assert.deepEqual(
    consistencyProblems(Snapshot.build({ routes: [routeConfig("r", "outbound|20880||x")] })),
    [],
  );
});

Deno.test("SnapshotCache: an inconsistent snapshot is refused and the previous one kept", () => {
  const lines: string[] = [];
  const cache = new SnapshotCache({ log: (_l, m) => lines.push(m) });
  const good = snapshotOf(serviceSet("a", 1));
  assert.equal(cache.ready, false);
  assert.equal(cache.setSnapshot("n1", good), true);
  assert.equal(cache.ready, true);
  const bad = Snapshot.build({ listeners: [metaListener("dubbo", "nope")] });
  assert.equal(cache.setSnapshot("n1", bad), false);
  assert.equal(cache.snapshot("n1"), good);
  assert.match(
    lines[0],
    /Cannot accept snapshot for 'n1': inconsistent \(listener 'dubbo' uses missing route config 'nope'\)/,
  );
  assert.equal(cache.stats.refused, 1);
});

Deno.test("SnapshotCache: lazy generator per node key, invalidate notifies watchers, failures keep the old one", () => {
  let port = 1;
  let fail = false;
  const calls: string[] = [];
  const cache = new SnapshotCache({ nodeKeyOf: (node) => String(node.id).split("~")[2].split(".")[1] });
  cache.setGenerator((node, key) => {
    calls.push(`${key}:${node.id}`);
    if (fail) throw new Error("translation broke");
    return snapshotOf(serviceSet(key.replace(/\W/g, "-"), port));
  });
  const n1 = { id: "sidecar~10.0.0.1~a.ns1~ns1.svc.cluster.local" };
  const n2 = { id: "sidecar~10.0.0.2~b.ns1~ns1.svc.cluster.local" };
  let notified = 0;
  const stop = cache.watch(n1, () => notified++);
  const s1 = cache.snapshotFor(n1)!;
  assert.equal(cache.snapshotFor(n2), s1, "same key → same memoised snapshot");
  assert.deepEqual(calls, [`ns1:${n1.id}`]);

  port = 2;
  cache.invalidate();
  assert.equal(notified, 1);
  const s2 = cache.snapshotFor(n1)!;
  assert.notEqual(s2.version(TypeUrls.endpoints), s1.version(TypeUrls.endpoints));
  assert.equal(s2.version(TypeUrls.cluster), s1.version(TypeUrls.cluster));

  fail = true;
  cache.invalidate("ns1");
  assert.equal(cache.snapshotFor(n1), s2);
  assert.equal(cache.stats.refused, 1);
  stop();
  cache.invalidate();
  assert.equal(notified, 2, "no notification after the watch is cancelled");
});
