import assert from "node:assert/strict";
import type { Resource } from "../../../crds/resources/mod.ts";
import { buildMeshModel } from "../../../control/translate/model.ts";
import { translateForNode } from "../../../control/translate/snapshot.ts";
import { serviceView, setViewCheckpoint } from "../../../control/translate/service_view.ts";

const se = (i: number): Resource => ({
  apiVersion: "networking.istio.io/v1beta1",
  kind: "ServiceEntry",
  metadata: { name: `s${i}`, namespace: "ns" },
  spec: {
    hosts: [`s${i}.ns.svc.cluster.local`],
    addresses: [`240.0.0.${i}`],
    ports: [{ number: 20880, name: "tcp-metaprotocol-dubbo", protocol: "TCP" }],
    resolution: "STATIC",
    endpoints: [{ address: `10.0.0.${i}`, labels: { version: "v1" } }],
  },
} as unknown as Resource);
const dr = (i: number): Resource => ({
  apiVersion: "networking.istio.io/v1beta1",
  kind: "DestinationRule",
  metadata: { name: `s${i}`, namespace: "ns" },
  spec: { host: `s${i}.ns.svc.cluster.local`, subsets: [{ name: "v1", labels: { version: "v1" } }] },
} as unknown as Resource);
const mr = (host: string, subset: string, dest = host): Resource => ({
  apiVersion: "metaprotocol.aeraki.io/v1alpha1",
  kind: "MetaRouter",
  metadata: { name: host.split(".")[0], namespace: "ns" },
  spec: { hosts: [host], routes: [{ name: "r", route: [{ destination: { host: dest, subset } }] }] },
} as unknown as Resource);

const NODE = { id: "sidecar~10.9.0.1~c.ns~ns.svc.cluster.local", metadata: { NAMESPACE: "ns" } };
const H0 = "s0.ns.svc.cluster.local";
const H1 = "s1.ns.svc.cluster.local";

Deno.test("incremental translation: a changed MetaRouter rebuilds only its service; the rest keeps identity", () => {
  const base = [se(0), se(1), se(2), dr(0), dr(1), dr(2)];
  const m1 = buildMeshModel([...base, mr(H0, "v1")]);
  const v1 = translateForNode(m1, NODE);
  const m2 = buildMeshModel([...base, mr(H0, "")], m1);
  const v2 = translateForNode(m2, NODE);
  assert.notEqual(m2.byHost.get(H0), m1.byHost.get(H0));
  assert.equal(m2.byHost.get(H1), m1.byHost.get(H1));
  assert.equal(serviceView(m2, m2.byHost.get(H1)!), serviceView(m1, m1.byHost.get(H1)!));
  const route = `${H0}_20880`;
  assert.notEqual(v2.routes.get(route), v1.routes.get(route));
  assert.notDeepEqual(v2.routes.get(route), v1.routes.get(route));
  for (const [name, value] of v2.routes) if (name !== route) assert.equal(value, v1.routes.get(name));
  // s0's other resources are rebuilt with equal content (same packed versions); the others are the same objects.
  for (const kind of ["clusters", "listeners", "endpoints"] as const) {
    for (const [name, value] of v2[kind]) {
      if (name.includes(H0) || name.startsWith("240.0.0.0_")) assert.deepEqual(value, v1[kind].get(name));
      else assert.equal(value, v1[kind].get(name), name);
    }
  }
  // Same output as a model built from scratch.
  assert.deepEqual(
    v2.routes.get(route),
    translateForNode(buildMeshModel([...base, mr(H0, "")]), NODE).routes.get(route),
  );
});

Deno.test("incremental translation: a view that reads another service's DestinationRule follows its change", () => {
  const routeTo1 = mr(H0, "v1", H1);
  const [s0, s1, d0] = [se(0), se(1), dr(0)];
  const m1 = buildMeshModel([s0, s1, d0, dr(1), routeTo1]);
  const before = JSON.stringify(translateForNode(m1, NODE).routes.get(`${H0}_20880`)!.message());
  assert.match(before, /"route"/);
  void before;
  const hashed = dr(1) as unknown as { spec: Record<string, unknown> };
  hashed.spec.trafficPolicy = { loadBalancer: { consistentHash: { httpHeaderName: "x-user" } } };
  const m2 = buildMeshModel([s0, s1, d0, hashed as unknown as Resource, routeTo1], m1);
  assert.equal(m2.byHost.get(H0), m1.byHost.get(H0), "s0's own inputs did not change");
  const after = JSON.stringify(translateForNode(m2, NODE).routes.get(`${H0}_20880`)!.message());
  const fresh = buildMeshModel([s0, s1, d0, hashed as unknown as Resource, routeTo1]);
  assert.equal(after, JSON.stringify(translateForNode(fresh, NODE).routes.get(`${H0}_20880`)!.message()));
});

Deno.test("view checkpoint: runs after every N service views built; an incremental rebuild builds only the changed one", () => {
  let runs = 0;
  setViewCheckpoint(2, () => runs++);
  try {
    const base = [0, 1, 2, 3, 4].flatMap((i) => [se(i), dr(i)]);
    const m1 = buildMeshModel(base);
    translateForNode(m1, NODE);
    assert.equal(runs, 2, "5 views built: checkpoints after the 2nd and the 4th");
    translateForNode(buildMeshModel([...base, mr(H0, "v1")], m1), NODE);
    assert.equal(runs, 3, "one changed service: one more view, the 6th");
  } finally {
    setViewCheckpoint(Number.MAX_SAFE_INTEGER, () => {}); // a control plane started later sets its own
  }
});
