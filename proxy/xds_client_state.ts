/**
 * The xDS client's per-type bookkeeping: what was accepted (name → content hash), the last accepted
 * version and the last nonce received, and how a SotW response becomes a {@linkcode ResourceUpdate}
 * holding only what changed (LDS/CDS responses are full state, so missing names are removals).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { unpackAny } from "../crds/proto_wire.ts";
import { TypeUrls } from "../crds/protos.ts";
import type { Obj } from "./config_util.ts";
import type { ResourceUpdate } from "./run.ts";

/** One subscribed type. */
export interface TypeState {
  readonly typeUrl: string;
  /** Subscribed names; empty for the wildcard types LDS/CDS. */
  names: string[];
  /** Last accepted version_info ("" before the first ACK). */
  version: string;
  /** Nonce of the last response received on the current stream. */
  nonce: string;
  /** Accepted resources: name → hash of their bytes. */
  accepted: Map<string, string>;
  /** Accepted canonical resources by name (for deriving EDS/RDS names and for dumps). */
  canonical: Map<string, Obj>;
}

/** A response turned into an update, with what to record on success. */
export interface PreparedUpdate {
  update: ResourceUpdate;
  accepted: Map<string, string>;
  canonical: Map<string, Obj>;
}

/** A fresh state for `typeUrl`. */
export function newTypeState(typeUrl: string): TypeState {
  return { typeUrl, names: [], version: "", nonce: "", accepted: new Map(), canonical: new Map() };
}

/**
 * Decodes the packed resources of a response and diffs them against `state`. Throws `TypeError`
 * (the NACK message) on a resource that does not decode, has the wrong type, or has no name.
 */
export function prepareUpdate(
  state: TypeState,
  resources: readonly { type_url: string; value: Uint8Array | string }[],
  origin: string,
): PreparedUpdate {
  const full = state.typeUrl === TypeUrls.listener || state.typeUrl === TypeUrls.cluster;
  const accepted = new Map(full ? [] : state.accepted);
  const canonical = new Map(full ? [] : state.canonical);
  const changed: Obj[] = [];
  resources.forEach((any, i) => {
    if (any.type_url !== state.typeUrl) {
      throw new TypeError(`Cannot apply ${origin}: resources[${i}] has type ${any.type_url}`);
    }
    let resource: Obj;
    try {
      resource = unpackAny(any);
    } catch (error) {
      throw new TypeError(`Cannot decode ${origin} resources[${i}]: ${(error as Error).message}`);
    }
    const name = String((state.typeUrl === TypeUrls.endpoints ? resource.cluster_name : resource.name) ?? "");
    if (!name) throw new TypeError(`Cannot apply ${origin}: resources[${i}] has no name`);
    const digest = createHash("sha256").update(any.value).digest("hex");
    if (state.accepted.get(name) !== digest) changed.push(resource);
    accepted.set(name, digest);
    canonical.set(name, resource);
  });
  const removed = full ? [...state.accepted.keys()].filter((n) => !accepted.has(n)) : [];
  const update: ResourceUpdate = { origin, ...kindFields(state.typeUrl, changed, removed) };
  return { update, accepted, canonical };
}

function kindFields(typeUrl: string, changed: Obj[], removed: string[]): Partial<ResourceUpdate> {
  switch (typeUrl) {
    case TypeUrls.listener:
      return { listeners: changed, removedListeners: removed };
    case TypeUrls.cluster:
      return { clusters: changed, removedClusters: removed };
    case TypeUrls.endpoints:
      return { endpoints: changed };
    default:
      return { routes: changed };
  }
}

/** EDS names of accepted clusters: `eds_cluster_config.service_name`, else the cluster name. */
export function edsNames(clusters: ReadonlyMap<string, Obj>): string[] {
  const out = new Set<string>();
  for (const [name, c] of clusters) {
    if (c.type !== "EDS") continue;
    const service = (c.eds_cluster_config as Obj | undefined)?.service_name;
    out.add(typeof service === "string" && service ? service : name);
  }
  return [...out].sort();
}

/** A route config a listener reads over RDS, with the `config_source` it names (canonical). */
export interface RdsRef {
  readonly name: string;
  readonly configSource: Obj;
}

/** Every `rds` with a `route_config_name` in `listeners` (MetaProtocolProxy, HCM, api_listener). */
export function rdsRefs(listeners: Iterable<Obj>): RdsRef[] {
  const out = new Map<string, RdsRef>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(walk);
    } else if (value && typeof value === "object") {
      const rds = (value as Obj).rds as Obj | undefined;
      if (rds && typeof rds.route_config_name === "string" && rds.route_config_name) {
        out.set(rds.route_config_name, {
          name: rds.route_config_name,
          configSource: (rds.config_source ?? {}) as Obj,
        });
      }
      Object.values(value).forEach(walk);
    }
  };
  for (const l of listeners) walk(l);
  return [...out.values()].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** Keeps only the accepted entries whose names are still subscribed (RDS/EDS after a change). */
export function retainNames(state: TypeState): void {
  const keep = new Set(state.names);
  for (const name of [...state.accepted.keys()]) {
    if (!keep.has(name)) {
      state.accepted.delete(name);
      state.canonical.delete(name);
    }
  }
}
