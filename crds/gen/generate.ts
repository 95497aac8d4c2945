/**
 * Regenerates `crds/gen/descriptor.json`: Envoy's official protos (from `@grpc/grpc-js-xds/deps`, never
 * retyped) plus Aeraki's (`crds/proto/`), compiled once into one protobufjs JSON descriptor. metamesh
 * loads that JSON at run time, so a bundled metamesh reads nothing from node_modules.
 *
 * Run `deno task gen` after changing `crds/proto/` or the list below; `tests/crds/descriptor_test.ts`
 * fails while the checked-in descriptor is stale.
 *
 * @module
 */
import protobuf from "protobufjs";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Entry files; their imports are followed. */
export const PROTO_ENTRIES: readonly string[] = [
  "envoy/config/bootstrap/v3/bootstrap.proto",
  "envoy/service/discovery/v3/ads.proto",
  "envoy/config/route/v3/route.proto",
  "envoy/config/endpoint/v3/endpoint.proto",
  "envoy/config/listener/v3/listener.proto",
  "envoy/config/cluster/v3/cluster.proto",
  "envoy/extensions/filters/network/redis_proxy/v3/redis_proxy.proto",
  "envoy/extensions/clusters/redis/v3/redis_cluster.proto",
  "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
  "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto",
  "envoy/extensions/filters/http/router/v3/router.proto",
  "envoy/extensions/access_loggers/file/v3/file.proto",
  "envoy/extensions/transport_sockets/tls/v3/tls.proto",
  "envoy/extensions/upstreams/http/v3/http_protocol_options.proto",
  "envoy/config/trace/v3/zipkin.proto",
  "envoy/config/trace/v3/opentelemetry.proto",
  "envoy/service/ratelimit/v3/rls.proto",
  "aeraki/meta_protocol_proxy/v1alpha/meta_protocol_proxy.proto",
  "aeraki/meta_protocol_proxy/filters/router.proto",
  "aeraki/meta_protocol_proxy/filters/local_ratelimit.proto",
  "aeraki/meta_protocol_proxy/filters/global_ratelimit.proto",
  "aeraki/meta_protocol_proxy/filters/metadata_exchange.proto",
  "aeraki/meta_protocol_proxy/filters/istio_stats.proto",
  "aeraki/meta_protocol_proxy/codec/codecs.proto",
  "metamesh/codec/declarative.proto",
];

const repo = resolve(fileURLToPath(new URL("../../", import.meta.url)));
const deps = resolve(repo, "node_modules/@grpc/grpc-js-xds/deps");
const INCLUDE_DIRS = [
  resolve(repo, "crds/proto"),
  resolve(deps, "envoy-api"),
  resolve(deps, "xds"),
  resolve(deps, "googleapis"),
  resolve(deps, "protoc-gen-validate"),
];

/** Loads every entry proto into one root (field names kept as in the .proto files). */
export function loadProtoRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string) => {
    if (target.startsWith("google/protobuf/")) {
      // protobufjs has the well-known types built in; descriptor.proto ships beside them as a file.
      const shipped = resolve(repo, "node_modules/protobufjs", target);
      return existsSync(shipped) ? shipped : target;
    }
    for (const dir of INCLUDE_DIRS) {
      const candidate = resolve(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  root.loadSync(
    PROTO_ENTRIES.filter((f) => !f.startsWith("metamesh/") || existsSync(resolve(repo, "crds/proto", f))),
    {
      keepCase: true,
    },
  );
  root.resolveAll();
  return root;
}

/** The descriptor JSON text for the current protos (stable key order). */
export function descriptorText(): string {
  return JSON.stringify(loadProtoRoot().toJSON({ keepComments: false }));
}

if (import.meta.main) {
  const out = resolve(repo, "crds/gen/descriptor.json");
  const text = descriptorText();
  await Deno.writeTextFile(out, text + "\n");
  console.log(`wrote ${out} (${(text.length / 1024).toFixed(0)} KiB)`);
}
