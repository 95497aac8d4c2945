/**
 * A minimal SotW ADS client for the benchmark, shaped like a proxy: CDS and LDS wildcard, then EDS for every EDS
 * cluster and RDS for every route name the listeners reference; every resource is decoded (`unpackAny`) and each
 * response ACKed. Unlike `proxy/xds_client.ts` it accepts messages of any size (grpc-js's default 4 MiB receive
 * limit is exceeded by the LDS/CDS/EDS responses of a 10,000-service mesh).
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { adsService } from "../../crds/grpc_services.ts";
import { unpackAny } from "../../crds/proto_wire.ts";
import { TypeUrls } from "../../crds/protos.ts";

type Obj = Record<string, unknown>;
type Any = { type_url: string; value: Uint8Array };

/** One ADS stream; `onRoute(name, canonical)` is called for each RouteConfiguration applied (before the ACK). */
export class AdsStream {
  readonly #client: grpc.Client;
  readonly #call: grpc.ClientDuplexStream<Obj, Obj>;
  readonly #node: Obj;
  readonly #names = new Map<string, string[]>();
  readonly #versions = new Map<string, string>();
  readonly #nonces = new Map<string, string>();

  constructor(target: string, node: Obj, onRoute: (name: string, route: Obj) => void) {
    this.#node = node;
    this.#client = new grpc.Client(target, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": -1,
    });
    const def = adsService().StreamAggregatedResources;
    this.#call = this.#client.makeBidiStreamRequest(
      def.path,
      def.requestSerialize as (v: Obj) => Buffer,
      def.responseDeserialize as (b: Buffer) => Obj,
    );
    this.#call.on("error", () => {});
    this.#call.on("data", (response: Obj) => {
      const type = String(response.type_url);
      const resources = ((response.resources ?? []) as Any[]).map((a) => unpackAny(a));
      this.#versions.set(type, String(response.version_info ?? ""));
      this.#nonces.set(type, String(response.nonce ?? ""));
      if (type === TypeUrls.routes) { for (const r of resources) onRoute(String(r.name), r); }
      this.#request(type);
      if (type === TypeUrls.listener) this.#follow(TypeUrls.routes, resources.flatMap(routeNames));
      if (type === TypeUrls.cluster) {
        this.#follow(
          TypeUrls.endpoints,
          resources.filter((c) => c.type === "EDS").map((c) => String(c.name)),
        );
      }
    });
    this.#request(TypeUrls.cluster);
    this.#request(TypeUrls.listener);
  }

  /** Ends the stream. */
  close(): void {
    this.#call.end();
    this.#call.cancel();
    this.#client.close();
  }

  #follow(type: string, names: string[]): void {
    const sorted = [...new Set(names)].sort();
    if (JSON.stringify(sorted) === JSON.stringify(this.#names.get(type) ?? [])) return;
    this.#names.set(type, sorted);
    this.#request(type);
  }

  #request(type: string): void {
    this.#call.write({
      node: this.#node,
      type_url: type,
      resource_names: this.#names.get(type) ?? [],
      version_info: this.#versions.get(type) ?? "",
      response_nonce: this.#nonces.get(type) ?? "",
    });
  }
}

function routeNames(listener: Obj): string[] {
  const out: string[] = [];
  for (const chain of (listener.filter_chains ?? []) as Obj[]) {
    for (const filter of (chain.filters ?? []) as Obj[]) {
      const rds = (filter.typed_config as Obj | undefined)?.rds as Obj | undefined;
      if (rds?.route_config_name) out.push(String(rds.route_config_name));
    }
  }
  return out;
}
