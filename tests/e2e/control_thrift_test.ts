/**
 * Issue #4 acceptance, Thrift, end to end: Aeraki's `samples/metaprotocol-thrift/` routing files copied UNCHANGED
 * into a config directory → the control plane (in-process, directory source) → a proxy configured only over ADS
 * (in-process `startProxy`, node `sidecar~127.0.0.1~thrift-sample-client-1.meta-thrift~…`) → real npm `thrift`
 * HelloService servers v1/v2 (the sample's IDL, `tests/support/thrift/hello.thrift`) on loopback.
 *
 * What the sample leaves to Kubernetes, written here as Kubernetes would hold it (`kubernetes.yaml`):
 * - `thrift-sample.yaml` is applied with `kubectl apply -n meta-thrift` (its Service names no namespace). The
 *   directory source puts namespace-less documents in `default` and `startControlPlane` has no option to change
 *   that, so the file is not copied as is: its Service is taken from it unchanged except for the namespace
 *   `kubectl -n meta-thrift` sets and the ClusterIP the API server assigns (a loopback address, so the proxy's
 *   outbound listener `<clusterIP>_9090` binds loopback only). Its Deployments are not config.
 * - one WorkloadEntry per sample pod (labels app/version from the Deployments, selected by the Service
 *   `selector` as istiod selects pods), its named port pointing at a real server (or a TCP tap in front of it).
 *
 * Port 9090 is fixed by the sample's Service: the proxy binds `127.10.9.90:9090`. `thrift_aeraki_config_test.ts`
 * binds `0.0.0.0:9090`, which conflicts; test files run serially, and startup waits for the port.
 *
 * @module
 */
import "../../codecs/builtin.ts";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { parseAllDocuments } from "yaml";
import { type Mesh, startMesh, yamlDocs } from "../support/mesh.ts";
import { waitFor } from "../support/net.ts";
import { aerakiPath } from "../support/paths.ts";
import { startTap } from "../support/tcp_tap.ts";
import { connectHello, quietSeqIdWarnings, startHelloServer } from "../support/thrift_hello.ts";
import type { PeerProtocol, PeerTransport } from "../support/thrift_peer.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
const thrift: Any = createRequire(import.meta.url)("thrift");
quietSeqIdWarnings();

const SAMPLE = "samples/metaprotocol-thrift";
const NODE_ID = "sidecar~127.0.0.1~thrift-sample-client-1.meta-thrift~meta-thrift.svc.cluster.local";
const NS = "meta-thrift";
const HOST = `thrift-sample-server.${NS}.svc.cluster.local`;
const PORT = 9090; // fixed by the sample's Service
const CLUSTER_IP = "127.10.9.90";
const PORT_NAME = "tcp-metaprotocol-thrift-hello-server"; // the sample Service's port name

/** The sample's Service as `kubectl apply -n meta-thrift` leaves it in the API server, with its ClusterIP. */
function sampleService(): Record<string, Any> {
  const [service] = parseAllDocuments(Deno.readTextFileSync(aerakiPath(SAMPLE, "thrift-sample.yaml")))
    .map((d) => d.toJS())
    .filter((o) => o?.kind === "Service");
  assert.equal(service.metadata.namespace, undefined, "the sample relies on kubectl -n");
  assert.equal(service.spec.ports[0].name, PORT_NAME);
  assert.equal(service.spec.ports[0].port, PORT);
  return {
    ...service,
    metadata: { ...service.metadata, namespace: NS },
    spec: { ...service.spec, clusterIP: CLUSTER_IP },
  };
}

/** What Kubernetes provides: the Service and one WorkloadEntry per pod of the sample's Deployments. */
function kubernetesFacts(pods: { version: string; port: number }[]): string {
  const docs = [
    sampleService(),
    ...pods.map((p) => ({
      apiVersion: "networking.istio.io/v1beta1",
      kind: "WorkloadEntry",
      metadata: { name: `thrift-sample-server-${p.version}`, namespace: NS },
      spec: {
        address: "127.0.0.1",
        labels: { app: "thrift-sample-server", version: p.version },
        ports: { [PORT_NAME]: p.port },
      },
    })),
  ];
  return yamlDocs(docs);
}

/** A HelloService client on the proxy's outbound listener. */
function connectSampleHello(transport: PeerTransport, protocol: PeerProtocol) {
  return connectHello({ hostname: CLUSTER_IP, port: PORT, transport, protocol });
}

type HelloClient = Awaited<ReturnType<typeof connectSampleHello>>;

/** Who answered `n` concurrent sayHello calls (`""` for a failed call). */
function whoAnswers(c: HelloClient, n: number, tag = "call"): Promise<string[]> {
  return Promise.all(Array.from({ length: n }, (_, i) =>
    c.client.sayHello(`${tag}-${i}`).then(
      (reply: string) => reply.replace(/^.* from /, ""),
      () => "",
    )));
}

