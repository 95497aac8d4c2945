/**
 * A minimal SotW ADS client for the benchmark, shaped like a proxy: CDS and LDS wildcard, then EDS for every EDS
 * cluster and RDS for every route name the listeners reference; each response ACKed. Unlike
 * `proxy/xds_client.ts` it accepts messages of any size (grpc-js's default 4 MiB receive limit is exceeded by
 * the LDS/CDS/EDS responses of a 10,000-service mesh).
 *
 * It decodes only what it needs, so that 10 of them in one process measure the server and not themselves: the
 * DiscoveryResponse envelope is read by hand (resources stay bytes), Listeners and Clusters are decoded with
 * protobufjs (no canonical conversion) for the RDS/EDS names they reference, RouteConfigurations only for their
 * name (field 1) until `onRoute`'s `decode()` is called, ClusterLoadAssignments not at all.
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import type { Buffer } from "node:buffer";
import type protobuf from "protobufjs";
import { adsService } from "../../crds/grpc_services.ts";
import { unpackAny } from "../../crds/proto_wire.ts";
import { mustFindType, TypeUrls } from "../../crds/protos.ts";

type Obj = Record<string, unknown>;
type Any = { type_url: string; value: Uint8Array };
interface Response {
  version: string;
  typeUrl: string;
  nonce: string;
  resources: Any[];
}

/** Called for each RouteConfiguration applied (before the ACK); `decode()` gives its canonical form. */
export type OnRoute = (name: string, decode: () => Obj) => void;

/** One ADS stream. */
export class AdsStream {
  readonly #client: grpc.Client;
  readonly #call: grpc.ClientDuplexStream<Obj, Response>;
  readonly #node: Obj;
  readonly #names = new Map<string, string[]>();
  readonly #versions = new Map<string, string>();
  readonly #nonces = new Map<string, string>();

  constructor(target: string, node: Obj, onRoute: OnRoute) {
    this.#node = node;
    this.#client = new grpc.Client(target, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": -1,
    });
    const def = adsService().StreamAggregatedResources;
    this.#call = this.#client.makeBidiStreamRequest(
      def.path,
      def.requestSerialize as (v: Obj) => Buffer,
      readResponse,
    );
    this.#call.on("error", () => {});
    this.#call.on("data", (response: Response) => {
      const type = response.typeUrl;
      this.#versions.set(type, response.version);
      this.#nonces.set(type, response.nonce);
      if (type === TypeUrls.routes) {
        for (const any of response.resources) onRoute(firstString(any.value), () => unpackAny(any));
      }
      this.#request(type);
      if (type === TypeUrls.listener) this.#follow(TypeUrls.routes, response.resources.flatMap(routeNames));
      if (type === TypeUrls.cluster) this.#follow(TypeUrls.endpoints, response.resources.flatMap(edsName));
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

const decoder = new TextDecoder();

/** DiscoveryResponse: 1 version_info, 2 resources (Any: 1 type_url, 2 value), 4 type_url, 5 nonce. */
function readResponse(bytes: Buffer): Response {
  const out: Response = { version: "", typeUrl: "", nonce: "", resources: [] };
  for (const [field, value] of fields(bytes)) {
    if (field === 1) out.version = decoder.decode(value);
    else if (field === 4) out.typeUrl = decoder.decode(value);
    else if (field === 5) out.nonce = decoder.decode(value);
    else if (field === 2) {
      const any: Any = { type_url: "", value: new Uint8Array(0) };
      for (const [f, v] of fields(value)) {
        if (f === 1) any.type_url = decoder.decode(v);
        else if (f === 2) any.value = v;
      }
      out.resources.push(any);
    }
  }
  return out;
}

/** Length-delimited fields of a message (other wire types are skipped). */
function* fields(bytes: Uint8Array): Generator<[number, Uint8Array]> {
  let at = 0;
  const varint = () => {
    let n = 0, shift = 1;
    for (;;) {
      const b = bytes[at++];
      n += (b & 0x7f) * shift;
      if (b < 0x80) return n;
      shift *= 128;
    }
  };
  while (at < bytes.length) {
    const tag = varint();
    const wire = tag & 7;
    if (wire === 2) {
      const length = varint();
      yield [Math.floor(tag / 8), bytes.subarray(at, at + length)];
      at += length;
    } else if (wire === 0) varint();
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else throw new Error(`Cannot read a response: wire type ${wire}`);
  }
}

function firstString(bytes: Uint8Array): string {
  for (const [field, value] of fields(bytes)) if (field === 1) return decoder.decode(value);
  return "";
}

let types: { listener: protobuf.Type; cluster: protobuf.Type; eds: number } | undefined;
function protoTypes() {
  if (!types) {
    const cluster = mustFindType(TypeUrls.cluster);
    const discovery = cluster.lookupEnum("DiscoveryType");
    types = { listener: mustFindType(TypeUrls.listener), cluster, eds: discovery.values.EDS };
  }
  return types;
}

function routeNames(any: Any): string[] {
  const listener = protoTypes().listener.decode(any.value) as unknown as Obj;
  const out: string[] = [];
  for (const chain of (listener.filter_chains ?? []) as Obj[]) {
    for (const filter of (chain.filters ?? []) as Obj[]) {
      const config = filter.typed_config as Any | undefined;
      if (!config) continue;
      const rds = (mustFindType(config.type_url).decode(config.value) as unknown as Obj).rds as
        | Obj
        | undefined;
      if (rds?.route_config_name) out.push(String(rds.route_config_name));
    }
  }
  return out;
}

function edsName(any: Any): string[] {
  const { cluster, eds } = protoTypes();
  const c = cluster.decode(any.value) as unknown as Obj;
  if (c.type !== eds) return [];
  const service = (c.eds_cluster_config as Obj | undefined)?.service_name;
  return [String(service || c.name)];
}
