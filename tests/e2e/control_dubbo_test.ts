/**
 * Issue #3 acceptance, Dubbo, end to end: Aeraki's `samples/metaprotocol-dubbo/` files copied UNCHANGED into a
 * config directory → the control plane (in-process, directory source) → a proxy configured only over ADS
 * (in-process `startProxy`, node `sidecar~127.0.0.1~consumer-1.meta-dubbo~…`) → real Dubbo providers.
 *
 * Port 20880 is fixed by the sample's ServiceEntries: the proxy binds `0.0.0.0:20880`. Other Dubbo tests under
 * tests/e2e may use 20880 too, so these tests must not run in parallel with them (Deno runs test files serially
 * unless `--parallel`); the port is waited for at startup. The file is self-contained on purpose.
 *
 * @module
 */
import "../../codecs/builtin.ts";
import assert from "node:assert/strict";
import { DubboClient, type DubboServer, startDubboServer } from "../support/dubbo_peer.ts";
import { FakeKubeApi } from "../support/fake_kube_api.ts";
import { type Mesh, startMesh } from "../support/mesh.ts";
import { waitFor } from "../support/net.ts";
import { aerakiPath } from "../support/paths.ts";
import { parseAllDocuments } from "yaml";

const SAMPLE = "samples/metaprotocol-dubbo";
const PORT = 20880; // fixed by the sample's ServiceEntries
const DEMO = "org.apache.dubbo.samples.basic.api.DemoService";
const SECOND = "org.apache.dubbo.samples.basic.api.SecondService";
const NS = "meta-dubbo";

/**
 * The endpoints Kubernetes would provide. In a cluster the provider pods (labels app/version, from the sample's
 * Deployments) are selected by the ServiceEntries' `workloadSelector`; istiod sees them as workload instances.
 * Outside Kubernetes the same thing is a WorkloadEntry per pod, here pointing at a real provider on loopback
 * (its port given for the ServiceEntry port name).
 */
function workloadEntries(peers: { name: string; app: string; version: string; port: number }[]): string {
  return peers.map((p) =>
    `apiVersion: networking.istio.io/v1beta1
kind: WorkloadEntry
metadata:
  name: ${p.name}
  namespace: ${NS}
spec:
  address: 127.0.0.1
  labels: {app: ${p.app}, version: ${p.version}}
  ports: {tcp-metaprotocol-dubbo: ${p.port}}
`
  ).join("---\n");
}

/** The sample's consumer pod: a sidecar whose outbound listener is the sample's fixed port. */
const CONSUMER = {
  labels: { app: "dubbo-sample-consumer" },
  cluster: "dubbo-sample-consumer",
  origin: "control_dubbo_test",
  listener: { port: PORT, freeMs: 30_000 },
};
const NODE_ID = `sidecar~127.0.0.1~consumer-1.${NS}~${NS}.svc.cluster.local`;

/** Who answered `n` concurrent sayHello calls (`""` for a failed call). */
async function whoAnswers(client: DubboClient, n: number, iface = DEMO): Promise<string[]> {
  const replies = await Promise.all(Array.from({ length: n }, (_, i) =>
    client.call({
      interface: iface,
      method: "sayHello",
      args: [`call ${i}`],
      attachments: { foo: "bar" },
      timeoutMs: 2_000,
    }).then((r) => r.status === 20 ? String(r.value).replace(/^.* from /, "") : "", () => "")));
  return replies;
}

const count = (list: string[], who: string) => list.filter((w) => w === who).length;

/** Writes `file` of the sample as `metarouter.yaml` and returns the ms until every reply of a batch satisfies `ok`. */
async function applyAndMeasure(
  mesh: Mesh,
  file: string,
  client: DubboClient,
  ok: (answers: string[]) => boolean,
): Promise<number> {
  const started = performance.now();
  await mesh.copy(aerakiPath(SAMPLE, file), "metarouter.yaml");
  let elapsed = -1;
  await waitFor(
    async () => {
      const answers = await whoAnswers(client, 10);
      elapsed = performance.now() - started;
      return ok(answers);
    },
    5_000,
    `routing to follow ${file}`,
  );
  return elapsed;
}