const count = (list: string[], who: string) => list.filter((w) => w === who).length;

/** Config dir (sample files + `first` as `metarouter.yaml` + Kubernetes facts), control plane, ADS proxy. */
async function startSampleMesh(pods: { version: string; port: number }[], first: string): Promise<Mesh> {
  const mesh = await startMesh({
    files: {
      "destinationrule.yaml": aerakiPath(SAMPLE, "destinationrule.yaml"),
      "metarouter.yaml": aerakiPath(SAMPLE, first),
    },
    docs: { "kubernetes.yaml": kubernetesFacts(pods) },
  });
  try {
    await mesh.addProxy(NODE_ID, NS, {
      cluster: "thrift-sample-client",
      labels: { app: "thrift-sample-client" },
      origin: "control_thrift_test",
      listener: { hostname: CLUSTER_IP, port: PORT, freeMs: 40_000 },
    });
  } catch (error) {
    await mesh.close();
    throw error;
  }
  return mesh;
}

/** Copies `file` of the sample over `metarouter.yaml`; resolves once a batch of 10 calls satisfies `ok`. */
function apply(mesh: Mesh, file: string, c: HelloClient, ok: (a: string[]) => boolean): Promise<number> {
  return applyUntil(mesh, file, async () => ok(await whoAnswers(c, 10, "probe")));
}

/** Copies `file` of the sample over `metarouter.yaml`; resolves (with the ms it took) once `check` holds. */
async function applyUntil(mesh: Mesh, file: string, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  await mesh.copy(aerakiPath(SAMPLE, file), "metarouter.yaml");
  await waitFor(check, 5_000, `routing to follow ${file}`);
  return performance.now() - started;
}

/** Framed frames (4-byte length + payload) of one byte stream; throws on a torn frame. */
function framedPayloads(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    const size = view.getUint32(at);
    assert.ok(at + 4 + size <= bytes.length, `torn framed frame at ${at}`);
    out.push(bytes.subarray(at + 4, at + 4 + size));
    at += 4 + size;
  }
  return out;
}

