/**
 * Aeraki's metaprotocol-thrift (header mutation, inbound rate limits) and metaprotocol-gateway samples.
 */
import assert from "node:assert/strict";
import { buildMeshModel } from "../../../control/translate/model.ts";
import { assertEncodes, decodedView, filterConfig, loadSamples, sidecar, workload } from "./_support.ts";

const HOST = "thrift-sample-server.meta-thrift.svc.cluster.local";
const THRIFT = [
  "install/default-applicationprotocols.yaml",
  "samples/metaprotocol-thrift/thrift-sample.yaml",
];
const SERVER_POD = workload("meta-thrift", "server-v1", "10.1.0.1", {
  app: "thrift-sample-server",
  version: "v1",
});

Deno.test("thrift: header mutation rides as request_headers_to_add; listener codec is thrift", () => {
  const model = buildMeshModel(
    loadSamples("meta-thrift", ...THRIFT, "samples/metaprotocol-thrift/metarouter-header-mutation.yaml"),
  );
  const view = decodedView(
    model,
    sidecar("10.1.0.9", "client-1", "meta-thrift", { app: "thrift-sample-client" }),
  );
  const rc = view.routes.get(`${HOST}_9090`)!;
  assert.deepEqual((rc.virtual_hosts as unknown[])[0], {
    name: "dummy",
    domains: ["*"],
    routes: [{
      name: "header-mutation",
      match: { prefix: "/" },
      route: { cluster: `outbound|9090||${HOST}` },
      request_headers_to_add: [{ header: { key: "foo", value: "bar" } }, {
        header: { key: "foo1", value: "bar1" },
      }],
    }],
  });
  const service = model.byHost.get(HOST)!;
  const config = filterConfig(view.listeners.get(`${service.addresses[0] ?? "0.0.0.0"}_9090`));
  assert.equal(config.application_protocol, "thrift");
  assert.deepEqual(config.protocol, { name: "thrift", codec: { name: "aeraki.meta_protocol.codec.thrift" } });
  assertEncodes(view);
});

Deno.test("thrift: the server sidecar gets an inbound listener with the MetaRouter's rate limits first", () => {
  const model = buildMeshModel([
    ...loadSamples(
      "meta-thrift",
      ...THRIFT,
      "samples/metaprotocol-thrift/metarouter-local-ratelimit.yaml",
    ),
    SERVER_POD,
  ]);
  const server = decodedView(
    model,
    sidecar("10.1.0.1", "server-v1", "meta-thrift", { app: "thrift-sample-server" }),
  );
  const inbound = server.listeners.get("inbound|9090||")!;
  assert.deepEqual(inbound.address, { socket_address: { address: "10.1.0.1", port_value: 9090 } });
  const config = filterConfig(inbound);
  assert.equal(config.stat_prefix, "inbound|9090||");
  assert.deepEqual(config.route_config, {
    name: "inbound|9090||",
    routes: [{ route: { cluster: "inbound|9090||" } }],
  });
  const filters = config.meta_protocol_filters as { name: string; config: Record<string, unknown> }[];
  assert.deepEqual(filters.map((f) => f.name), [
    "aeraki.meta_protocol.filters.local_ratelimit",
    "aeraki.meta_protocol.filters.metadata_exchange",
    "aeraki.meta_protocol.filters.istio_stats",
    "aeraki.meta_protocol.filters.router",
  ]);
  assert.equal(filters[0].config.stat_prefix, HOST);
  assert.ok(server.clusters.has("inbound|9090||"));
  // A client of the same namespace has no inbound listener.
  const client = decodedView(
    model,
    sidecar("10.1.0.9", "client-1", "meta-thrift", { app: "thrift-sample-client" }),
  );
  assert.equal(client.listeners.has("inbound|9090||"), false);
  assertEncodes(server);
});

