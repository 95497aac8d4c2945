/**
 * The control plane's Kubernetes source end to end: a fake API server (real list/watch protocol) → control plane
 * → a proxy over ADS → real Dubbo providers. Creating, updating and deleting MetaRouter, ServiceEntry, Service and
 * EndpointSlice objects moves the proxy's routing; a forced `410 Gone` (history compacted + watches dropped)
 * makes the source re-list with no lost state: same routing, same listener version, same client connection.
 * Service ports are free loopback ports (no fixed port: safe to run beside other tests).
 *
 * @module
 */
import "../../codecs/builtin.ts";
import assert from "node:assert/strict";
import { TypeUrls } from "../../crds/protos.ts";
import { DubboClient, startDubboServer } from "../support/dubbo_peer.ts";
import { FakeKubeApi } from "../support/fake_kube_api.ts";
import { startMesh } from "../support/mesh.ts";
import { canConnect, freePort, waitFor } from "../support/net.ts";

const NS = "kube-test";
const HOST = "demo.kube-test.example";
const IFACE = "org.example.Demo";
const NODE = {
  id: `sidecar~127.0.0.1~consumer-1.${NS}~${NS}.svc.cluster.local`,
  metadata: { NAMESPACE: NS, LABELS: { app: "consumer" } },
};

/** Who answered `n` concurrent calls (`""` for a failed call). */
async function answers(client: DubboClient, n = 10, iface = IFACE): Promise<string[]> {
  return await Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        client.call({ interface: iface, method: "sayHello", args: [`c${i}`], timeoutMs: 2_000 })
          .then((r) => r.status === 20 ? String(r.value).replace(/^.* from /, "") : "", () => ""),
    ),
  );
}

/** Whether every one of a batch of calls on `port` (a new connection) was answered by `who`. */
async function allFrom(port: number, who: string): Promise<boolean> {
  let client: DubboClient;
  try {
    client = await DubboClient.connect(port);
  } catch {
    return false;
  }
  try {
    return (await answers(client)).every((w) => w === who);
  } finally {
    await client.close();
  }
}

/** A Kubernetes object literal (typed loosely for `FakeKubeApi`). */
const k8s = <T extends { kind: string; metadata: { name: string } }>(o: T): T => o;

const meta = (kind: string, name: string, extra: Record<string, unknown> = {}) => ({
  kind,
  metadata: { name, namespace: NS, ...extra },
});

function serviceEntry(port: number) {
  return {
    apiVersion: "networking.istio.io/v1alpha3",
    ...meta("ServiceEntry", "demo", { annotations: { interface: IFACE } }),
    spec: {
      hosts: [HOST],
      ports: [{ number: port, name: "tcp-metaprotocol-dubbo", protocol: "TCP" }],
      workloadSelector: { labels: { app: "demo" } },
      resolution: "STATIC",
    },
  };
}

function metaRouter(subset: string) {
  return {
    apiVersion: "metaprotocol.aeraki.io/v1alpha1",
    ...meta("MetaRouter", "demo-route"),
    spec: {
      hosts: [HOST],
      routes: [{
        name: subset,
        match: { attributes: { interface: { exact: IFACE } } },
        route: [{ destination: { host: HOST, subset } }],
      }],
    },
  };
}

function destinationRule(labels: Record<string, string> = {}) {
  return {
    apiVersion: "networking.istio.io/v1alpha3",
    ...meta("DestinationRule", "demo", { labels }),
    spec: { host: HOST, subsets: ["v1", "v2"].map((v) => ({ name: v, labels: { version: v } })) },
  };
}

function endpointSlice(port: number) {
  return {
    apiVersion: "discovery.k8s.io/v1",
    ...meta("EndpointSlice", "legacy-abc", { labels: { "kubernetes.io/service-name": "legacy" } }),
    addressType: "IPv4",
    ports: [{ name: "tcp-dubbo", port, protocol: "TCP" }],
    endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }],
  };
}

