import assert from "node:assert/strict";
import { metaRouteConfigFromRds } from "../../../proxy/rds_mapping.ts";
import { DEFAULT_REQUEST_TIMEOUT_MS, RouteTable } from "../../../proxy/meta/route_table.ts";

const p = { origin: "test.yaml", path: "route_config" };

Deno.test("route table: first match wins, no matchers match all, compiled actions", () => {
  const t = new RouteTable({
    name: "rc",
    routes: [
      {
        name: "a",
        match: { metadata: [{ name: "method", exact_match: "x" }] },
        route: {
          cluster: "ca",
          hash_policy: ["zeta", "alpha"],
          request_mirror_policies: [{
            cluster: "m",
            runtime_fraction: { default_value: { numerator: 25, denominator: "TEN_THOUSAND" } },
          }],
          timeout: { seconds: 2, nanos: 500_000_000 },
          retry_policy: { num_retries: { value: 3 }, retry_on: "reset" },
        },
        request_mutation: [{ key: "k", value: "v" }],
      },
      { name: "all", route: { cluster: "cb" } },
    ],
  }, p);
  const a = t.match(new Map([["method", "x"]]))!;
  assert.equal(a.name, "a");
  assert.deepEqual(a.hashKeys, ["alpha", "zeta"]);
  assert.equal(a.mirrors[0].fraction, 0.0025);
  assert.equal(a.timeoutMs, 2500);
  assert.deepEqual(a.retry, { numRetries: 3, onConnectFailure: false, onReset: true });
  assert.equal(a.requestMutation.get("k"), "v");
  const b = t.match(new Map([["method", "y"]]))!;
  assert.equal(b.name, "all");
  assert.equal(b.timeoutMs, DEFAULT_REQUEST_TIMEOUT_MS);
  assert.equal(b.mirrors.length, 0);
  assert.deepEqual([...t.clusterNames()].sort(), ["ca", "cb", "m"]);
});

Deno.test("route table: config errors carry the origin and field path", () => {
  assert.throws(
    () => new RouteTable({ routes: [{ name: "x", route: {} }] }, p),
    (e: Error) => /test\.yaml/.test(e.message) && /route_config\.routes\[0\]\.route/.test(e.message),
  );
  assert.throws(
    () =>
      new RouteTable({
        routes: [{ route: { weighted_clusters: { clusters: [{ name: "a", weight: { value: 0 } }] } } }],
      }, p),
    /weighted_clusters/,
  );
});

Deno.test("rds: Envoy HTTP RouteConfiguration maps to meta routes (spec §6)", () => {
  const meta = metaRouteConfigFromRds({
    name: "test",
    virtual_hosts: [{
      name: "dummy",
      domains: ["*"],
      routes: [{
        name: "r1",
        match: { prefix: "/", headers: [{ name: "method", exact_match: "sayHello" }] },
        route: {
          cluster: "c1",
          hash_policy: [{ header: { header_name: "user" } }],
          request_mirror_policies: [{
            cluster: "m",
            runtime_fraction: {
              default_value: { numerator: 500000, denominator: "MILLION" },
              runtime_key: "k",
            },
          }],
          timeout: { seconds: 1 },
        },
        request_headers_to_add: [{ header: { key: "foo", value: "bar" } }],
      }],
    }],
  }, "rds");
  const t = new RouteTable(meta, { origin: "rds", path: "" });
  const r = t.match(new Map([["method", "sayHello"]]))!;
  assert.equal(r.name, "r1");
  assert.equal(r.cluster, "c1");
  assert.deepEqual(r.hashKeys, ["user"]);
  assert.equal(r.mirrors[0].fraction, 0.5);
  assert.equal(r.requestMutation.get("foo"), "bar");
  assert.equal(r.timeoutMs, 1000);
  assert.equal(t.match(new Map([["method", "other"]])), undefined);
});
