import assert from "node:assert/strict";
import { ConfigError, durationMs, loadBootstrapFile, toCanonical } from "../../crds/proto_json.ts";
import { decodeMessage, encodeMessage, packAny, unpackAny } from "../../crds/proto_wire.ts";
import { TypeUrls } from "../../crds/protos.ts";
import { aerakiPath } from "../support/paths.ts";

const BOOTSTRAPS = [
  "dubbo/test.yaml",
  "thrift/test.yaml",
  "rds/test.yaml",
  "brpc/test.yaml",
  "hash_policy/test.yaml",
  "idle_timeout/test.yaml",
  "global-ratelimit/test.yaml",
  "local-ratelimit/test-full-match-condition.yaml",
  "local-ratelimit/test-full-no-matched-condition.yaml",
  "local-ratelimit/test-no-global-bucket-match-condition.yaml",
  "local-ratelimit/test-no-global-bucket-no-matched-condition.yaml",
  "local-ratelimit/test-only-global-token.yaml",
];

// deno-lint-ignore no-explicit-any -- tests walk deep into canonical config objects
type Obj = Record<string, any>;

Deno.test("every Aeraki data-plane bootstrap loads unchanged with no unknown field", () => {
  for (const file of BOOTSTRAPS) {
    const { bootstrap, warnings } = loadBootstrapFile(aerakiPath("dataplane-envoy-configs", file));
    assert.deepEqual(warnings, [], file);
    const listeners = (bootstrap as Obj).static_resources.listeners;
    assert.ok(Array.isArray(listeners) && listeners.length >= 1, `${file}: listeners become a list`);
    const filter = listeners[0].filter_chains[0].filters[0];
    assert.equal(filter.typed_config["@type"], TypeUrls.metaProtocolProxy, file);
    assert.ok(filter.typed_config.stat_prefix, `${file}: statPrefix is read as stat_prefix`);
  }
});

Deno.test("dubbo bootstrap: camelCase keys, Any configs, durations and fractions in canonical form", () => {
  const { bootstrap } = loadBootstrapFile(aerakiPath("dataplane-envoy-configs/dubbo/test.yaml")) as {
    bootstrap: Obj;
  };
  const mpp = bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  assert.deepEqual(mpp.protocol, {
    name: "dubbo",
    codec: { name: "aeraki.meta_protocol.codec.dubbo" },
    multiplexing: true,
  });
  assert.equal(mpp.meta_protocol_filters.length, 3);
  assert.equal(
    mpp.meta_protocol_filters[1].config.destination_service,
    "org.apache.dubbo.samples.basic.api.demoservice",
  );
  const route = mpp.route_config.routes[0];
  assert.deepEqual(route.request_mutation, [{ key: "foo", value: "bar" }, { key: "foo1", value: "bar1" }]);
  assert.deepEqual(route.route.request_mirror_policies[0].runtime_fraction, {
    default_value: { numerator: 50 },
  });
  assert.equal(mpp.access_log[0].typed_config.path, "/dev/stdout");
  const cluster = bootstrap.static_resources.clusters[0];
  assert.deepEqual(cluster.connect_timeout, { seconds: 5, nanos: 0 });
  assert.equal(cluster.type, "STATIC");
  assert.equal(durationMs(cluster.connect_timeout, 0), 5000);
  assert.equal(
    bootstrap.tracing.http.typed_config["@type"],
    "type.googleapis.com/envoy.config.trace.v3.ZipkinConfig",
  );
});

Deno.test("toCanonical: errors name the origin and the field path", () => {
  const cases: Array<[unknown, string, RegExp]> = [
    [
      { static_resources: { clusters: [{ name: "a", type: "BOGUS" }] } },
      "static_resources.clusters[0].type",
      /not a value of DiscoveryType/,
    ],
    [
      { static_resources: { clusters: [{ name: 7 }] } },
      "static_resources.clusters[0].name",
      /expected a string/,
    ],
    [
      { static_resources: { clusters: [{ connect_timeout: "5 seconds" }] } },
      "static_resources.clusters[0].connect_timeout",
      /duration/,
    ],
    [
      { static_resources: { clusters: [{ type: "STATIC", cluster_type: { name: "x" } }] } },
      "static_resources.clusters[0].cluster_type",
      /only one of/,
    ],
    [
      { admin: { address: { socket_address: { port_value: -1 } } } },
      "admin.address.socket_address.port_value",
      /non-negative/,
    ],
  ];
  for (const [json, path, reason] of cases) {
    assert.throws(
      () => toCanonical("envoy.config.bootstrap.v3.Bootstrap", json, "f.yaml"),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.origin, "f.yaml");
        assert.equal(error.path, path);
        assert.match(error.message, reason);
        return true;
      },
    );
  }
});

Deno.test("toCanonical: unknown fields and unknown Any types are reported, not fatal", () => {
  const { value, unknown } = toCanonical("envoy.config.bootstrap.v3.Bootstrap", {
    bogusField: 1,
    static_resources: {
      clusters: [{
        name: "c",
        typed_extension_protocol_options: { x: { "@type": "type.googleapis.com/no.Such" } },
      }],
    },
  }, "f");
  assert.deepEqual(unknown, [
    "bogusField (not a field of envoy.config.bootstrap.v3.Bootstrap)",
    "static_resources.clusters[0].typed_extension_protocol_options.x (type type.googleapis.com/no.Such is not known to metamesh)",
  ]);
  assert.equal((value as Obj).static_resources.clusters[0].name, "c");
});

Deno.test("canonical ↔ wire: every bootstrap's listeners and clusters survive encode/decode", () => {
  for (const file of BOOTSTRAPS) {
    const { bootstrap } = loadBootstrapFile(aerakiPath("dataplane-envoy-configs", file)) as {
      bootstrap: Obj;
    };
    for (const listener of bootstrap.static_resources.listeners) {
      const bytes = encodeMessage("envoy.config.listener.v3.Listener", listener);
      assert.deepEqual(decodeMessage("envoy.config.listener.v3.Listener", bytes), listener, file);
    }
    for (const cluster of bootstrap.static_resources.clusters) {
      const back = decodeMessage(TypeUrls.cluster, encodeMessage(TypeUrls.cluster, cluster));
      assert.deepEqual(back, cluster, file);
    }
  }
});

Deno.test("packAny/unpackAny: Struct metadata and wrapper values round-trip", () => {
  const cluster = {
    "@type": TypeUrls.cluster,
    name: "c",
    metadata: { filter_metadata: { istio: { labels: { app: "x" }, n: 2, ok: true, list: ["a", null] } } },
    per_connection_buffer_limit_bytes: { value: 1024 },
  };
  const any = packAny(cluster);
  assert.equal(any.type_url, TypeUrls.cluster);
  assert.deepEqual(unpackAny(any), cluster);
});