Deno.test("control kube: CRUD of MetaRouter, ServiceEntry, Service, EndpointSlice moves routing; 410 re-lists losslessly", async () => {
  const peers = await Promise.all(["v1", "v2", "b", "c"].map((name) => startDubboServer({ name })));
  const [v1, v2, b, c] = peers;
  const api = FakeKubeApi.start();
  const sePort = freePort();
  api.create(serviceEntry(sePort));
  for (const [v, peer] of [["v1", v1], ["v2", v2]] as const) {
    api.create(k8s({
      apiVersion: "networking.istio.io/v1beta1",
      ...meta("WorkloadEntry", `demo-${v}`),
      spec: {
        address: "127.0.0.1",
        labels: { app: "demo", version: v },
        ports: { "tcp-metaprotocol-dubbo": peer.port },
      },
    }));
  }
  api.create(destinationRule());
  const mesh = await startMesh({ kube: api });
  const plane = mesh.plane;
  await mesh.addProxy(NODE.id, NS, { labels: NODE.metadata.LABELS, origin: "control_kube_test" });
  let client: DubboClient | undefined;
  try {
    await waitFor(() => canConnect(sePort), 5_000, "the ServiceEntry's listener");
    client = await DubboClient.connect(sePort);
    const both = await answers(client, 20);
    assert.ok(both.includes("v1") && both.includes("v2"), `no MetaRouter: whole service (${both})`);

    // MetaRouter: create → v1, update → v2.
    api.create(metaRouter("v1"));
    await waitFor(
      async () => (await answers(client!)).every((w) => w === "v1"),
      5_000,
      "MetaRouter created (v1)",
    );
    api.update(metaRouter("v2"));
    await waitFor(
      async () => (await answers(client!)).every((w) => w === "v2"),
      5_000,
      "MetaRouter updated (v2)",
    );

    // Kubernetes Service + EndpointSlice: create, then move the slice to another pod.
    const svcPort = freePort();
    api.create(k8s({
      apiVersion: "v1",
      ...meta("Service", "legacy"),
      spec: { ports: [{ name: "tcp-dubbo", port: svcPort, protocol: "TCP" }], selector: { app: "legacy" } },
    }));
    api.create(endpointSlice(b.port));
    await waitFor(() => allFrom(svcPort, "b"), 5_000, "Service + EndpointSlice (b)");
    api.update(endpointSlice(c.port));
    await waitFor(() => allFrom(svcPort, "c"), 5_000, "EndpointSlice updated (c)");

    // 410 Gone: history compacted, watches dropped, and meanwhile a change the watch will never replay (a label
    // on the DestinationRule: nothing the proxy sees). The source re-lists; the missed change arrives, every
    // other object stays, and the proxy sees nothing: same routing, same LDS/RDS versions, same connection.
    // (The write also matters for the fake: its `compact()` makes the current resourceVersion too old, so
    // without a later write every re-list would get 410 again.)
    const version = (type: string) => plane.cache.snapshotFor(NODE)?.version(type);
    const ldsBefore = version(TypeUrls.listener);
    const rdsBefore = version(TypeUrls.routes);
    const lists = () => api.requests.filter((r) => !r.includes("watch=")).length;
    const listsBefore = lists();
    let dropped = false;
    client.closed.then(() => dropped = true);
    api.compact();
    api.dropWatches();
    api.update(destinationRule({ relisted: "yes" }));
    await waitFor(
      () => plane.store.get("DestinationRule", NS, "demo")?.metadata.labels?.relisted === "yes",
      5_000,
      "the re-list to deliver the missed change",
    );
    assert.ok(lists() > listsBefore, "re-listed after 410 Gone");
    await plane.settled();
    assert.ok((await answers(client, 20)).every((w) => w === "v2"), "routing unchanged after the re-list");
    assert.ok(await allFrom(svcPort, "c"), "Service routing unchanged after the re-list");
    assert.equal(version(TypeUrls.listener), ldsBefore, "no listener flap: LDS version unchanged");
    assert.equal(version(TypeUrls.routes), rdsBefore, "RDS version unchanged");
    assert.equal(dropped, false, "the client connection survived the re-list");
    // The watch resumed after the re-list: changes still arrive.
    api.update(metaRouter("v1"));
    await waitFor(
      async () => (await answers(client!)).every((w) => w === "v1"),
      5_000,
      "MetaRouter update after re-list",
    );

    // Deletes: MetaRouter → whole service again; EndpointSlice → no endpoint; Service → listener gone.
    api.delete(metaRouter("v1"));
    await waitFor(async () => new Set(await answers(client!, 20)).size === 2, 5_000, "MetaRouter deleted");
    api.delete(endpointSlice(c.port));
    await waitFor(async () => !(await allFrom(svcPort, "c")), 5_000, "EndpointSlice deleted");
    api.delete(meta("Service", "legacy"));
    await waitFor(async () => !(await canConnect(svcPort)), 5_000, "Service deleted: listener closed");

    // ServiceEntry: update moves the listener to another port, delete removes it.
    const movedPort = freePort();
    api.update(serviceEntry(movedPort));
    await waitFor(() => canConnect(movedPort), 5_000, "the ServiceEntry's listener on its new port");
    const moved = await DubboClient.connect(movedPort);
    const movedAnswers = await answers(moved, 20);
    await moved.close();
    assert.ok(movedAnswers.includes("v1") && movedAnswers.includes("v2"), `moved: ${movedAnswers}`);
    await waitFor(async () => !(await canConnect(sePort)), 5_000, "old SE listener closed");
    api.delete(serviceEntry(movedPort));
    await waitFor(async () => !(await canConnect(movedPort)), 5_000, "ServiceEntry deleted: listener closed");
  } finally {
    await client?.close();
    await mesh.close();
    await api.close();
    for (const p of peers) await p.close();
  }
});
