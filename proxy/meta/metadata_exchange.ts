/**
 * `aeraki.meta_protocol.filters.metadata_exchange` (spec §4.5): Istio peer-metadata propagation for
 * non-HTTP protocols. On an OUTBOUND listener the proxy's own node metadata goes into the request
 * mutation; on any other listener (INBOUND, unspecified) into the response mutation:
 *
 * - `x-envoy-peer-metadata`: base64 (padded) of the deterministic protobuf serialisation of a
 *   `google.protobuf.Struct` holding the node metadata fields Istio's FlatNode keeps;
 * - `x-envoy-peer-metadata-id`: the node id.
 *
 * The value is computed once per filter config. Whether it reaches the wire depends on the codec
 * applying mutations to that message kind.
 *
 * @module
 */
import { encodeMessage } from "../../crds/proto_wire.ts";
import type { Obj } from "../config_util.ts";
import type { FilterRequest, FilterResult, MetaFilter, RequestObserver } from "./filter_chain.ts";

/** The metadata key carrying the base64 Struct. */
export const PEER_METADATA_KEY = "x-envoy-peer-metadata";
/** The metadata key carrying the peer's node id. */
export const PEER_METADATA_ID_KEY = "x-envoy-peer-metadata-id";

/** Node metadata fields Istio's FlatNode conversion keeps (the rest is dropped, as in Istio). */
const FLAT_NODE_FIELDS = [
  "NAME",
  "NAMESPACE",
  "OWNER",
  "WORKLOAD_NAME",
  "ISTIO_VERSION",
  "MESH_ID",
  "CLUSTER_ID",
  "LABELS",
  "PLATFORM_METADATA",
  "APP_CONTAINERS",
  "INSTANCE_IPS",
];
const LIST_FIELDS = new Set(["APP_CONTAINERS", "INSTANCE_IPS"]);

/** The FlatNode view of node metadata as a plain JSON Struct (lists split on commas, as Istio does). */
export function flatNode(metadata: Obj): Obj {
  const out: Obj = {};
  for (const f of FLAT_NODE_FIELDS) {
    const v = metadata[f];
    if (v === undefined || v === null || v === "") continue;
    if (LIST_FIELDS.has(f) && typeof v === "string") out[f] = v.split(",").filter((s) => s !== "");
    else if (typeof v === "object" && !Array.isArray(v)) {
      out[f] = Object.fromEntries(Object.entries(v as Obj).map(([k, x]) => [k, String(x)]));
    } else out[f] = v;
  }
  return out;
}

function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.keys(v as Obj).sort().map((k) => [k, sorted((v as Obj)[k])]));
  }
  return v;
}

/** Base64 (padded) of the deterministic Struct serialisation of `struct` (map keys sorted). */
export function encodePeerMetadata(struct: Obj): string {
  const bytes = encodeMessage("google.protobuf.Struct", sorted(struct) as Obj);
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Decodes an `x-envoy-peer-metadata` value back to a plain Struct; `undefined` when malformed. */
export function decodePeerMetadata(
  value: string | undefined,
  decode: (b: Uint8Array) => Obj,
): Obj | undefined {
  if (!value) return undefined;
  try {
    const bin = atob(value);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return decode(bytes);
  } catch {
    return undefined;
  }
}

/** The compiled filter. */
export class MetadataExchange implements MetaFilter {
  readonly outbound: boolean;
  readonly value: string;
  readonly id: string;
  #observer: RequestObserver;

  /** `node` is the bootstrap node; `direction` the listener's traffic_direction. */
  constructor(node: Obj, direction: string | undefined) {
    this.outbound = direction === "OUTBOUND";
    this.value = encodePeerMetadata(flatNode((node.metadata ?? {}) as Obj));
    this.id = String(node.id ?? "");
    this.#observer = {
      onResponse: (_frame, mutation) => {
        mutation.set(PEER_METADATA_KEY, this.value);
        mutation.set(PEER_METADATA_ID_KEY, this.id);
      },
    };
  }

  onRequest(req: FilterRequest): FilterResult {
    if (!this.outbound) return { observer: this.#observer };
    req.mutation.set(PEER_METADATA_KEY, this.value);
    req.mutation.set(PEER_METADATA_ID_KEY, this.id);
    return undefined;
  }
}
