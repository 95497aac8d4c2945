/**
 * Meta routes ↔ RDS round trip through the proxy's own mapping, attribute matcher rules, node identity and
 * proxyless gRPC resources.
 */
import assert from "node:assert/strict";
import { buildMetaRoutes, headerMatchers, metaToRds } from "../../../control/translate/meta_routes.ts";
import { buildMeshModel } from "../../../control/translate/model.ts";
import { translateForNode } from "../../../control/translate/snapshot.ts";
import { nodeKeyOf, parseNode } from "../../../control/translate/node.ts";
import { metaRouteConfigFromRds } from "../../../proxy/rds_mapping.ts";
import { assertEncodes, decodedView, loadSamples, resource, sidecar, workload } from "./_support.ts";

const HOST = "org.apache.dubbo.samples.basic.api.demoservice";

Deno.test("attributes: exact/prefix/regex, '*' and null are presence, {} is dropped (Aeraki)", () => {
  assert.deepEqual(
    headerMatchers({
      attributes: {
        a: { exact: "x" },
        b: { prefix: "y" },
        c: { regex: "z.*" },
        d: { regex: "*" },
        e: null,
        f: {},
      },
    }),
    [
      { name: "a", exact_match: "x" },
      { name: "b", prefix_match: "y" },
      { name: "c", safe_regex_match: { google_re2: {}, regex: "z.*" } },
      { name: "d", present_match: true },
      { name: "e", present_match: true },
    ],
  );
});

Deno.test("metaToRds output maps back through the proxy's RDS mapping to the same meta routes", () => {
  for (const file of ["traffic-split.yaml", "traffic-mirroring.yaml", "metarouter-header-mutation.yaml"]) {
    const model = buildMeshModel(loadSamples(
      "meta-dubbo",
      "install/default-applicationprotocols.yaml",
      "samples/metaprotocol-dubbo/serviceentry.yaml",
      "samples/metaprotocol-dubbo/consistent-hash-lb/destinationrule.yaml",
      `samples/metaprotocol-dubbo/${file}`,
    ));
    const table = buildMetaRoutes(model, model.byHost.get(HOST)!, 20880);
    table.routes![0].route.timeout = { seconds: 2, nanos: 5 }; // metamesh extensions travel too
    table.routes![0].route.retry_policy = { retry_on: "connect-failure", num_retries: { value: 2 } };
    const back = metaRouteConfigFromRds(metaToRds(table), "test");
    assert.deepEqual(normalize(back), normalize(table), file);
  }
});

// The proxy fills defaults (`name: ""`, empty matchers) that canonical form omits.
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const n = normalize(v);
      const emptyList = Array.isArray(n) && n.length === 0;
      const emptyObject = n && typeof n === "object" && !Array.isArray(n) && Object.keys(n).length === 0;
      if (n !== "" && !emptyList && !(emptyObject && k === "match")) out[k] = n;
    }
    return out;
  }
  return value;
}

Deno.test("parseNode / nodeKeyOf: Istio ids, metadata wins, proxyless detection", () => {
  const node = parseNode({
    id: "sidecar~10.0.0.7~reviews-v1-abc.bookinfo~bookinfo.svc.cluster.local",
    metadata: { LABELS: { version: "v1", app: "reviews" } },
  });
  assert.deepEqual(node, {
    id: "sidecar~10.0.0.7~reviews-v1-abc.bookinfo~bookinfo.svc.cluster.local",
    type: "sidecar",
    ip: "10.0.0.7",
    podName: "reviews-v1-abc",
    namespace: "bookinfo",
    labels: { version: "v1", app: "reviews" },
    proxyless: false,
  });
  assert.equal(nodeKeyOf(node), "sidecar|proxy|bookinfo|10.0.0.7|app=reviews,version=v1");
  const gw = parseNode({
    id: "router~10.0.0.8~gw-1.istio-system~istio-system.svc.cluster.local",
    metadata: { NAMESPACE: "edge" },
  });
  assert.equal(gw.type, "router");
  assert.equal(gw.namespace, "edge");
  const grpc = parseNode({ id: "feas-node", user_agent_name: "gRPC Node Pure JS" });
  assert.equal(grpc.proxyless, true);
  assert.equal(grpc.namespace, "default");
});

