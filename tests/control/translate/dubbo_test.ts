/**
 * Aeraki's metaprotocol-dubbo sample (ServiceEntry per interface) and the app-level variant (a Kubernetes Service
 * per application), loaded unchanged: route tables, clusters, endpoints and listeners as Aeraki + istiod emit.
 */
import assert from "node:assert/strict";
import { buildMeshModel } from "../../../control/translate/model.ts";
import { TypeUrls } from "../../../crds/protos.ts";
import { assertEncodes, decodedView, filterConfig, loadSamples, sidecar, workload } from "./_support.ts";

const HOST = "org.apache.dubbo.samples.basic.api.demoservice";
const ROUTE = `${HOST}_20880`;
const BASE = ["install/default-applicationprotocols.yaml", "samples/metaprotocol-dubbo/serviceentry.yaml"];
const PODS = [
  workload("meta-dubbo", "provider-v1", "10.0.0.1", { app: "dubbo-sample-provider", version: "v1" }),
  workload("meta-dubbo", "provider-v2", "10.0.0.2", { app: "dubbo-sample-provider", version: "v2" }),
  workload("meta-dubbo", "second", "10.0.0.3", { app: "dubbo-sample-second-provider", version: "v2" }),
];
const CONSUMER = sidecar("10.0.0.9", "consumer-1", "meta-dubbo", { app: "dubbo-sample-consumer" });

function viewWith(...files: string[]) {
  const model = buildMeshModel([...loadSamples("meta-dubbo", ...BASE, ...files), ...PODS]);
  return { model, view: decodedView(model, CONSUMER) };
}

Deno.test("dubbo: no MetaRouter gives Aeraki's default route to the whole service", () => {
  const { view } = viewWith("samples/metaprotocol-dubbo/destinationrule.yaml");
  assert.deepEqual(view.routes.get(ROUTE), {
    name: ROUTE,
    virtual_hosts: [{
      name: "dummy",
      domains: ["*"],
      routes: [{ name: "default", match: { prefix: "/" }, route: { cluster: `outbound|20880||${HOST}` } }],
    }],
  });
  assertEncodes(view);
});

Deno.test("dubbo: MetaRouter v1 → v2 → 20/80 split", () => {
  const v1 = viewWith(
    "samples/metaprotocol-dubbo/destinationrule.yaml",
    "samples/metaprotocol-dubbo/metarouter-v1.yaml",
  );
  const r1 =
    (v1.view.routes.get(ROUTE)!.virtual_hosts as { routes: Record<string, unknown>[] }[])[0].routes[0];
  assert.deepEqual(r1, {
    name: "v1",
    match: {
      prefix: "/",
      headers: [
        { name: "interface", exact_match: "org.apache.dubbo.samples.basic.api.DemoService" },
        { name: "method", exact_match: "sayHello" },
        { name: "foo", exact_match: "bar" },
      ],
    },
    route: { cluster: `outbound|20880|v1|${HOST}` },
  });
  const v2 = viewWith(
    "samples/metaprotocol-dubbo/destinationrule.yaml",
    "samples/metaprotocol-dubbo/metarouter-v2.yaml",
  );
  const r2 = (v2.view.routes.get(ROUTE)!.virtual_hosts as { routes: { route: unknown }[] }[])[0].routes[0];
  assert.deepEqual(r2.route, { cluster: `outbound|20880|v2|${HOST}` });
  const split = viewWith(
    "samples/metaprotocol-dubbo/destinationrule.yaml",
    "samples/metaprotocol-dubbo/traffic-split.yaml",
  );
  const rs = (split.view.routes.get(ROUTE)!.virtual_hosts as { routes: { route: unknown }[] }[])[0].routes[0];
  assert.deepEqual(rs.route, {
    weighted_clusters: {
      clusters: [
        { name: `outbound|20880|v1|${HOST}`, weight: { value: 20 } },
        { name: `outbound|20880|v2|${HOST}`, weight: { value: 80 } },
      ],
      total_weight: { value: 100 },
    },
  });
  assertEncodes(split.view);
});

Deno.test("dubbo: subset clusters are EDS over ADS and their endpoints follow subset labels", () => {
  const { view } = viewWith("samples/metaprotocol-dubbo/destinationrule.yaml");
  const name = `outbound|20880|v1|${HOST}`;
  assert.deepEqual(view.clusters.get(name), {
    name,
    type: "EDS",
    connect_timeout: { seconds: 10 },
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: "V3" }, service_name: name },
  });
  const addresses = (cluster: string) =>
    ((view.endpoints.get(cluster)?.endpoints ?? []) as {
      lb_endpoints: { endpoint: { address: { socket_address: { address: string; port_value: number } } } }[];
    }[])
      .flatMap((l) =>
        l.lb_endpoints.map((e) =>
          `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`
        )
      );
  assert.deepEqual(addresses(name), ["10.0.0.1:20880"]);
  assert.deepEqual(addresses(`outbound|20880|v2|${HOST}`), ["10.0.0.2:20880"]);
  assert.deepEqual(addresses(`outbound|20880||${HOST}`), ["10.0.0.1:20880", "10.0.0.2:20880"]);
  const localities = view.endpoints.get(`outbound|20880||${HOST}`)!.endpoints as {
    load_balancing_weight: unknown;
  }[];
  assert.deepEqual(localities[0].load_balancing_weight, { value: 2 });
});

