import assert from "node:assert/strict";
import { descriptorText, PROTO_ENTRIES } from "../../crds/gen/generate.ts";
import { findType } from "../../crds/protos.ts";

Deno.test("the checked-in descriptor matches the .proto files (run `deno task gen` when this fails)", async () => {
  const checkedIn = await Deno.readTextFile(new URL("../../crds/gen/descriptor.json", import.meta.url));
  assert.equal(checkedIn.trim(), descriptorText());
  assert.ok(PROTO_ENTRIES.length > 10);
});

Deno.test("Aeraki's messages carry the field numbers of meta-protocol-proxy 1.3.1", () => {
  const numbers = (name: string) =>
    Object.fromEntries(findType(name)!.fieldsArray.map((f) => [f.name, f.id]));
  assert.deepEqual(numbers("aeraki.meta_protocol_proxy.v1alpha.MetaProtocolProxy"), {
    stat_prefix: 1,
    application_protocol: 2,
    rds: 3,
    route_config: 4,
    codec: 5,
    meta_protocol_filters: 6,
    tracing: 7,
    access_log: 8,
    idle_timeout: 11,
    protocol: 12,
  });
  assert.deepEqual(numbers("aeraki.meta_protocol_proxy.config.route.v1alpha.Route"), {
    name: 1,
    match: 2,
    route: 3,
    request_mutation: 19,
    response_mutation: 20,
  });
  assert.deepEqual(numbers("aeraki.meta_protocol_proxy.config.route.v1alpha.RouteAction"), {
    cluster: 1,
    weighted_clusters: 2,
    hash_policy: 10,
    request_mirror_policies: 11,
    timeout: 100, // metamesh extension
    retry_policy: 101, // metamesh extension
  });
  assert.deepEqual(numbers("aeraki.meta_protocol_proxy.filters.local_ratelimit.v1alpha.LocalRateLimit"), {
    stat_prefix: 1,
    token_bucket: 2,
    conditions: 3,
  });
  assert.deepEqual(numbers("aeraki.meta_protocol_proxy.filters.ratelimit.v1alpha.RateLimit"), {
    match: 1,
    domain: 2,
    timeout: 3,
    failure_mode_deny: 4,
    rate_limit_service: 5,
    descriptors: 6,
  });
  assert.deepEqual(numbers("aeraki.meta_protocol_proxy.v1alpha.ApplicationProtocol"), {
    name: 1,
    codec: 2,
    multiplexing: 3,
  });
  assert.deepEqual(numbers("aeraki.meta_protocol_proxy.v1alpha.Tracing"), {
    client_sampling: 3,
    random_sampling: 4,
    overall_sampling: 5,
    verbose: 6,
    max_tag_length: 7,
    provider: 9,
  });
});
