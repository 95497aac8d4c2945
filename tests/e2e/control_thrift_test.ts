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
import type { Server, Socket } from "node:net";

import { parseAllDocuments, stringify } from "yaml";
import { type ControlPlane, startControlPlane } from "../../control/run.ts";
import { silentLog } from "../../control/xds/log.ts";
import { type ProxyHandle, startProxy } from "../../proxy/run.ts";
import { aerakiPath, repoRoot } from "../support/paths.ts";
import {
  compileThriftIdl,
  connectGeneratedClient,
  loadGenerated,
  type PeerProtocol,
  peerStack,
  type PeerTransport,
} from "../support/thrift_peer.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
const thrift: Any = createRequire(import.meta.url)("thrift");
// npm thrift's compact protocol warns "SeqId already set" when one protocol object writes several pipelined
// replies; that line is noise here, the rest is kept.
thrift.setLogFunc((line: string) => {
  if (!line.includes("SeqId already set")) console.log(line);
});

const SAMPLE = "samples/metaprotocol-thrift";
const NODE_ID = "sidecar~127.0.0.1~thrift-sample-client-1.meta-thrift~meta-thrift.svc.cluster.local";
const NS = "meta-thrift";
const HOST = `thrift-sample-server.${NS}.svc.cluster.local`;
const PORT = 9090; // fixed by the sample's Service
const CLUSTER_IP = "127.10.9.90";
const PORT_NAME = "tcp-metaprotocol-thrift-hello-server"; // the sample Service's port name

const HelloService = loadGenerated(
  compileThriftIdl(`${repoRoot}/tests/support/thrift/hello.thrift`),
  "HelloService.js",
);

/** A sample server pod: `sayHello(name)` → `<name> from <version>`; records the THeader headers of each call. */
interface HelloServer {
  port: number;
  calls: string[];
  headers: Record<string, string>[];
  close(): Promise<void>;
}

async function startHelloServer(
  version: string,
  transport: PeerTransport,
  protocol: PeerProtocol,
): Promise<HelloServer> {
  const calls: string[] = [];
  const headers: Record<string, string>[] = [];
  const inner = new HelloService.Processor({
    sayHello: (name: string) => Promise.resolve((calls.push(name), `${name} from ${version}`)),
    sayGoodbye: (name: string) => Promise.resolve(`bye ${name} from ${version}`),
  });
  const processor = {
    process(input: Any, output: Any) {
      const result = inner.process(input, output);
      // The message header has been read by now: keep the THeader info headers it carried.
      if (typeof input.trans?.getReadHeaders === "function") {
        headers.push({ ...input.trans.getReadHeaders() });
      }
      return result;
    },
  };
  const server: Server = thrift.createMultiplexServer(processor, peerStack(transport, protocol));
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("error", () => {});
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    port: (server.address() as { port: number }).port,
    calls,
    headers,
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}

/** A TCP tap: forwards 127.0.0.1:`port` to `target` and keeps every byte sent towards the target. */
interface Tap {
  port: number;
  /** Bytes received from the proxy, per upstream connection. */
  received(): Uint8Array[];
  close(): Promise<void>;
}

function startTap(target: number): Tap {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const streams: Uint8Array[][] = [];
  const pumps: Promise<void>[] = [];
  const pump = async (from: Deno.Conn, to: Deno.Conn, record?: Uint8Array[]) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        record?.push(buf.slice(0, n));
        await to.write(buf.subarray(0, n));
      }
    } catch { /* closed */ }
    for (const c of [from, to]) {
      if (conns.delete(c)) c.close();
    }
  };
  const accepting = (async () => {
    for await (const down of listener) {
      const up = await Deno.connect({ hostname: "127.0.0.1", port: target });
      conns.add(down).add(up);
      const record: Uint8Array[] = [];
      streams.push(record);
      pumps.push(pump(down, up, record), pump(up, down));
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    received: () => streams.map(concat),
    async close() {
      listener.close();
      await accepting;
      for (const c of conns) c.close();
      conns.clear();
      await Promise.all(pumps);
    },
  };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) out.set(c, (at += c.length) - c.length);
  return out;
}

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
  return docs.map((d) => stringify(d)).join("---\n");
}

