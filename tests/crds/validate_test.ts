import assert from "node:assert/strict";
import { durationToMs } from "../../crds/resources/mod.ts";
import { expandList, formatPath, validateResource } from "../../crds/validate.ts";

function metaRouter(spec: unknown, metadata: Record<string, unknown> = { name: "mr", namespace: "meta" }) {
  return { apiVersion: "metaprotocol.aeraki.io/v1alpha1", kind: "MetaRouter", metadata, spec };
}

function errorOf(obj: unknown, origin = "dir/a.yaml#3"): string {
  const result = validateResource(obj, origin);
  assert.equal(result.ok, false);
  assert.ok(!result.ok && !result.skipped, "expected an error, not a skip");
  return result.error;
}

Deno.test("an invalid weight names origin, kind, object, field path and reason", () => {
  const error = errorOf(
    metaRouter({ routes: [{ route: [{ destination: { host: "a" }, weight: "fifty" }] }] }),
  );
  assert.match(
    error,
    /^Cannot load MetaRouter meta\/mr from dir\/a\.yaml#3: spec\.routes\[0\]\.route\[0\]\.weight: /,
  );
  assert.match(error, /expected number, received string$/);
});

Deno.test("negative uint32 and out-of-range port are rejected with their paths", () => {
  assert.match(
    errorOf(metaRouter({ routes: [{ route: [{ weight: -1 }] }] })),
    /spec\.routes\[0\]\.route\[0\]\.weight/,
  );
  assert.match(
    errorOf(metaRouter({ routes: [{ mirror: { host: "h", port: { number: 70000 } } }] })),
    /spec\.routes\[0\]\.mirror\.port\.number: /,
  );
});

Deno.test("enum fields reject values outside the CRD enum", () => {
  const rs = {
    apiVersion: "redis.aeraki.io/v1alpha1",
    kind: "RedisService",
    metadata: { name: "r", namespace: "redis" },
    spec: { host: ["redis"], settings: { readPolicy: "NEAREST" } },
  };
  assert.match(errorOf(rs, "kube API"), /RedisService redis\/r from kube API: spec\.settings\.readPolicy: /);
  const dap = {
    apiVersion: "dubbo.aeraki.io/v1alpha1",
    kind: "DubboAuthorizationPolicy",
    metadata: { name: "d" },
    spec: { action: "AUDIT" },
  };
  assert.match(errorOf(dap), /DubboAuthorizationPolicy default\/d .*spec\.action/);
  const se = {
    apiVersion: "networking.istio.io/v1beta1",
    kind: "ServiceEntry",
    metadata: { name: "s" },
    spec: { hosts: ["a"], resolution: "MAGIC" },
  };
  assert.match(errorOf(se), /spec\.resolution/);
});

Deno.test("a string match with two alternatives violates the CRD oneOf; null and {} are accepted", () => {
  const bad = metaRouter({ routes: [{ match: { attributes: { method: { exact: "a", prefix: "b" } } } }] });
  assert.match(
    errorOf(bad),
    /spec\.routes\[0\]\.match\.attributes\.method: only one of exact, prefix, regex/,
  );
  const good = validateResource(
    metaRouter({ routes: [{ match: { attributes: { method: null, iface: {}, "x-y": { regex: "*" } } } }] }),
    "f#0",
  );
  assert.ok(good.ok);
  if (good.ok && good.resource.kind === "MetaRouter") {
    assert.deepEqual(good.resource.spec.routes?.[0].match?.attributes, {
      method: null,
      iface: {},
      "x-y": { regex: "*" },
    });
  }
});

Deno.test("durations follow Go syntax", () => {
  const bad = metaRouter({ globalRateLimit: { requestTimeout: "soon" } });
  assert.match(errorOf(bad), /spec\.globalRateLimit\.requestTimeout: expected a duration/);
  assert.equal(durationToMs("100ms"), 100);
  assert.equal(durationToMs("1h30m"), 5_400_000);
  assert.equal(durationToMs("1.5s"), 1500);
  assert.equal(durationToMs("0"), 0);
  assert.throws(() => durationToMs("5"), RangeError);
});

