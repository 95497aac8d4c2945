/**
 * gRPC service definitions for `@grpc/grpc-js` (the xDS server and the proxy's xDS client), built from the
 * same pre-compiled descriptor as everything else, so nothing reads .proto files at run time.
 *
 * Messages cross grpc-js as plain objects with proto field names (snake_case); `Any` resources travel
 * pre-packed as `{ type_url, value: Uint8Array }` (see `crds/proto_wire.ts`).
 *
 * @module
 */
import * as protoLoader from "@grpc/proto-loader";
import type * as grpc from "@grpc/grpc-js";
import { protoDescriptor } from "./protos.ts";

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: true,
};

let definition: protoLoader.PackageDefinition | undefined;

function packageDefinition(): protoLoader.PackageDefinition {
  definition ??= protoLoader.fromJSON(protoDescriptor() as never, LOADER_OPTIONS);
  return definition;
}

/** Full service name → its grpc-js service definition (`envoy.service.discovery.v3.AggregatedDiscoveryService`). */
export function serviceDefinition(fullName: string): grpc.ServiceDefinition {
  const found = packageDefinition()[fullName];
  if (
    !found ||
    !("StreamAggregatedResources" in found || Object.values(found).some((m) => "path" in (m as object)))
  ) {
    throw new TypeError(`Cannot find gRPC service '${fullName}' in the descriptor`);
  }
  return found as unknown as grpc.ServiceDefinition;
}

/** The ADS service (SotW `StreamAggregatedResources` and `DeltaAggregatedResources`). */
export function adsService(): grpc.ServiceDefinition {
  return serviceDefinition("envoy.service.discovery.v3.AggregatedDiscoveryService");
}