Deno.test("proxyless gRPC: API listener, VirtualService weights over subsets, EDS with localities", () => {
  const host = "greeter.demo.svc.cluster.local";
  const model = buildMeshModel([
    resource({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "greeter", namespace: "demo" },
      spec: {
        clusterIP: "10.96.1.1",
        selector: { app: "greeter" },
        ports: [{ name: "grpc-hello", port: 50051 }],
      },
    }),
    resource({
      apiVersion: "networking.istio.io/v1beta1",
      kind: "DestinationRule",
      metadata: { name: "greeter", namespace: "demo" },
      spec: {
        host: "greeter",
        subsets: [{ name: "v1", labels: { version: "v1" } }, { name: "v2", labels: { version: "v2" } }],
      },
    }),
    resource({
      apiVersion: "networking.istio.io/v1beta1",
      kind: "VirtualService",
      metadata: { name: "greeter", namespace: "demo" },
      spec: {
        hosts: ["greeter"],
        http: [{
          route: [
            { destination: { host: "greeter", subset: "v1" }, weight: 30 },
            { destination: { host: "greeter", subset: "v2" }, weight: 70 },
          ],
        }],
      },
    }),
    workload("demo", "g1", "127.0.0.1", { app: "greeter", version: "v1" }, { locality: "eu/zone-a" }),
    workload("demo", "g2", "127.0.0.2", { app: "greeter", version: "v2" }, { locality: "eu/zone-a" }),
  ]);
  const view = decodedView(model, {
    id: "client",
    user_agent_name: "gRPC Node Pure JS",
    metadata: { NAMESPACE: "demo" },
  });
  const name = `${host}:50051`;
  assert.deepEqual([...view.listeners.keys()], [name]);
  const hcm =
    (view.listeners.get(name)!.api_listener as { api_listener: Record<string, unknown> }).api_listener;
  assert.deepEqual(hcm.rds, {
    config_source: { ads: {}, resource_api_version: "V3" },
    route_config_name: name,
  });
  assert.deepEqual(hcm.http_filters, [{
    name: "envoy.filters.http.router",
    typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" },
  }]);
  const vh = (view.routes.get(name)!.virtual_hosts as Record<string, unknown>[])[0];
  assert.deepEqual(vh.domains, [host, name]);
  assert.deepEqual((vh.routes as Record<string, unknown>[])[0], {
    match: { prefix: "/" },
    route: {
      weighted_clusters: {
        clusters: [
          { name: `outbound|50051|v1|${host}`, weight: { value: 30 } },
          { name: `outbound|50051|v2|${host}`, weight: { value: 70 } },
        ],
      },
    },
  });
  assert.deepEqual(view.endpoints.get(`outbound|50051|v1|${host}`), {
    cluster_name: `outbound|50051|v1|${host}`,
    endpoints: [{
      locality: { region: "eu", zone: "zone-a" },
      lb_endpoints: [{
        endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: 50051 } } },
        load_balancing_weight: { value: 1 },
      }],
      load_balancing_weight: { value: 1 },
    }],
  });
  assertEncodes(view);
  // A MetaProtocol proxy in the same namespace gets no API listener.
  assert.equal(decodedView(model, sidecar("10.0.0.1", "x", "demo")).listeners.has(name), false);
});

Deno.test("exportTo: ServiceEntry '.' hides the service from other namespaces; views are cached per node key", () => {
  const model = buildMeshModel([
    resource({
      apiVersion: "networking.istio.io/v1beta1",
      kind: "ServiceEntry",
      metadata: { name: "private", namespace: "a" },
      spec: {
        hosts: ["private.a"],
        addresses: ["240.240.0.9"],
        exportTo: ["."],
        ports: [{ number: 9090, name: "tcp-thrift" }],
      },
    }),
  ]);
  const inA = decodedView(model, sidecar("10.0.0.1", "p", "a"));
  assert.ok(inA.listeners.has("240.240.0.9_9090"));
  assert.equal(decodedView(model, sidecar("10.0.0.2", "q", "b")).listeners.size, 0);
  const packed = translateForNode(model, sidecar("10.0.0.1", "p", "a"));
  assert.equal(translateForNode(model, sidecar("10.0.0.1", "p2", "a")), packed);
});

Deno.test("exportTo: a MetaRouter's exportTo limits which namespaces get its MetaProtocol listener and routes", () => {
  const model = buildMeshModel([
    resource({
      apiVersion: "networking.istio.io/v1beta1",
      kind: "ServiceEntry",
      metadata: { name: "svc", namespace: "a" },
      spec: {
        hosts: ["svc.a"],
        addresses: ["240.240.0.7"],
        ports: [{ number: 7000, name: "tcp-metaprotocol-thrift-x" }],
      },
    }),
    resource({
      apiVersion: "metaprotocol.aeraki.io/v1alpha1",
      kind: "MetaRouter",
      metadata: { name: "svc", namespace: "a" },
      spec: {
        hosts: ["svc.a"],
        exportTo: [".", "c"],
        routes: [{ name: "all", route: [{ destination: { host: "svc.a" } }] }],
      },
    }),
  ]);
  for (const [namespace, visible] of [["a", true], ["b", false], ["c", true]] as const) {
    const view = decodedView(model, sidecar("10.0.0.1", "p", namespace));
    assert.equal(view.listeners.has("240.240.0.7_7000"), visible, namespace);
    assert.equal(view.routes.has("svc.a_7000"), visible, namespace);
    assert.ok(view.clusters.has("outbound|7000||svc.a"), namespace); // the service itself stays reachable
  }
});
