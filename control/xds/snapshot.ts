/**
 * Immutable, versioned xDS snapshots: for each type URL (LDS/RDS/CDS/EDS) a map name → resource, each
 * resource packed into a wire `Any` exactly once and shared by every stream that receives it.
 *
 * Versions are content hashes, so a type's version changes only when its content changes, even when the
 * translation layer rebuilds the whole snapshot.
 *
 * @module
 */
import { TypeUrls } from "../../crds/protos.ts";
import { XDS_SHORT_NAMES as TYPE_SHORT } from "../../crds/protos.ts";
import { hash, type Obj, packResourceOnce, Resource } from "./resource.ts";

/** The four resource types served over ADS, in the order Envoy wants them (CDS, EDS, LDS, RDS). */
export const XDS_TYPES: readonly string[] = [
  TypeUrls.cluster,
  TypeUrls.endpoints,
  TypeUrls.listener,
  TypeUrls.routes,
];

/** Resources by kind: packed (as the translation layer produces them) or canonical (packed here, once). */
export interface SnapshotResources {
  listeners?: Iterable<Obj | Resource>;
  routes?: Iterable<Obj | Resource>;
  clusters?: Iterable<Obj | Resource>;
  endpoints?: Iterable<Obj | Resource>;
}

interface TypeEntry {
  readonly version: string;
  readonly resources: ReadonlyMap<string, Resource>;
  /** All resources as a DiscoveryResponse `resources` field, concatenated on first use. */
  payload: Uint8Array | undefined;
}

/** An immutable set of xDS resources for one node key. Build it with {@linkcode Snapshot.build}. */
export class Snapshot {
  readonly #types: ReadonlyMap<string, TypeEntry>;
  /** Milliseconds spent packing and hashing this snapshot. */
  readonly buildMs: number;

  private constructor(types: Map<string, TypeEntry>, buildMs: number) {
    this.#types = types;
    this.buildMs = buildMs;
  }

  /**
   * Packs every canonical resource (once, see `packResource`) and computes versions. A resource without
   * `@type` gets its kind's type URL. Throws `TypeError` on a duplicate name, a resource of another type or
   * one that does not encode.
   * With `previous` (the node's last snapshot), a type whose resources are all the same objects shares its
   * entry: no new version hash, and the same payload bytes.
   */
  static build(resources: SnapshotResources, previous?: Snapshot): Snapshot {
    const started = performance.now();
    const types = new Map<string, TypeEntry>();
    const kinds: [string, Iterable<Obj | Resource> | undefined][] = [
      [TypeUrls.listener, resources.listeners],
      [TypeUrls.routes, resources.routes],
      [TypeUrls.cluster, resources.clusters],
      [TypeUrls.endpoints, resources.endpoints],
    ];
    for (const [typeUrl, list] of kinds) {
      const byName = new Map<string, Resource>();
      for (const item of list ?? []) {
        const resource = item instanceof Resource ? item : packResourceOnce(typeUrl, item);
        if (resource.typeUrl !== typeUrl) {
          throw new TypeError(
            `Cannot build snapshot: ${TYPE_SHORT[resource.typeUrl]} resource '${resource.name}' listed as ${
              TYPE_SHORT[typeUrl]
            }`,
          );
        }
        if (byName.has(resource.name)) {
          throw new TypeError(
            `Cannot build snapshot: duplicate ${TYPE_SHORT[typeUrl]} resource '${resource.name}'`,
          );
        }
        byName.set(resource.name, resource);
      }
      // Same resources (names and content versions) as the previous snapshot: share its entry (version, payload).
      const before = previous ? previous.#types.get(typeUrl) : undefined;
      types.set(
        typeUrl,
        before && sameResources(before.resources, byName)
          ? before
          : { version: typeVersion(byName), resources: byName, payload: undefined },
      );
    }
    return new Snapshot(types, performance.now() - started);
  }

  /**
   * `true` when `typeUrl` shares `other`'s entry (same names and content, see `build`'s `previous`): the
   * references of such a type need no new consistency check.
   */
  sameAs(other: Snapshot, typeUrl: string): boolean {
    return this.#types.get(typeUrl) === other.#types.get(typeUrl);
  }

  /** The content version of `typeUrl` (stable for equal content; `""` for an unknown type). */
  version(typeUrl: string): string {
    return this.#types.get(typeUrl)?.version ?? "";
  }

  /**
   * Every resource of `typeUrl` as the `resources` field of a DiscoveryResponse, concatenated once per
   * snapshot and shared by every stream that is sent the full list.
   */
  payload(typeUrl: string): Uint8Array {
    const entry = this.#types.get(typeUrl);
    if (!entry) return new Uint8Array(0);
    if (entry.payload) return entry.payload;
    const resources = [...entry.resources.values()];
    let size = 0;
    for (const r of resources) size += r.size;
    const payload = entry.payload = new Uint8Array(size);
    // The resources take the payload's copy of their bytes (rebind), so the type's bytes are held once; a
    // resource shared with another snapshot points at whichever payload was built last.
    let at = 0;
    for (const r of resources) {
      payload.set(r.entry, at);
      r.rebind(payload, at);
      at += r.size;
    }
    return payload;
  }

  /** Resources of `typeUrl` by name (empty for an unknown type). The map must not be altered. */
  resources(typeUrl: string): ReadonlyMap<string, Resource> {
    return this.#types.get(typeUrl)?.resources ?? EMPTY;
  }

  /** Canonical dump: `{ [typeUrl]: { version_info, resources: [canonical…] } }`. */
  toJSON(): Obj {
    const out: Obj = {};
    for (const [typeUrl, entry] of this.#types) {
      out[typeUrl] = {
        version_info: entry.version,
        resources: [...entry.resources.values()].map((r) => r.canonical),
      };
    }
    return out;
  }
}

const EMPTY: ReadonlyMap<string, Resource> = new Map();

function sameResources(a: ReadonlyMap<string, Resource>, b: ReadonlyMap<string, Resource>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, r] of b) if (a.get(name)?.version !== r.version) return false;
  return true;
}

function typeVersion(resources: Map<string, Resource>): string {
  const parts: string[] = [];
  for (const name of [...resources.keys()].sort()) parts.push(name, resources.get(name)!.version);
  return hash([parts.join("\0")]);
}