/** The sample's providers, and the mesh on the sample files + their WorkloadEntries with a consumer proxy. */
async function startSampleMesh(): Promise<{ mesh: Mesh; peers: DubboServer[] }> {
  const v1 = await startDubboServer({ name: "v1" });
  const v2 = await startDubboServer({ name: "v2" });
  const second = await startDubboServer({ name: "second" });
  const files = ["serviceentry.yaml", "destinationrule.yaml", "dubbo-sample.yaml"];
  const mesh = await startMesh({
    files: Object.fromEntries(files.map((f) => [f, aerakiPath(SAMPLE, f)])),
    docs: {
      "workloads.yaml": workloadEntries([
        { name: "provider-v1", app: "dubbo-sample-provider", version: "v1", port: v1.port },
        { name: "provider-v2", app: "dubbo-sample-provider", version: "v2", port: v2.port },
        { name: "second-provider", app: "dubbo-sample-second-provider", version: "v2", port: second.port },
      ]),
    },
  });
  await mesh.addProxy(NODE_ID, NS, CONSUMER);
  return { mesh, peers: [v1, v2, second] };
}

Deno.test("control dubbo: Aeraki sample unchanged; MetaRouter v1 → v2 → 20/80 follow within 1 s; plane restart", async () => {
  const { mesh, peers } = await startSampleMesh();
  let client = await DubboClient.connect(PORT);
  try {
    // Both sample services share 0.0.0.0_20880, told apart by their `interface` annotation.
    const before = await whoAnswers(client, 20);
    assert.equal(count(before, "v1") + count(before, "v2"), 20, `DemoService answers: ${before}`);
    assert.ok(count(before, "v1") > 0 && count(before, "v2") > 0, "no MetaRouter: the whole service");
    assert.deepEqual(new Set(await whoAnswers(client, 10, SECOND)), new Set(["second"]));

    const toV1 = await applyAndMeasure(mesh, "metarouter-v1.yaml", client, (a) => count(a, "v1") === 10);
    const toV2 = await applyAndMeasure(mesh, "metarouter-v2.yaml", client, (a) => count(a, "v2") === 10);
    const toSplit = await applyAndMeasure(mesh, "traffic-split.yaml", client, (a) => count(a, "v1") > 0);
    console.log(
      `MetaRouter followed in: v1 ${toV1.toFixed(0)} ms, v2 ${toV2.toFixed(0)} ms, split ${
        toSplit.toFixed(0)
      } ms`,
    );
    for (const ms of [toV1, toV2, toSplit]) assert.ok(ms < 1000, `routing followed in ${ms.toFixed(0)} ms`);
    const split = await whoAnswers(client, 400);
    assert.equal(count(split, "v1") + count(split, "v2"), 400);
    assert.ok(
      count(split, "v1") > 40 && count(split, "v1") < 130,
      `20/80 split: ${count(split, "v1")}/400 to v1`,
    );
    // The SecondService routes are still there (the shared route table concatenates both services).
    assert.deepEqual(new Set(await whoAnswers(client, 5, SECOND)), new Set(["second"]));

    // Control plane gone: the proxy keeps routing on its last config.
    let dropped = false;
    client.closed.then(() => dropped = true);
    await mesh.stopPlane();
    await new Promise((r) => setTimeout(r, 300));
    const orphan = await whoAnswers(client, 100);
    assert.equal(count(orphan, "v1") + count(orphan, "v2"), 100, "still routed without a control plane");
    assert.ok(count(orphan, "v1") > 0 && count(orphan, "v2") > 0, "still the 20/80 split");

    // Restarted on the same port: the proxy resynchronises; a new MetaRouter applies; the client never drops.
    await mesh.copy(aerakiPath(SAMPLE, "metarouter-v1.yaml"), "metarouter.yaml");
    await mesh.startPlane();
    await waitFor(
      async () => count(await whoAnswers(client, 10), "v1") === 10,
      10_000,
      "resync after restart",
    );
    assert.deepEqual(new Set(await whoAnswers(client, 10, SECOND)), new Set(["second"]));
    const toV2Again = await applyAndMeasure(
      mesh,
      "metarouter-v2.yaml",
      client,
      (a) => count(a, "v2") === 10,
    );
    assert.ok(toV2Again < 1000, `after the restart, followed in ${toV2Again.toFixed(0)} ms`);
    assert.equal(dropped, false, "the client connection survived the control-plane restart");
  } finally {
    await client.close();
    client = undefined as unknown as DubboClient;
    await mesh.close();
    for (const p of peers) await p.close();
  }
});