Deno.test("dubbo: outbound listener carries the MetaProtocolProxy exactly as Aeraki emits it", () => {
  // Alone on its port (the sample's second ServiceEntry left out; shared ports: shared_port_test.ts).
  const model = buildMeshModel(
    [...loadSamples("meta-dubbo", ...BASE), ...PODS].filter((r) => r.metadata.name !== "dubbo-secondservice"),
  );
  const view = decodedView(model, CONSUMER);
  const config = filterConfig(view.listeners.get("0.0.0.0_20880"));
  assert.deepEqual(config, {
    "@type": TypeUrls.metaProtocolProxy,
    stat_prefix: `outbound|20880||${HOST}`,
    application_protocol: "dubbo",
    codec: { name: "aeraki.meta_protocol.codec.dubbo" },
    protocol: { name: "dubbo", codec: { name: "aeraki.meta_protocol.codec.dubbo" } },
    rds: { config_source: { ads: {}, resource_api_version: "V3" }, route_config_name: ROUTE },
    meta_protocol_filters: [
      {
        name: "aeraki.meta_protocol.filters.metadata_exchange",
        config: {
          "@type":
            "type.googleapis.com/aeraki.meta_protocol_proxy.filters.metadata_exchange.v1alpha.MetadataExchange",
        },
      },
      {
        name: "aeraki.meta_protocol.filters.istio_stats",
        config: {
          "@type": "type.googleapis.com/aeraki.meta_protocol_proxy.filters.istio_stats.v1alpha.IstioStats",
          destination_service: HOST,
        },
      },
      {
        name: "aeraki.meta_protocol.filters.router",
        config: { "@type": "type.googleapis.com/aeraki.meta_protocol_proxy.filters.router.v1alpha.Router" },
      },
    ],
  });
  assert.deepEqual(view.warnings, []);
  assertEncodes(view);
});

Deno.test("dubbo: mirror, header mutation and consistent hash", () => {
  const mirror = viewWith(
    "samples/metaprotocol-dubbo/destinationrule.yaml",
    "samples/metaprotocol-dubbo/traffic-mirroring.yaml",
  );
  const route = (v: ReturnType<typeof viewWith>) =>
    (v.view.routes.get(ROUTE)!.virtual_hosts as { routes: Record<string, Record<string, unknown>>[] }[])[0]
      .routes[0];
  assert.deepEqual(route(mirror).route.request_mirror_policies, [{
    cluster: `outbound|20880|v2|${HOST}`,
    runtime_fraction: { default_value: { numerator: 1_000_000, denominator: "MILLION" } },
  }]);
  const mutation = viewWith("samples/metaprotocol-dubbo/metarouter-header-mutation.yaml");
  assert.deepEqual(route(mutation).request_headers_to_add, [
    { header: { key: "foo", value: "bar" } },
    { header: { key: "foo1", value: "bar1" } },
  ]);
  const hash = viewWith("samples/metaprotocol-dubbo/consistent-hash-lb/destinationrule.yaml");
  assert.deepEqual(route(hash).route.hash_policy, [{ header: { header_name: "method" } }]);
  assert.equal(hash.view.clusters.get(`outbound|20880||${HOST}`)!.lb_policy, "RING_HASH");
  for (const v of [mirror, mutation, hash]) assertEncodes(v.view);
});

Deno.test("dubbo app-level: Kubernetes Services, routes on interface and method", () => {
  const host = "dubbo-sample-provider.meta-dubbo.svc.cluster.local";
  const model = buildMeshModel([
    ...loadSamples(
      "meta-dubbo",
      "samples/metaprotocol-dubbo-app-level/dubbo-sample.yaml",
      "samples/metaprotocol-dubbo-app-level/destinationrule.yaml",
      "samples/metaprotocol-dubbo-app-level/traffic-split.yaml",
    ),
    ...PODS,
  ]);
  assert.deepEqual(model.services.map((s) => s.host), [
    host,
    "dubbo-sample-second-provider.meta-dubbo.svc.cluster.local",
  ]);
  const view = decodedView(model, CONSUMER);
  const rc = view.routes.get(`${host}_20880`)!;
  const r = (rc.virtual_hosts as { routes: Record<string, Record<string, unknown>>[] }[])[0].routes[0];
  assert.deepEqual(r.match.headers, [
    { name: "interface", exact_match: "org.apache.dubbo.samples.basic.api.DemoService" },
    { name: "method", exact_match: "sayHello" },
    { name: "foo", exact_match: "bar" },
  ]);
  assert.deepEqual(
    (r.route.weighted_clusters as { clusters: { name: string }[] }).clusters.map((c) => c.name),
    [`outbound|20880|v1|${host}`, `outbound|20880|v2|${host}`],
  );
  // The Service selector picks the WorkloadEntries standing for its pods.
  const cla = view.endpoints.get(`outbound|20880|v2|${host}`)!;
  assert.equal(JSON.stringify(cla).includes("10.0.0.2"), true);
  assert.equal(JSON.stringify(cla).includes("10.0.0.1"), false);
  assertEncodes(view);
});
