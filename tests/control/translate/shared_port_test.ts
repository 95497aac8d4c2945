/**
 * Address-less services sharing a port: Aeraki's metaprotocol-dubbo sample has two ServiceEntries (demoservice,
 * secondservice) on 20880 without `addresses`; metamesh serves them on ONE `0.0.0.0_20880` listener whose route
 * table `20880` concatenates both services' routes, each restricted by the ServiceEntry's `interface` annotation.
 */
import assert from "node:assert/strict";
import { buildMeshModel } from "../../../control/translate/model.ts";
import type { Resource } from "../../../crds/resources/mod.ts";
import {
  assertEncodes,
  decodedView,
  filterConfig,
  loadSamples,
  resource,
  sidecar,
  workload,
} from "./_support.ts";

const DEMO = "org.apache.dubbo.samples.basic.api.demoservice";
const SECOND = "org.apache.dubbo.samples.basic.api.secondservice";
const DEMO_IF = "org.apache.dubbo.samples.basic.api.DemoService";
const SECOND_IF = "org.apache.dubbo.samples.basic.api.SecondService";
const BASE = ["install/default-applicationprotocols.yaml", "samples/metaprotocol-dubbo/serviceentry.yaml"];
const PODS = [
  workload("meta-dubbo", "provider-v1", "10.0.0.1", { app: "dubbo-sample-provider", version: "v1" }),
  workload("meta-dubbo", "provider-v2", "10.0.0.2", { app: "dubbo-sample-provider", version: "v2" }),
  workload("meta-dubbo", "second", "10.0.0.3", { app: "dubbo-sample-second-provider", version: "v2" }),
];
const CONSUMER = sidecar("10.0.0.9", "consumer-1", "meta-dubbo", { app: "dubbo-sample-consumer" });

type Route = { name?: string; match: { headers?: unknown[] }; route: Record<string, unknown> };

function view(resources: Resource[]) {
  return decodedView(buildMeshModel(resources), CONSUMER);
}

function routesOf(rc: Record<string, unknown> | undefined): Route[] {
  assert.ok(rc, "route config must exist");
  return (rc.virtual_hosts as { routes: Route[] }[])[0].routes;
}

Deno.test("shared port: the dubbo sample's two ServiceEntries share 0.0.0.0_20880, told apart by interface", () => {
  const v = view([
    ...loadSamples("meta-dubbo", ...BASE, "samples/metaprotocol-dubbo/destinationrule.yaml"),
    ...PODS,
  ]);
  assert.deepEqual(v.warnings, []);
  assert.deepEqual([...v.listeners.keys()], ["0.0.0.0_20880"]);
  const config = filterConfig(v.listeners.get("0.0.0.0_20880"));
  assert.equal(config.stat_prefix, "0.0.0.0_20880");
  assert.deepEqual(config.rds, {
    config_source: { ads: {}, resource_api_version: "V3" },
    route_config_name: "20880",
  });
  assert.deepEqual(config.protocol, { name: "dubbo", codec: { name: "aeraki.meta_protocol.codec.dubbo" } });
  assert.deepEqual(routesOf(v.routes.get("20880")), [
    {
      name: "default",
      match: { prefix: "/", headers: [{ name: "interface", exact_match: DEMO_IF }] },
      route: { cluster: `outbound|20880||${DEMO}` },
    },
    {
      name: "default",
      match: { prefix: "/", headers: [{ name: "interface", exact_match: SECOND_IF }] },
      route: { cluster: `outbound|20880||${SECOND}` },
    },
  ]);
  // Each service's own Aeraki route table is still served (unused by this listener).
  assert.ok(v.routes.has(`${DEMO}_20880`) && v.routes.has(`${SECOND}_20880`));
  assertEncodes(v);
});

Deno.test("shared port: MetaRouter routes keep their matchers, the interface matcher is not repeated", () => {
  const v = view([
    ...loadSamples(
      "meta-dubbo",
      ...BASE,
      "samples/metaprotocol-dubbo/destinationrule.yaml",
      "samples/metaprotocol-dubbo/traffic-split.yaml",
    ),
    ...PODS,
  ]);
  const routes = routesOf(v.routes.get("20880"));
  assert.equal(routes.length, 2);
  assert.equal(routes[0].name, "traffic-split");
  assert.deepEqual(routes[0].match.headers, [
    { name: "interface", exact_match: DEMO_IF },
    { name: "method", exact_match: "sayHello" },
    { name: "foo", exact_match: "bar" },
  ]);
  assert.deepEqual(
    (routes[0].route.weighted_clusters as { clusters: { name: string }[] }).clusters.map((c) => c.name),
    [`outbound|20880|v1|${DEMO}`, `outbound|20880|v2|${DEMO}`],
  );
  assert.deepEqual(routes[1].match.headers, [{ name: "interface", exact_match: SECOND_IF }]);
  assertEncodes(v);
});

function entry(name: string, host: string, portName: string, annotations?: Record<string, string>): Resource {
  return resource({
    apiVersion: "networking.istio.io/v1alpha3",
    kind: "ServiceEntry",
    metadata: { name, namespace: "meta-dubbo", ...(annotations ? { annotations } : {}) },
    spec: {
      hosts: [host],
      ports: [{ number: 20880, name: portName, protocol: TCP }],
      resolution: "STATIC",
      endpoints: [{ address: "10.0.0.7" }],
    },
  });
}
const TCP = "TCP";

Deno.test("shared port: services that cannot be told apart keep the first and warn", () => {
  const v = view([
    entry("a", "a.example", "tcp-metaprotocol-dubbo"),
    entry("b", "b.example", "tcp-metaprotocol-dubbo", { interface: "B" }),
  ]);
  assert.deepEqual([...v.listeners.keys()], ["0.0.0.0_20880"]);
  assert.equal(filterConfig(v.listeners.get("0.0.0.0_20880")).stat_prefix, "outbound|20880||a.example");
  assert.equal(v.routes.has("20880"), false);
  assert.deepEqual(v.warnings, [
    "Cannot add listener 0.0.0.0_20880 for b.example: taken by a.example (its requests cannot be told apart)",
  ]);
  const same = view([
    entry("a", "a.example", "tcp-metaprotocol-dubbo", { interface: "X" }),
    entry("b", "b.example", "tcp-metaprotocol-dubbo", { interface: "X" }),
    entry("c", "c.example", "tcp-metaprotocol-dubbo", { interface: "C" }),
  ]);
  assert.deepEqual(same.warnings, [
    "Cannot add listener 0.0.0.0_20880 for b.example: taken by a.example (same interface=X)",
  ]);
  assert.deepEqual(
    routesOf(same.routes.get("20880")).map((r) => r.route.cluster),
    ["outbound|20880||a.example", "outbound|20880||c.example"],
  );
  assertEncodes(same);
});

Deno.test("shared port: different protocols on one port cannot share", () => {
  const v = view([
    entry("a", "a.example", "tcp-metaprotocol-dubbo", { interface: "A" }),
    entry("b", "b.example", "tcp-metaprotocol-thrift"),
    entry("c", "c.example", "tcp-redis"),
  ]);
  assert.equal(filterConfig(v.listeners.get("0.0.0.0_20880")).stat_prefix, "outbound|20880||a.example");
  assert.deepEqual(v.warnings, [
    "Cannot add listener 0.0.0.0_20880 for b.example: taken by a.example (different protocols cannot share a port)",
    "Cannot add listener 0.0.0.0_20880 for c.example: taken by a.example (different protocols cannot share a port)",
  ]);
});
