/**
 * metadata_exchange + istio_stats across two proxies (fake codec): client → OUTBOUND proxy → INBOUND
 * proxy → fake server. Peer metadata travels in the request mutation outbound and in the response
 * mutation inbound; each proxy's admin /stats/prometheus carries Istio's metrics with Istio's labels.
 */
import assert from "node:assert/strict";
import { decodeMessage } from "../../../crds/proto_wire.ts";
import { decodePeerMetadata } from "../../../proxy/meta/metadata_exchange.ts";
import { FakeClient, startFakeServer } from "../../support/fake_codec.ts";
import { fakeBootstrap, startTestProxy, type TestProxy } from "../_harness.ts";

type Obj = Record<string, unknown>;
const FILTER = "type.googleapis.com/aeraki.meta_protocol_proxy.filters";
const SERVICE = "server.ns-b.svc.cluster.local";

function node(id: string, workload: string, ns: string, app: string, extra: Obj = {}): Obj {
  return {
    id,
    cluster: `${app}.${ns}`,
    metadata: {
      NAME: `${workload}-pod`,
      NAMESPACE: ns,
      WORKLOAD_NAME: workload,
      CLUSTER_ID: "Kubernetes",
      MESH_ID: "cluster.local",
      APP_CONTAINERS: app,
      LABELS: { app, version: "v1", "service.istio.io/canonical-name": app },
      INTERCEPTION_MODE: "REDIRECT", // not a FlatNode field: not exchanged
      ...extra,
    },
  };
}

function proxyBootstrap(
  direction: string,
  n: Obj,
  clusters: Record<string, number[]>,
  destination?: string,
): Obj {
  const b = fakeBootstrap({
    clusters,
    admin: true,
    filter: {
      meta_protocol_filters: [
        { name: "aeraki.meta_protocol.filters.metadata_exchange" },
        {
          name: "aeraki.meta_protocol.filters.istio_stats",
          config: {
            "@type": `${FILTER}.istio_stats.v1alpha.IstioStats`,
            ...(destination ? { destination_service: destination } : {}),
          },
        },
        { name: "aeraki.meta_protocol.filters.router" },
      ],
    },
  });
  b.node = n;
  ((b.static_resources as Obj).listeners as Obj[])[0].traffic_direction = direction;
  return b;
}

const decode = (v: string | undefined) =>
  decodePeerMetadata(v, (b) => decodeMessage("google.protobuf.Struct", b));

