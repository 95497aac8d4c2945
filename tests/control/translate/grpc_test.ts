/**
 * Proxyless gRPC route translation (`control/translate/grpc.ts`): VirtualService weights, gateway binding, match
 * ports, timeouts, and the no-route rule, on the RouteConfiguration `<host>:<port>` a proxyless node receives.
 */
import assert from "node:assert/strict";
import { buildMeshModel } from "../../../control/translate/model.ts";
import { assertEncodes, decodedView, resource, workload } from "./_support.ts";

const NS = "demo";
const HOST = `greeter.${NS}.svc.cluster.local`;
const PORT = 50051;
const NAME = `${HOST}:${PORT}`;
const cluster = (subset = "") => `outbound|${PORT}|${subset}|${HOST}`;

type Obj = Record<string, unknown>;

/** The routes of `<host>:<port>` for a proxyless node, given the VirtualService `spec` (none: no VirtualService). */
function routesFor(vsSpec?: Obj): Obj[] {
  const resources = [
    resource({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "greeter", namespace: NS },
      spec: {
        clusterIP: "10.96.1.1",
        selector: { app: "greeter" },
        ports: [{ name: "grpc-hello", port: PORT }, { name: "grpc-admin", port: 50052 }],
      },
    }),
    resource({
      apiVersion: "networking.istio.io/v1beta1",
      kind: "DestinationRule",
      metadata: { name: "greeter", namespace: NS },
      spec: {
        host: "greeter",
        subsets: [{ name: "v1", labels: { version: "v1" } }, { name: "v2", labels: { version: "v2" } }],
      },
    }),
    workload(NS, "g1", "127.0.0.1", { app: "greeter", version: "v1" }, { locality: "r/z" }),
    workload(NS, "g2", "127.0.0.2", { app: "greeter", version: "v2" }, { locality: "r/z" }),
  ];
  if (vsSpec) {
    resources.push(resource({
      apiVersion: "networking.istio.io/v1beta1",
      kind: "VirtualService",
      metadata: { name: "greeter", namespace: NS },
      spec: { hosts: ["greeter"], ...vsSpec },
    }));
  }
  const view = decodedView(buildMeshModel(resources), {
    id: `sidecar~10.0.0.5~client.${NS}~${NS}.svc.cluster.local`,
    metadata: { GENERATOR: "grpc", NAMESPACE: NS },
  });
  assertEncodes(view);
  const vh = (view.routes.get(NAME)!.virtual_hosts as Obj[])[0];
  return vh.routes as Obj[];
}

const split = (...weights: (number | undefined)[]) => ({
  http: [{
    route: weights.map((weight, i) => ({ destination: { host: "greeter", subset: `v${i + 1}` }, weight })),
  }],
});

Deno.test("grpc routes: no VirtualService → the whole service", () => {
  assert.deepEqual(routesFor(), [{ match: { prefix: "/" }, route: { cluster: cluster() } }]);
});

Deno.test("grpc routes: weights → weighted_clusters; weight-0 destinations dropped; one left → plain cluster", () => {
  assert.deepEqual(routesFor(split(30, 70))[0].route, {
    weighted_clusters: {
      clusters: [{ name: cluster("v1"), weight: { value: 30 } }, {
        name: cluster("v2"),
        weight: { value: 70 },
      }],
    },
  });
  assert.deepEqual(routesFor(split(0, 100)), [{ match: { prefix: "/" }, route: { cluster: cluster("v2") } }]);
  // Every weight 0 (Istio validation rejects it): an equal split rather than a sum of 0, which gRPC NACKs.
  assert.deepEqual(routesFor(split(undefined, undefined))[0].route, {
    weighted_clusters: {
      clusters: [{ name: cluster("v1"), weight: { value: 1 } }, {
        name: cluster("v2"),
        weight: { value: 1 },
      }],
    },
  });
  // A single destination needs no weight.
  assert.deepEqual(routesFor(split(undefined))[0].route, { cluster: cluster("v1") });
});

Deno.test("grpc routes: only VirtualService routes when it has some for the port (unmatched = no route, as Istio)", () => {
  const routes = routesFor({
    http: [{
      name: "canary",
      match: [{ headers: { "x-canary": { exact: "yes" } } }, { uri: { prefix: "/helloworld.Greeter/" } }],
      route: [{ destination: { host: "greeter", subset: "v2" } }],
      timeout: "1.5s",
    }],
  });
  const action = {
    cluster: cluster("v2"),
    timeout: { seconds: 1, nanos: 500_000_000 },
    max_stream_duration: { max_stream_duration: { seconds: 1, nanos: 500_000_000 } },
  };
  assert.deepEqual(routes, [
    {
      match: { prefix: "/", headers: [{ name: "x-canary", string_match: { exact: "yes" } }] },
      route: action,
      name: "canary",
    },
    { match: { prefix: "/helloworld.Greeter/" }, route: action, name: "canary" },
  ]);
});

Deno.test("grpc routes: gateway-only VirtualServices and matches, and matches of another port, do not apply", () => {
  const whole = [{ match: { prefix: "/" }, route: { cluster: cluster() } }];
  assert.deepEqual(routesFor({ gateways: ["edge/gw"], ...split(30, 70) }), whole);
  assert.equal(
    (routesFor({ gateways: ["edge/gw", "mesh"], ...split(30, 70) })[0].route as Obj).weighted_clusters !==
      undefined,
    true,
  );
  const route = [{ destination: { host: "greeter", subset: "v1" } }];
  assert.deepEqual(routesFor({ http: [{ match: [{ port: 50052 }], route }] }), whole);
  assert.deepEqual(routesFor({ http: [{ match: [{ gateways: ["edge/gw"] }], route }] }), whole);
  assert.deepEqual(routesFor({ http: [{ match: [{ port: PORT }, { port: 50052 }], route }] }), [
    { match: { prefix: "/" }, route: { cluster: cluster("v1") } },
  ]);
});