Deno.test("dubbo: global rate limit filter as Aeraki (domain, timeout, deny, RLS cluster, descriptors)", () => {
  const model = buildMeshModel([
    ...loadSamples(
      "meta-dubbo",
      "install/default-applicationprotocols.yaml",
      "samples/metaprotocol-dubbo/serviceentry.yaml",
      "samples/metaprotocol-dubbo/metarouter-global-ratelimit.yaml",
    ),
    workload("meta-dubbo", "provider-v1", "10.0.0.1", { app: "dubbo-sample-provider", version: "v1" }),
  ]);
  const view = decodedView(
    model,
    sidecar("10.0.0.1", "p1", "meta-dubbo", { app: "dubbo-sample-provider" }),
  );
  const filters = filterConfig(view.listeners.get("inbound|20880||")).meta_protocol_filters as {
    name: string;
    config: Record<string, unknown>;
  }[];
  assert.deepEqual(filters[0], {
    name: "aeraki.meta_protocol.filters.ratelimit",
    config: {
      "@type": "type.googleapis.com/aeraki.meta_protocol_proxy.filters.ratelimit.v1alpha.RateLimit",
      domain: "production",
      rate_limit_service: {
        grpc_service: {
          envoy_grpc: { cluster_name: "outbound|8081||rate-limit-server.meta-dubbo.svc.cluster.local" },
        },
      },
      descriptors: [{ property: "method", descriptor_key: "method" }],
      match: { metadata: [{ name: "method", exact_match: "sayHello" }] },
      timeout: { nanos: 100_000_000 },
      failure_mode_deny: true,
    },
  });
  // Only rate limits: the RDS table is Aeraki's default route.
  const rc = view.routes.get("org.apache.dubbo.samples.basic.api.demoservice_20880")!;
  assert.equal(JSON.stringify(rc).includes('"name":"default"'), true);
  assertEncodes(view);
});

Deno.test("gateway: the router node gets 0.0.0.0_9090 with the MetaRouter's table; sidecars keep the routes", () => {
  const model = buildMeshModel(loadSamples(
    "meta-thrift",
    "install/default-applicationprotocols.yaml",
    "samples/metaprotocol-gateway/thrift-sample.yaml",
    "samples/metaprotocol-gateway/destinationrule.yaml",
    "samples/metaprotocol-gateway/ingress-gateway.yaml",
    "samples/metaprotocol-gateway/metarouter.yaml",
  ));
  const gateway = decodedView(model, {
    id: "router~10.2.0.1~istio-ingressgateway-abc.istio-system~istio-system.svc.cluster.local",
    metadata: { LABELS: { app: "istio-ingressgateway", istio: "ingressgateway" } },
  });
  assert.deepEqual([...gateway.listeners.keys()], ["0.0.0.0_9090"]);
  const config = filterConfig(gateway.listeners.get("0.0.0.0_9090"));
  assert.equal(config.stat_prefix, `outbound|9090||${HOST}`);
  assert.equal((config.rds as { route_config_name: string }).route_config_name, `${HOST}_9090`);
  const rc = gateway.routes.get(`${HOST}_9090`)!;
  const route = (rc.virtual_hosts as { routes: Record<string, unknown>[] }[])[0].routes[0];
  // The sample's `method: {exact: ""}` means "any method" in Aeraki's Envoy: a presence match.
  assert.deepEqual(route.match, { prefix: "/", headers: [{ name: "method", present_match: true }] });
  assert.ok(gateway.clusters.has(`outbound|9090||${HOST}`));
  assert.ok(gateway.endpoints.has(`outbound|9090||${HOST}`));
  assertEncodes(gateway);
  // A router whose labels do not match the Gateway selector gets no gateway listener.
  const other = decodedView(model, {
    id: "router~10.2.0.2~other-gw-1.istio-system~istio-system.svc.cluster.local",
    metadata: { LABELS: { app: "other" } },
  });
  assert.equal(other.listeners.size, 0);
  // As Aeraki, the MetaRouter's routes apply to sidecars too.
  const sidecarView = decodedView(model, sidecar("10.1.0.9", "client-1", "meta-thrift"));
  assert.deepEqual(sidecarView.routes.get(`${HOST}_9090`), rc);
});
