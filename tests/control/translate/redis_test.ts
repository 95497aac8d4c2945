/**
 * Aeraki's redis samples: RedisService routing, mirroring, faults, read policy, client auth; RedisDestination
 * server auth (Secret) and cluster mode.
 */
import assert from "node:assert/strict";
import type { Resource } from "../../../crds/resources/mod.ts";
import { buildMeshModel } from "../../../control/translate/model.ts";
import { assertEncodes, decodedView, filterConfig, loadSamples, resource, sidecar } from "./_support.ts";

const SINGLE = "redis-single.redis.svc.cluster.local";
const CLUSTER = "redis-cluster.redis.svc.cluster.local";
const BASE = ["samples/redis/redis-single.yaml", "samples/redis/redis-cluster.yaml"];
const CLIENT = sidecar("10.3.0.9", "redis-client-1", "redis", { app: "redis-client" });

// What the API server assigns when the sample Services are applied.
const CLUSTER_IPS: Record<string, string> = { "redis-single": "10.96.0.11", "redis-cluster": "10.96.0.12" };

function redisView(...files: (string | Resource)[]) {
  const resources = loadSamples("redis", ...BASE, ...files.filter((f) => typeof f === "string"));
  resources.push(...files.filter((f) => typeof f !== "string"));
  for (const r of resources) if (r.kind === "Service") r.spec.clusterIP = CLUSTER_IPS[r.metadata.name];
  const model = buildMeshModel(resources);
  const view = decodedView(model, CLIENT);
  const listenerOf = (host: string) => {
    const service = model.byHost.get(host)!;
    return view.listeners.get(`${service.addresses[0]}_6379`);
  };
  return { model, view, listenerOf };
}

Deno.test("redis: no RedisService is a catch-all to the service, op_timeout 60 s", () => {
  const { view, listenerOf } = redisView();
  const config = filterConfig(listenerOf(SINGLE));
  assert.equal(
    config["@type"],
    "type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy",
  );
  assert.equal(config.stat_prefix, `outbound|6379||${SINGLE}`);
  assert.deepEqual(config.settings, { op_timeout: { seconds: 60 } });
  assert.deepEqual(config.prefix_routes, { catch_all_route: { cluster: `outbound|6379||${SINGLE}` } });
  const cluster = view.clusters.get(`outbound|6379||${SINGLE}`)!;
  assert.equal(cluster.lb_policy, "MAGLEV");
  assertEncodes(view);
});

Deno.test("redis: key-prefix routing, mirroring, faults, read policy", () => {
  const routing = filterConfig(redisView("samples/redis/routing.yaml").listenerOf(CLUSTER));
  assert.deepEqual(routing.prefix_routes, {
    routes: [{ prefix: "cluster", cluster: `outbound|6379||${CLUSTER}` }],
    catch_all_route: { cluster: `outbound|6379||${SINGLE}` },
  });
  const mirror = filterConfig(redisView("samples/redis/traffic-mirroring.yaml").listenerOf(CLUSTER));
  assert.deepEqual(mirror.prefix_routes, {
    catch_all_route: {
      cluster: `outbound|6379||${CLUSTER}`,
      request_mirror_policy: [{
        cluster: `outbound|6379||${SINGLE}`,
        runtime_fraction: { default_value: { numerator: 1_000_000, denominator: "MILLION" } },
      }],
    },
  });
  const faults = redisView("samples/redis/fault-injection.yaml");
  // Envoy's RedisFaultType defaults to DELAY (0): ERROR must be explicit.
  assert.deepEqual(filterConfig(faults.listenerOf(CLUSTER)).faults, [{
    fault_enabled: { default_value: { numerator: 500_000, denominator: "MILLION" } },
    fault_type: "ERROR",
    commands: ["GET"],
  }]);
  assertEncodes(faults.view);
  const read = redisView("samples/redis/read-policy.yaml");
  assert.equal(
    (filterConfig(read.listenerOf(CLUSTER)).settings as Record<string, unknown>).read_policy,
    "REPLICA",
  );
  assertEncodes(read.view);
});

Deno.test("redis: client-side password, server-side password from a Secret, cluster mode", () => {
  const client = redisView("samples/redis/client-side-password.yaml");
  assert.deepEqual(filterConfig(client.listenerOf(SINGLE)).downstream_auth_password, {
    inline_string: "testredis123!",
  });
  const server = redisView("samples/redis/server-side-password.yaml");
  const options = server.view.clusters.get(`outbound|6379||${SINGLE}`)!.typed_extension_protocol_options;
  assert.deepEqual(options, {
    "envoy.filters.network.redis_proxy": {
      "@type": "type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProtocolOptions",
      auth_password: { inline_string: "testredis" }, // the Secret's value, trimmed as Aeraki
    },
  });
  assertEncodes(server.view);
  const cluster = redisView("samples/redis/cluster.yaml");
  const c = cluster.view.clusters.get(`outbound|6379||${CLUSTER}`)!;
  assert.equal(c.type, undefined);
  assert.equal((c.cluster_type as { name: string }).name, "envoy.clusters.redis");
  assert.equal(c.lb_policy, "CLUSTER_PROVIDED");
  assert.equal(cluster.view.endpoints.has(`outbound|6379||${CLUSTER}`), false);
  assertEncodes(cluster.view);
});