async function prometheus(p: TestProxy): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${p.handle.adminPort}/stats/prometheus`);
  return await res.text();
}

function series(text: string, name: string): Map<string, string>[] {
  const out: Map<string, string>[] = [];
  for (const line of text.split("\n")) {
    const m = line.match(new RegExp(`^${name}\\{(.*)\\} (\\S+)$`));
    if (!m) continue;
    const labels = new Map<string, string>([["value", m[2]]]);
    for (const kv of m[1].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels.set(kv[1], kv[2]);
    out.push(labels);
  }
  return out;
}

Deno.test("metadata_exchange + istio_stats: peer metadata both ways, Istio metrics on both proxies", async () => {
  const server = startFakeServer({ name: "srv" });
  const inbound = await startTestProxy(
    proxyBootstrap(
      "INBOUND",
      node("sidecar~10.0.0.2~server-pod.ns-b~ns-b.svc.cluster.local", "server", "ns-b", "server"),
      { "inbound|9000||": [server.port] },
      SERVICE,
    ),
  );
  const outbound = await startTestProxy(
    proxyBootstrap(
      "OUTBOUND",
      node("sidecar~10.0.0.1~client-pod.ns-a~ns-a.svc.cluster.local", "client", "ns-a", "client"),
      { [`outbound|9000||${SERVICE}`]: [inbound.port] },
    ),
  );
  const client = await FakeClient.connect(outbound.port);
  try {
    assert.equal(outbound.handle.warning, undefined);
    const r = await client.call({ method: "hello" }, "p1");
    assert.equal(r.payload, "p1");
    // Request side: the server sees the client's node (OUTBOUND adds it to the request mutation).
    const seen = server.requests[0].meta;
    assert.equal(
      seen.get("x-envoy-peer-metadata-id"),
      "sidecar~10.0.0.1~client-pod.ns-a~ns-a.svc.cluster.local",
    );
    const clientNode = decode(seen.get("x-envoy-peer-metadata"))!;
    assert.equal(clientNode.WORKLOAD_NAME, "client");
    assert.equal(clientNode.NAMESPACE, "ns-a");
    assert.deepEqual(clientNode.APP_CONTAINERS, ["client"]);
    assert.equal(clientNode.INTERCEPTION_MODE, undefined);
    // Response side: the client sees the server's node (INBOUND adds it to the response mutation).
    assert.equal(
      r.frame.metadata.get("x-envoy-peer-metadata-id"),
      "sidecar~10.0.0.2~server-pod.ns-b~ns-b.svc.cluster.local",
    );
    assert.equal(decode(r.frame.metadata.get("x-envoy-peer-metadata"))!.WORKLOAD_NAME, "server");
    await client.call({ method: "hello" }, "p2");

    const src = series(await prometheus(outbound), "istio_requests_total");
    assert.equal(src.length, 1);
    const s = Object.fromEntries(src[0]);
    assert.deepEqual(
      {
        value: s.value,
        reporter: s.reporter,
        source_workload: s.source_workload,
        source_workload_namespace: s.source_workload_namespace,
        source_app: s.source_app,
        source_canonical_service: s.source_canonical_service,
        source_canonical_revision: s.source_canonical_revision,
        destination_workload: s.destination_workload,
        destination_workload_namespace: s.destination_workload_namespace,
        destination_app: s.destination_app,
        destination_version: s.destination_version,
        destination_cluster: s.destination_cluster,
        destination_service: s.destination_service,
        destination_service_name: s.destination_service_name,
        response_code: s.response_code,
      },
      {
        value: "2",
        reporter: "source",
        source_workload: "client",
        source_workload_namespace: "ns-a",
        source_app: "client",
        source_canonical_service: "client",
        source_canonical_revision: "latest",
        destination_workload: "server",
        destination_workload_namespace: "ns-b",
        destination_app: "server",
        destination_version: "v1",
        destination_cluster: "Kubernetes",
        destination_service: SERVICE,
        destination_service_name: SERVICE,
        response_code: "0",
      },
    );
    const inText = await prometheus(inbound);
    const dst = Object.fromEntries(series(inText, "istio_requests_total")[0]);
    assert.equal(dst.reporter, "destination");
    assert.equal(dst.source_workload, "client");
    assert.equal(dst.destination_workload, "server");
    assert.equal(dst.destination_service, SERVICE);
    assert.equal(dst.value, "2");
    for (const h of ["istio_request_duration_milliseconds", "istio_request_bytes", "istio_response_bytes"]) {
      assert.equal(series(inText, `${h}_count`)[0]?.get("value"), "2", h);
      assert.equal(series(inText, `${h}_bucket`).filter((l) => l.get("le") === "+Inf")[0].get("value"), "2");
    }
    // The Envoy-style stats are still there.
    assert.match(inText, /^envoy_meta_protocol_fake_test_request 2$/m);
  } finally {
    await client.close();
    await outbound.close();
    await inbound.close();
    await server.close();
  }
});

Deno.test("istio_stats: an upstream failure is counted with response_code 1; unknown peers are 'unknown'", async () => {
  const server = startFakeServer({ behaviour: () => "close" });
  const p = await startTestProxy(
    proxyBootstrap("OUTBOUND", node("n1", "client", "ns-a", "client"), {
      [`outbound|1||${SERVICE}`]: [server.port],
    }),
  );
  const client = await FakeClient.connect(p.port);
  try {
    const r = await client.call({ method: "x" });
    assert.equal(r.frame.type, "error");
    const s = Object.fromEntries(series(await prometheus(p), "istio_requests_total")[0]);
    assert.equal(s.response_code, "1");
    assert.equal(s.destination_workload, "unknown");
    assert.equal(s.destination_canonical_revision, "latest");
  } finally {
    await client.close();
    await p.close();
    await server.close();
  }
});