/** An Istio sidecar bootstrap (the sample's client pod) taking everything from ADS. */
function adsBootstrap(xdsPort: number): Record<string, unknown> {
  const ads = { ads: {}, resource_api_version: "V3" };
  return {
    node: {
      id: NODE_ID,
      cluster: "thrift-sample-client",
      metadata: { NAMESPACE: NS, LABELS: { app: "thrift-sample-client" } },
    },
    dynamic_resources: {
      ads_config: {
        api_type: "GRPC",
        transport_api_version: "V3",
        grpc_services: [{ envoy_grpc: { cluster_name: "xds-grpc" } }],
      },
      lds_config: ads,
      cds_config: ads,
    },
    static_resources: {
      clusters: [{
        name: "xds-grpc",
        type: "STATIC",
        connect_timeout: { seconds: 1 },
        load_assignment: {
          cluster_name: "xds-grpc",
          endpoints: [{
            lb_endpoints: [{
              endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: xdsPort } } },
            }],
          }],
        },
      }],
    },
  };
}

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Cannot wait for ${what}: not there after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function canConnect(hostname: string, port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname, port })).close();
    return true;
  } catch {
    return false;
  }
}

/** A HelloService client on the proxy's outbound listener. */
function connectHello(transport: PeerTransport, protocol: PeerProtocol) {
  return connectGeneratedClient(HelloService, { hostname: CLUSTER_IP, port: PORT, transport, protocol });
}

type HelloClient = Awaited<ReturnType<typeof connectHello>>;

/** Who answered `n` concurrent sayHello calls (`""` for a failed call). */
function whoAnswers(c: HelloClient, n: number, tag = "call"): Promise<string[]> {
  return Promise.all(Array.from({ length: n }, (_, i) =>
    c.client.sayHello(`${tag}-${i}`).then(
      (reply: string) => reply.replace(/^.* from /, ""),
      () => "",
    )));
}

const count = (list: string[], who: string) => list.filter((w) => w === who).length;

interface Mesh {
  dir: string;
  plane: ControlPlane;
  proxy: ProxyHandle;
  close(): Promise<void>;
}

/** Config dir (sample files + `first` as `metarouter.yaml` + Kubernetes facts), control plane, ADS proxy. */
async function startMesh(pods: { version: string; port: number }[], first: string): Promise<Mesh> {
  const dir = await Deno.makeTempDir({ prefix: "metamesh-control-thrift-" });
  await Deno.copyFile(aerakiPath(SAMPLE, "destinationrule.yaml"), `${dir}/destinationrule.yaml`);
  await Deno.copyFile(aerakiPath(SAMPLE, first), `${dir}/metarouter.yaml`);
  await Deno.writeTextFile(`${dir}/kubernetes.yaml`, kubernetesFacts(pods));
  const plane = await startControlPlane({
    configDir: dir,
    xdsPort: 0,
    adminPort: 0,
    hostname: "127.0.0.1",
    log: silentLog,
  });
  await waitFor(
    async () => !(await canConnect(CLUSTER_IP, PORT)),
    40_000,
    `port ${PORT} to be free (thrift_aeraki_config_test?)`,
  );
  const proxy = await startProxy({
    bootstrap: adsBootstrap(plane.xdsPort),
    origin: "control_thrift_test",
    log: () => {},
  });
  await waitFor(
    () => canConnect(CLUSTER_IP, PORT),
    10_000,
    `the proxy to get ${CLUSTER_IP}_${PORT} over ADS`,
  );
  return {
    dir,
    plane,
    proxy,
    async close() {
      await proxy.close();
      await plane.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Copies `file` of the sample over `metarouter.yaml`; resolves once a batch of 10 calls satisfies `ok`. */
function apply(mesh: Mesh, file: string, c: HelloClient, ok: (a: string[]) => boolean): Promise<number> {
  return applyUntil(mesh, file, async () => ok(await whoAnswers(c, 10, "probe")));
}

/** Copies `file` of the sample over `metarouter.yaml`; resolves (with the ms it took) once `check` holds. */
async function applyUntil(mesh: Mesh, file: string, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  await Deno.copyFile(aerakiPath(SAMPLE, file), `${mesh.dir}/metarouter.yaml`);
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
  const v1 = await startHelloServer("v1", "framed", "binary");
  const v2 = await startHelloServer("v2", "framed", "binary");
  const tap1 = startTap(v1.port);
  const tap2 = startTap(v2.port);
  const mesh = await startMesh(
    [{ version: "v1", port: tap1.port }, { version: "v2", port: tap2.port }],
    "metarouter-v1.yaml",
  );
  const c = await connectHello("framed", "binary");
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
    const v1 = await startHelloServer("v1", "header", protocol);
    const v2 = await startHelloServer("v2", "header", protocol);
    const mesh = await startMesh(
      [{ version: "v1", port: v1.port }, { version: "v2", port: v2.port }],
      "metarouter-header-mutation.yaml",
    );
    const c = await connectHello("header", protocol);
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