/** The RedisService of fault-injection.yaml with a DELAY fault instead (Aeraki's `type` defaults to DELAY). */
function delayFault(type?: string): Resource {
  return resource({
    apiVersion: "redis.aeraki.io/v1alpha1",
    kind: "RedisService",
    metadata: { name: "redis-cluster", namespace: "redis" },
    spec: {
      host: [CLUSTER],
      redis: [{ route: { host: CLUSTER } }],
      faults: [{ ...(type ? { type } : {}), percentage: { value: 30 }, delay: "0.025s", commands: ["GET"] }],
    },
  });
}

Deno.test("redis: a DELAY fault (explicit or Aeraki's default type) has no fault_type (Envoy's default)", () => {
  for (const fault of [delayFault("DELAY"), delayFault()]) {
    const view = redisView(fault);
    assert.deepEqual(filterConfig(view.listenerOf(CLUSTER)).faults, [{
      fault_enabled: { default_value: { numerator: 300_000, denominator: "MILLION" } },
      delay: { nanos: 25_000_000 },
      commands: ["GET"],
    }]);
    assertEncodes(view.view);
  }
});

/** An EndpointSlice of `service` (one ready address, named ports). */
function slice(service: string, name: string, address: string, ports: Record<string, number>): Resource {
  return resource({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, namespace: "redis", labels: { "kubernetes.io/service-name": service } },
    addressType: "IPv4",
    ports: Object.entries(ports).map(([n, port]) => ({ name: n, port, protocol: "TCP" })),
    endpoints: [{ addresses: [address], conditions: { ready: true } }],
  });
}

type SocketAddress = { address: string; port_value: number };

function seeds(cluster: Record<string, unknown>): string[] {
  const la = cluster.load_assignment as {
    endpoints: { lb_endpoints: { endpoint: { address: { socket_address: SocketAddress } } }[] }[];
  };
  return la.endpoints[0].lb_endpoints.map((e) => {
    const sa = e.endpoint.address.socket_address;
    return `${sa.address}:${sa.port_value}`;
  });
}

Deno.test("redis: cluster mode seeds are the service's endpoints (pod IP, target port), else the host", () => {
  const name = `outbound|6379||${CLUSTER}`;
  // No endpoints known: Aeraki's `<host>:<port>`, resolved by the proxy.
  assert.deepEqual(seeds(redisView("samples/redis/cluster.yaml").view.clusters.get(name)!), [
    `${CLUSTER}:6379`,
  ]);
  // The pods of the StatefulSet, as the endpoints controller lists them: no cluster DNS or kube-proxy needed.
  const pods = [
    slice("redis-cluster", "redis-cluster-a", "10.244.0.10", { "tcp-redis": 6379, "tcp-gossip": 16379 }),
    slice("redis-cluster", "redis-cluster-b", "10.244.0.11", { "tcp-redis": 7001, "tcp-gossip": 17001 }),
  ];
  const withPods = redisView("samples/redis/cluster.yaml", ...pods);
  const c = withPods.view.clusters.get(name)!;
  assert.deepEqual(seeds(c), ["10.244.0.10:6379", "10.244.0.11:7001"]);
  assert.equal(c.lb_policy, "CLUSTER_PROVIDED");
  assert.equal(withPods.view.endpoints.has(name), false);
  assertEncodes(withPods.view);
  // `discoveryEndpoints` win (default port: the service port).
  const explicit = resource({
    apiVersion: "redis.aeraki.io/v1alpha1",
    kind: "RedisDestination",
    metadata: { name: "redis-cluster", namespace: "redis" },
    spec: {
      host: CLUSTER,
      trafficPolicy: {
        connectionPool: { redis: { mode: "CLUSTER", discoveryEndpoints: ["10.0.0.1:7000", "seed.example"] } },
      },
    },
  });
  assert.deepEqual(seeds(redisView(explicit, ...pods).view.clusters.get(name)!), [
    "10.0.0.1:7000",
    "seed.example:6379",
  ]);
});

Deno.test("redis: external-redis.yaml (Service + EndpointSlice of a Redis outside the cluster) unchanged", () => {
  const model = buildMeshModel(loadSamples("redis", "samples/redis/external-redis.yaml"));
  const view = decodedView(model, CLIENT);
  const host = "external-redis.redis.svc.cluster.local";
  // No ClusterIP in the file: metamesh binds the address-less service on 0.0.0.0.
  const config = filterConfig(view.listeners.get("0.0.0.0_6379"));
  assert.deepEqual(config.prefix_routes, { catch_all_route: { cluster: `outbound|6379||${host}` } });
  const cla = view.endpoints.get(`outbound|6379||${host}`) as {
    endpoints: { lb_endpoints: { endpoint: { address: { socket_address: SocketAddress } } }[] }[];
  };
  assert.deepEqual(cla.endpoints[0].lb_endpoints.map((e) => e.endpoint.address.socket_address), [
    { address: "10.244.0.26", port_value: 6379 },
  ]);
  assertEncodes(view);
});