const APP = "samples/metaprotocol-dubbo-app-level";

/** The sample's objects the API server would hold (`kubectl apply -n meta-dubbo`); Deployments/ConfigMaps left out. */
function appLevelObjects(file: string): { kind: string; metadata: { name: string; namespace?: string } }[] {
  const served = new Set(["Service", "DestinationRule", "MetaRouter"]);
  return parseAllDocuments(Deno.readTextFileSync(aerakiPath(APP, file)))
    .map((d) => d.toJS())
    .filter((o) => o && served.has(o.kind))
    .map((o) => ({ ...o, metadata: { namespace: NS, ...o.metadata } }));
}

/**
 * What Kubernetes adds for the app-level sample: one EndpointSlice per provider pod (owned by its Service, the
 * named port pointing at the real provider on loopback) and the pods' labels. metamesh does not watch Pods, so
 * the pod labels (app/version, which DestinationRule subsets select) come as one WorkloadEntry per pod, selected
 * by the Service `selector` as istiod selects pods.
 */
function podObjects(pods: { name: string; service: string; app: string; version: string; port: number }[]) {
  return pods.flatMap((p) => [
    {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: `${p.name}-slice`,
        namespace: NS,
        labels: { "kubernetes.io/service-name": p.service },
      },
      addressType: "IPv4",
      ports: [{ name: "tcp-metaprotocol-dubbo", port: p.port, protocol: "TCP" }],
      endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }],
    },
    {
      apiVersion: "networking.istio.io/v1beta1",
      kind: "WorkloadEntry",
      metadata: { name: p.name, namespace: NS },
      spec: {
        address: "127.0.0.1",
        labels: { app: p.app, version: p.version },
        ports: { "tcp-metaprotocol-dubbo": p.port },
      },
    },
  ]);
}

Deno.test("control dubbo app-level: sample unchanged from a Kubernetes API; interface+method routes pick the subset", async () => {
  const v1 = await startDubboServer({ name: "v1" });
  const v2 = await startDubboServer({ name: "v2" });
  const api = FakeKubeApi.start();
  for (const o of [...appLevelObjects("dubbo-sample.yaml"), ...appLevelObjects("destinationrule.yaml")]) {
    api.create(o);
  }
  for (
    const o of podObjects([
      {
        name: "provider-v1",
        service: "dubbo-sample-provider",
        app: "dubbo-sample-provider",
        version: "v1",
        port: v1.port,
      },
      {
        name: "provider-v2",
        service: "dubbo-sample-provider",
        app: "dubbo-sample-provider",
        version: "v2",
        port: v2.port,
      },
    ])
  ) api.create(o);
  const [mrV1] = appLevelObjects("metarouter-v1.yaml");
  api.create(mrV1);
  const mesh = await startMesh({ kube: api });
  let client: DubboClient | undefined;
  try {
    await mesh.addProxy(NODE_ID, NS, CONSUMER);
    client = await DubboClient.connect(PORT);
    await waitFor(async () => count(await whoAnswers(client!, 10), "v1") === 10, 5_000, "MetaRouter v1");
    // The route matches interface + method (+ attachment foo): another method has no route.
    const other = await client.call({
      interface: DEMO,
      method: "sayGoodbye",
      args: ["x"],
      attachments: { foo: "bar" },
    });
    assert.notEqual(other.status, 20, "a call the MetaRouter does not match gets no route");

    const [mrV2] = appLevelObjects("metarouter-v2.yaml");
    const started = performance.now();
    api.update(mrV2);
    await waitFor(async () => count(await whoAnswers(client!, 10), "v2") === 10, 5_000, "MetaRouter v2");
    const ms = performance.now() - started;
    assert.ok(ms < 1000, `MetaRouter v2 from the API server followed in ${ms.toFixed(0)} ms`);
  } finally {
    await client?.close();
    await mesh.close();
    await api.close();
    await v1.close();
    await v2.close();
  }
});
