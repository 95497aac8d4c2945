/**
 * Issue #3 acceptance, MetaProtocol ingress gateway: Aeraki's `samples/metaprotocol-gateway/` unchanged (Gateway
 * `istio-system/istio-ingressgateway` with a `tcp-metaprotocol-thrift-9090` server, MetaRouter with `gateways`)
 * served by a fake Kubernetes API server (objects put in `meta-thrift` when the sample leaves the namespace to
 * `kubectl -n`), the control plane on its Kubernetes source, and a proxy whose node is the gateway
 * (`router~…istio-ingressgateway-1.istio-system~…`, LABELS matching the Gateway selector) configured over ADS.
 * A real npm `thrift` client calling the gateway port reaches the MetaRouter's subset, and follows it from v1 to v2.
 *
 * Port 9090 is fixed by the sample (Gateway server port = Service port, Aeraki §6.3): the gateway proxy binds
 * `0.0.0.0:9090`. tests/e2e/thrift_aeraki_config_test.ts also uses 9090 (Aeraki's thrift test.yaml), so this test
 * waits for the port to be free and must not run in parallel with it.
 *
 * @module
 */
import "../../codecs/builtin.ts";
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { FakeKubeApi } from "../support/fake_kube_api.ts";
import { startMesh } from "../support/mesh.ts";
import { waitFor } from "../support/net.ts";
import { aerakiPath } from "../support/paths.ts";
import { connectThriftClient, startThriftServer } from "../support/thrift_peer.ts";

const SAMPLE = "samples/metaprotocol-gateway";
const GATEWAY_PORT = 9090; // fixed by the sample
const NS = "meta-thrift";
const HOST = "thrift-sample-server.meta-thrift.svc.cluster.local";
const PORT_NAME = "tcp-metaprotocol-thrift-9090";
const GATEWAY_NODE = {
  id: "router~127.0.0.1~istio-ingressgateway-1.istio-system~istio-system.svc.cluster.local",
  metadata: { NAMESPACE: "istio-system", LABELS: { app: "istio-ingressgateway", istio: "ingressgateway" } },
};
const SIDECAR_NODE = {
  id: `sidecar~127.0.0.2~consumer-1.${NS}~${NS}.svc.cluster.local`,
  metadata: { NAMESPACE: NS, LABELS: { app: "consumer" } },
};

type K8s = { kind: string; metadata: { name: string; namespace?: string } };

/** The sample's objects an API server would hold; Deployments are left out (metamesh does not read them). */
function sample(file: string): K8s[] {
  const served = new Set(["Service", "Gateway", "DestinationRule", "MetaRouter"]);
  return parseAllDocuments(Deno.readTextFileSync(aerakiPath(SAMPLE, file)))
    .map((d) => d.toJS())
    .filter((o) => o && served.has(o.kind))
    .map((o) => ({ ...o, metadata: { namespace: NS, ...o.metadata } }));
}

/**
 * What Kubernetes adds for the sample's server pods: an EndpointSlice per pod pointing at a real Thrift server on
 * loopback, and the pod labels (app/version, selected by the DestinationRule subsets) as a WorkloadEntry per pod
 * (metamesh does not watch Pods).
 */
function pod(version: string, port: number): K8s[] {
  return [
    {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: `thrift-${version}`,
        namespace: NS,
        labels: { "kubernetes.io/service-name": "thrift-sample-server" },
      },
      addressType: "IPv4",
      ports: [{ name: PORT_NAME, port, protocol: "TCP" }],
      endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }],
    } as K8s,
    {
      apiVersion: "networking.istio.io/v1beta1",
      kind: "WorkloadEntry",
      metadata: { name: `thrift-sample-server-${version}`, namespace: NS },
      spec: {
        address: "127.0.0.1",
        labels: { app: "thrift-sample-server", version },
        ports: { [PORT_NAME]: port },
      },
    } as K8s,
  ];
}

Deno.test("gateway: Aeraki metaprotocol-gateway sample; a Thrift client on the gateway port reaches the subset", async () => {
  const v1 = await startThriftServer({ transport: "framed", protocol: "binary", name: "v1" });
  const v2 = await startThriftServer({ transport: "framed", protocol: "binary", name: "v2" });
  const api = FakeKubeApi.start();
  for (
    const file of ["thrift-sample.yaml", "destinationrule.yaml", "ingress-gateway.yaml", "metarouter-v1.yaml"]
  ) {
    for (const o of sample(file)) api.create(o);
  }
  for (const o of [...pod("v1", v1.port), ...pod("v2", v2.port)]) api.create(o);
  const mesh = await startMesh({ kube: api });
  const plane = mesh.plane;
  let client: Awaited<ReturnType<typeof connectThriftClient>> | undefined;
  try {
    await mesh.addProxy(GATEWAY_NODE.id, "istio-system", {
      labels: GATEWAY_NODE.metadata.LABELS,
      origin: "gateway_test",
      listener: { port: GATEWAY_PORT, freeMs: 40_000 },
    });
    client = await connectThriftClient({ port: GATEWAY_PORT, transport: "framed", protocol: "binary" });
    for (let i = 0; i < 5; i++) assert.equal(await client.client.echo(`hi ${i}`), `v1:hi ${i}`);
    assert.equal(v2.calls.length, 0);

    // The sidecar view carries the same MetaRouter routes (RDS `<host>_9090`), as Aeraki's MetaRDS serves them.
    const routeName = `${HOST}_${GATEWAY_PORT}`;
    const sidecarRoute = () =>
      plane.cache.snapshotFor(SIDECAR_NODE)?.resources(
        "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
      ).get(routeName);
    assert.ok(
      JSON.stringify(sidecarRoute()).includes(`outbound|9090|v1|${HOST}`),
      "sidecar gets the v1 route",
    );

    const [v2Router] = sample("metarouter-v2.yaml");
    api.update(v2Router);
    await waitFor(
      async () => (await client!.client.echo("probe")) === "v2:probe",
      5_000,
      "MetaRouter v2 on the gateway",
    );
    for (let i = 0; i < 5; i++) assert.equal(await client.client.echo(`again ${i}`), `v2:again ${i}`);
    assert.ok(
      JSON.stringify(sidecarRoute()).includes(`outbound|9090|v2|${HOST}`),
      "sidecar gets the v2 route",
    );
  } finally {
    await client?.close();
    await mesh.close();
    await api.close();
    await v1.close();
    await v2.close();
  }
});