Deno.test("control thrift: sample MetaRouters unchanged drive framed+binary peers: v1 → v2 → 20/80; header mutation not applicable", async () => {
  const v1 = await startHelloServer({ version: "v1", transport: "framed", protocol: "binary" });
  const v2 = await startHelloServer({ version: "v2", transport: "framed", protocol: "binary" });
  const tap1 = startTap(v1.port);
  const tap2 = startTap(v2.port);
  const mesh = await startSampleMesh(
    [{ version: "v1", port: tap1.port }, { version: "v2", port: tap2.port }],
    "metarouter-v1.yaml",
  );
  const c = await connectSampleHello("framed", "binary");
  try {
    await waitFor(async () => count(await whoAnswers(c, 10), "v1") === 10, 5_000, "metarouter-v1.yaml");
    // Aeraki's names: listener <clusterIP>_9090, MetaRDS table <host>_9090, subset clusters from the rule.
    const dump = await (await fetch(
      `http://127.0.0.1:${mesh.plane.adminPort}/debug/config_dump?node=${encodeURIComponent(NODE_ID)}`,
    )).json();
    const names = (type: string) =>
      (Object.entries(dump).find(([k]) => k.endsWith(type))![1] as { resources: { name: string }[] })
        .resources.map((r) => r.name).sort();
    assert.deepEqual(names("Listener"), [`${CLUSTER_IP}_${PORT}`]);
    assert.deepEqual(names("RouteConfiguration"), [`${HOST}_${PORT}`]);
    assert.deepEqual(
      names("Cluster"),
      [`outbound|${PORT}||${HOST}`, `outbound|${PORT}|v1|${HOST}`, `outbound|${PORT}|v2|${HOST}`].sort(),
    );
    const onV1 = await whoAnswers(c, 50);
    assert.equal(count(onV1, "v1"), 50, `metarouter-v1: ${onV1}`);
    // The sample's routes match method sayHello only: another method gets no route (a local reply).
    await assert.rejects(c.client.sayGoodbye("x"), thrift.Thrift.TApplicationException);

    const toV2 = await apply(mesh, "metarouter-v2.yaml", c, (a) => count(a, "v2") === 10);
    assert.equal(count(await whoAnswers(c, 50), "v2"), 50, "metarouter-v2: every call on v2");
    const toSplit = await apply(mesh, "traffic-split.yaml", c, (a) => count(a, "v1") > 0);
    const split = await whoAnswers(c, 400, "split");
    const onSplitV1 = count(split, "v1");
    assert.equal(onSplitV1 + count(split, "v2"), 400, "every split call answered");
    // 20/80 over 400 calls: 80 expected on v1, σ = 8.
    assert.ok(onSplitV1 >= 50 && onSplitV1 <= 115, `20/80 split: ${onSplitV1}/400 on v1`);
    console.log(
      `followed v2 in ${toV2.toFixed(0)} ms, split in ${toSplit.toFixed(0)} ms; split ${onSplitV1}/400 on v1`,
    );

    // Header mutation on framed: no header block to write into; the codec reports the mutation as not
    // applicable and the request goes upstream byte-for-byte as a framed frame (no foo/foo1 anywhere).
    const before = [tap1, tap2].map((t) => t.received().reduce((n, s) => n + s.length, 0));
    // Its route matches every method: sayGoodbye, without a route before, now gets an answer.
    await applyUntil(
      mesh,
      "metarouter-header-mutation.yaml",
      () => c.client.sayGoodbye("probe").then(() => true, () => false),
    );
    const mutated = await whoAnswers(c, 100, "mutation");
    assert.equal(count(mutated, "v1") + count(mutated, "v2"), 100, "framed calls still answered");
    assert.ok(count(mutated, "v1") > 0 && count(mutated, "v2") > 0, "no subset: the whole service");
    const text = new TextDecoder("latin1");
    const after = [tap1, tap2].map((t) => t.received().reduce((n, s) => n + s.length, 0));
    assert.ok(after[0] > before[0] && after[1] > before[1]);
    let frames = 0;
    for (const tap of [tap1, tap2]) {
      for (const stream of tap.received()) {
        for (const payload of framedPayloads(stream)) {
          frames++;
          // Strict binary CALL (0x80 0x01 0x00 0x01) of the sample's service, no header keys.
          assert.deepEqual([...payload.subarray(0, 4)], [0x80, 0x01, 0x00, 0x01]);
          const s = text.decode(payload);
          assert.match(s, /say(Hello|Goodbye)/);
          assert.ok(!s.includes("foo") && !s.includes("bar1"), `framed payload carries no mutation: ${s}`);
        }
      }
    }
    assert.ok(frames >= 600, `${frames} framed frames seen by the servers`);
    assert.deepEqual([...v1.headers, ...v2.headers].filter((h) => Object.keys(h).length > 0), []);
  } finally {
    await c.close();
    await mesh.close();
    for (const x of [tap1, tap2, v1, v2]) await x.close();
  }
});

Deno.test("control thrift: sample header mutation reaches THeader servers (foo=bar, foo1=bar1); v1 routing on THeader", async () => {
  for (const protocol of ["binary", "compact"] as const) {
    const v1 = await startHelloServer({ version: "v1", transport: "header", protocol });
    const v2 = await startHelloServer({ version: "v2", transport: "header", protocol });
    const mesh = await startSampleMesh(
      [{ version: "v1", port: v1.port }, { version: "v2", port: v2.port }],
      "metarouter-header-mutation.yaml",
    );
    const c = await connectSampleHello("header", protocol);
    const label = `header+${protocol}`;
    try {
      await waitFor(async () => count(await whoAnswers(c, 10), "") === 0, 5_000, `${label}: first calls`);
      const answers = await whoAnswers(c, 100, "mutation");
      assert.equal(count(answers, "v1") + count(answers, "v2"), 100, `${label}: ${answers}`);
      assert.ok(count(answers, "v1") > 0 && count(answers, "v2") > 0, `${label}: the whole service`);
      const seen = [...v1.headers, ...v2.headers];
      assert.equal(seen.length, v1.calls.length + v2.calls.length, label);
      for (const h of seen) {
        assert.equal(h.foo, "bar", `${label}: ${JSON.stringify(h)}`);
        assert.equal(h.foo1, "bar1", `${label}: ${JSON.stringify(h)}`);
        assert.match(h["x-request-id"] ?? "", /^[0-9a-f-]{36}$/, `${label}: the proxy's request id`);
      }

      // The same THeader client follows the sample's v1 MetaRouter; no mutation there.
      const toV1 = await apply(mesh, "metarouter-v1.yaml", c, (a) => count(a, "v1") === 10);
      const mark = v1.headers.length;
      assert.equal(count(await whoAnswers(c, 20), "v1"), 20, `${label}: metarouter-v1`);
      for (const h of v1.headers.slice(mark)) {
        assert.equal(h.foo, undefined, `${label}: no mutation after metarouter-v1: ${JSON.stringify(h)}`);
      }
      assert.ok(toV1 < 5_000);
    } finally {
      await c.close();
      await mesh.close();
      await v1.close();
      await v2.close();
    }
  }
});