Deno.test("unknown extra fields pass through; null fields read as absent", () => {
  const result = validateResource(metaRouter({ hosts: ["a.b"], futureField: { x: 1 }, routes: null }), "f#0");
  assert.ok(result.ok);
  assert.deepEqual(result.resource.spec, { hosts: ["a.b"], futureField: { x: 1 } });
});

Deno.test("namespaces: default for namespaced kinds in files, empty key for cluster-scoped kinds", () => {
  const mr = validateResource(metaRouter({}, { name: "x" }), "f#0");
  assert.ok(mr.ok);
  assert.deepEqual(mr.key, { kind: "MetaRouter", namespace: "default", name: "x" });
  assert.equal(mr.resource.metadata.namespace, "default");
  const other = validateResource(metaRouter({}, { name: "x" }), "f#0", { defaultNamespace: "team" });
  assert.ok(other.ok);
  assert.equal(other.key.namespace, "team");
  const ap = validateResource({
    apiVersion: "metaprotocol.aeraki.io/v1alpha1",
    kind: "ApplicationProtocol",
    metadata: { name: "brpc", namespace: "ignored" },
    spec: { protocol: "brpc", codec: "aeraki.meta_protocol.codec.brpc" },
  }, "f#0");
  assert.ok(ap.ok);
  assert.deepEqual(ap.key, { kind: "ApplicationProtocol", namespace: "", name: "brpc" });
});

Deno.test("unsupported kinds and other groups are skipped with a reason, not errors", () => {
  const deploy = validateResource(
    { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d" } },
    "f#0",
  );
  assert.deepEqual(deploy, { ok: false, skipped: true, reason: "unsupported kind Deployment (apps/v1)" });
  const gw = validateResource(
    { apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway", metadata: {} },
    "f#1",
  );
  assert.ok(!gw.ok && gw.skipped);
  assert.ok(!validateResource(null, "f#2").ok);
});

Deno.test("wrong version of a supported group, missing name, missing kind are errors", () => {
  assert.match(errorOf({ ...metaRouter({}), apiVersion: "metaprotocol.aeraki.io/v9" }), /apiVersion: /);
  assert.match(errorOf(metaRouter({}, { namespace: "a" })), /MetaRouter \(unnamed\) from .*metadata\.name/);
  assert.match(errorOf({ apiVersion: "v1", metadata: { name: "a" } }), /kind is missing/);
  assert.match(errorOf([1, 2]), /not a YAML\/JSON object/);
});

Deno.test("Istio kinds validate under v1alpha3, v1beta1 and v1", () => {
  for (const version of ["v1alpha3", "v1beta1", "v1"]) {
    const result = validateResource({
      apiVersion: `networking.istio.io/${version}`,
      kind: "DestinationRule",
      metadata: { name: "dr", namespace: "n" },
      spec: { host: "h", trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: "method" } } } },
    }, "f#0");
    assert.ok(result.ok, version);
  }
});

Deno.test("Kubernetes kinds: Service port protocol, EndpointSlice addressType, Secret base64", () => {
  const svc = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "s" },
    spec: { ports: [{ port: 1, protocol: "tcp" }] },
  };
  assert.match(errorOf(svc), /spec\.ports\[0\]\.protocol/);
  const eps = {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "e" },
    endpoints: null,
  };
  assert.match(errorOf(eps), /addressType/);
  const ok = validateResource({ ...eps, addressType: "IPv4" }, "f#0");
  assert.ok(ok.ok && ok.resource.kind === "EndpointSlice");
  if (ok.ok && ok.resource.kind === "EndpointSlice") assert.deepEqual(ok.resource.endpoints, []);
  const secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "x" },
    data: { password: "not base64!" },
  };
  assert.match(errorOf(secret), /data\.password/);
});

Deno.test("List documents expand to their items; paths format", () => {
  assert.deepEqual(expandList({ kind: "List", apiVersion: "v1", items: [1, 2] }), [1, 2]);
  assert.deepEqual(expandList({ kind: "MetaRouterList", items: null }), []);
  assert.deepEqual(expandList({ kind: "MetaRouter" }), [{ kind: "MetaRouter" }]);
  assert.equal(formatPath(["spec", "a-b", 0, "c"]), 'spec["a-b"][0].c');
});
