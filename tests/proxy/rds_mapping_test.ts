import assert from "node:assert/strict";
import { decodeMessage, encodeMessage } from "../../crds/proto_wire.ts";
import { TypeUrls } from "../../crds/protos.ts";
import { metaRouteConfigFromRds } from "../../proxy/rds_mapping.ts";

const MILLION = { numerator: 250000, denominator: "MILLION" };

/** What Aeraki's MetaRDS sends for a MetaRouter with attributes, weights, mirror, mutation and hashing. */
const AERAKI_RDS = {
  name: "org.apache.dubbo.samples.basic.api.demoservice_20880",
  virtual_hosts: [{
    name: "dummy",
    domains: ["*"],
    routes: [
      {
        name: "v1",
        match: {
          prefix: "/",
          headers: [
            { name: "method", string_match: { exact: "sayHello" } },
            { name: "foo", safe_regex_match: { google_re2: {}, regex: "ba.*" } },
          ],
        },
        route: {
          weighted_clusters: {
            clusters: [
              { name: "outbound|20880|v1|demo", weight: { value: 20 }, request_headers_to_add: [] },
              { name: "outbound|20880|v2|demo", weight: { value: 80 } },
            ],
            total_weight: { value: 100 },
          },
          hash_policy: [{ header: { header_name: "user" } }],
          request_mirror_policies: [{
            cluster: "outbound|20880|v3|demo",
            runtime_fraction: { default_value: MILLION, runtime_key: "ignored" },
          }],
          timeout: { seconds: 2, nanos: 0 },
          retry_policy: {
            retry_on: "reset,connect-failure",
            num_retries: { value: 2 },
            retry_host_predicate: [],
          },
        },
        request_headers_to_add: [{ header: { key: "x-canary", value: "yes" } }],
        response_headers_to_add: [{ header: { key: "x-served-by", value: "v1" } }],
      },
      { name: "default", match: { prefix: "/" }, route: { cluster: "outbound|20880||demo" } },
    ],
  }],
};

Deno.test("rds mapping: Aeraki's RouteConfiguration becomes a meta route table (spec §6 field by field)", () => {
  const meta = metaRouteConfigFromRds(AERAKI_RDS);
  assert.deepEqual(meta, {
    name: "org.apache.dubbo.samples.basic.api.demoservice_20880",
    routes: [
      {
        name: "v1",
        match: {
          metadata: [
            { name: "method", string_match: { exact: "sayHello" } },
            { name: "foo", safe_regex_match: { google_re2: {}, regex: "ba.*" } },
          ],
        },
        route: {
          weighted_clusters: {
            clusters: [
              { name: "outbound|20880|v1|demo", weight: { value: 20 } },
              { name: "outbound|20880|v2|demo", weight: { value: 80 } },
            ],
            total_weight: { value: 100 },
          },
          hash_policy: ["user"],
          request_mirror_policies: [{
            cluster: "outbound|20880|v3|demo",
            runtime_fraction: { default_value: MILLION },
          }],
          timeout: { seconds: 2, nanos: 0 },
          retry_policy: { retry_on: "reset,connect-failure", num_retries: { value: 2 } },
        },
        request_mutation: [{ key: "x-canary", value: "yes" }],
        response_mutation: [{ key: "x-served-by", value: "v1" }],
      },
      { name: "default", match: {}, route: { cluster: "outbound|20880||demo" } },
    ],
  });
});

Deno.test("rds mapping: the result encodes as the meta RouteConfiguration; input survives the RDS wire", () => {
  const wire = decodeMessage(TypeUrls.routes, encodeMessage(TypeUrls.routes, AERAKI_RDS));
  const meta = metaRouteConfigFromRds(wire);
  const back = decodeMessage(
    TypeUrls.metaRouteConfiguration,
    encodeMessage(TypeUrls.metaRouteConfiguration, meta),
  );
  assert.equal((back.routes as unknown[]).length, 2);
  assert.deepEqual(back, meta);
});

Deno.test("rds mapping: errors name the route config and the field", () => {
  assert.throws(
    () => metaRouteConfigFromRds({ name: "x", virtual_hosts: [{ name: "a" }, { name: "b" }] }, "xds:RDS"),
    /Cannot map xds:RDS 'x': 2 virtual hosts, a meta route table has exactly one/,
  );
  assert.throws(
    () => metaRouteConfigFromRds({ name: "x", virtual_hosts: [{ routes: [{ name: "r", route: {} }] }] }),
    /Cannot map RDS 'x': virtual_hosts\[0\]\.routes\[0\]\.route: a meta route needs cluster or weighted_clusters/,
  );
  assert.throws(
    () =>
      metaRouteConfigFromRds({
        name: "x",
        virtual_hosts: [{
          routes: [{ route: { cluster: "c" }, request_headers_to_add: [{ header: { value: "v" } }] }],
        }],
      }),
    /request_headers_to_add\[0\]\.header: the key is empty/,
  );
  assert.deepEqual(metaRouteConfigFromRds({ name: "empty" }), { name: "empty", routes: [] });
});
