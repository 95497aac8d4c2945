/**
 * Immutable, versioned xDS snapshots: for each type URL (LDS/RDS/CDS/EDS) a map name → resource, each
 * resource packed into a wire `Any` exactly once and shared by every stream that receives it.
 *
 * Versions are content hashes, so a type's version changes only when its content changes, even when the
 * translation layer rebuilds the whole snapshot.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { packAny, unpackAny } from "../../crds/proto_wire.ts";
import { TypeUrls } from "../../crds/protos.ts";
import { edsServiceName, rdsNames, routeClusters } from "./references.ts";
import { encodeResourceEntry } from "./wire.ts";
import { concatBytes } from "../../crds/bytes.ts";

/** A canonical proto message (see docs/ARCHITECTURE.md). */
export type Obj = Record<string, unknown>;

/** A wire `Any` as grpc-js sends it. */
export interface PackedAny {
  readonly type_url: string;
  readonly value: Uint8Array;
}

/**
 * One resource of a snapshot: its packed bytes, its own content version and the names it references. The
 * canonical form is not kept (the translation layer's views hold it while they live); `canonical` decodes it
 * from the bytes on demand (config dumps, tests).
 */
export interface Resource {
  readonly name: string;
  /** Canonical object with `"@type"`, decoded from `any` on each read (deep-frozen). */
  readonly canonical: Readonly<Obj>;
  /** Packed once at build time, reused for every response (`value` is a view into `entry`). */
  readonly any: PackedAny;
  /** The resource as one element of a DiscoveryResponse's `resources` field (see `wire.ts`). */
  readonly entry: Uint8Array;
  /** Hash of `any.value`; the per-resource version of incremental xDS. */
  readonly version: string;
  /**
   * Names this resource references, for the consistency check: a listener's RDS names, an EDS cluster's
   * ClusterLoadAssignment name, a route configuration's clusters.
   */
  readonly refs: readonly string[];
}

class PackedResource implements Resource {
  #entry: Uint8Array;
  #any: PackedAny;
  readonly #valueAt: number;
  constructor(
    readonly name: string,
    typeUrl: string,
    entry: Uint8Array,
    valueAt: number,
    readonly version: string,
    readonly refs: readonly string[],
  ) {
    this.#entry = entry;
    this.#valueAt = valueAt;
    this.#any = { type_url: typeUrl, value: entry.subarray(valueAt) };
  }
  get entry(): Uint8Array {
    return this.#entry;
  }
  get any(): PackedAny {
    return this.#any;
  }
  /** Points at the same bytes inside a type's concatenated payload, so they are held once, not twice. */
  rebind(entry: Uint8Array): void {
    this.#entry = entry;
    this.#any = { type_url: this.#any.type_url, value: entry.subarray(this.#valueAt) };
  }
  get canonical(): Readonly<Obj> {
    return deepFreeze(unpackAny(this.any));
  }
}

const NO_REFS: readonly string[] = Object.freeze([]);

/** The four resource types served over ADS, in the order Envoy wants them (CDS, EDS, LDS, RDS). */
export const XDS_TYPES: readonly string[] = [
  TypeUrls.cluster,
  TypeUrls.endpoints,
  TypeUrls.listener,
  TypeUrls.routes,
];

/** Short names for logs and metric labels. */
export const TYPE_SHORT: Readonly<Record<string, string>> = {
  [TypeUrls.listener]: "LDS",
  [TypeUrls.routes]: "RDS",
  [TypeUrls.cluster]: "CDS",
  [TypeUrls.endpoints]: "EDS",
};

/** Resources by kind, as the translation layer produces them. */
export interface SnapshotResources {
  listeners?: Iterable<Obj>;
  routes?: Iterable<Obj>;
  clusters?: Iterable<Obj>;
  endpoints?: Iterable<Obj>;
}

interface TypeEntry {
  readonly version: string;
  readonly resources: ReadonlyMap<string, Resource>;
  /** All resources as a DiscoveryResponse `resources` field, concatenated on first use. */
  payload: Uint8Array | undefined;
}

// The same canonical object (by identity) is packed once, whichever snapshots contain it.
const packed = new WeakMap<Obj, Resource>();

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
   * Packs every resource (once) and computes versions. A resource without `@type` gets its kind's type
   * URL. Throws `TypeError` on a duplicate name, a mismatched `@type` or a resource that does not encode.
   * With `previous` (the node's last snapshot), a type whose resources are all the same objects shares its
   * entry: no new version hash, and the same payload bytes.
   */
  static build(resources: SnapshotResources, previous?: Snapshot): Snapshot {
    const started = performance.now();
    const types = new Map<string, TypeEntry>();
    const kinds: [string, Iterable<Obj> | undefined][] = [
      [TypeUrls.listener, resources.listeners],
      [TypeUrls.routes, resources.routes],
      [TypeUrls.cluster, resources.clusters],
      [TypeUrls.endpoints, resources.endpoints],
    ];
    for (const [typeUrl, list] of kinds) {
      const byName = new Map<string, Resource>();
      for (const canonical of list ?? []) {
        const resource = packResource(typeUrl, canonical);
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
    const payload = entry.payload = concatBytes(resources.map((r) => r.entry));
    // The resources' own copies become views into the payload (same bytes), so the type's bytes are held
    // once; a resource shared with another snapshot points at whichever payload was built last.
    let at = 0;
    for (const r of resources) {
      const length = r.entry.length;
      if (r instanceof PackedResource) r.rebind(payload.subarray(at, at + length));
      at += length;
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

/** The xDS name of a canonical resource (`cluster_name` for ClusterLoadAssignment, else `name`). */
export function resourceName(typeUrl: string, canonical: Obj): string {
  return String((typeUrl === TypeUrls.endpoints ? canonical.cluster_name : canonical.name) ?? "");
}

function packResource(typeUrl: string, canonical: Obj): Resource {
  const cached = packed.get(canonical);
  if (cached?.any.type_url === typeUrl) return cached;
  const declared = canonical["@type"];
  if (declared !== undefined && declared !== typeUrl) {
    throw new TypeError(
      `Cannot build snapshot: resource of type '${declared}' listed as ${TYPE_SHORT[typeUrl]}`,
    );
  }
  const name = resourceName(typeUrl, canonical);
  if (!name) throw new TypeError(`Cannot build snapshot: a ${TYPE_SHORT[typeUrl]} resource has no name`);
  let any: PackedAny;
  try {
    any = packAny(declared === undefined ? { "@type": typeUrl, ...canonical } : canonical);
  } catch (error) {
    throw new TypeError(
      `Cannot build snapshot: ${TYPE_SHORT[typeUrl]} '${name}' does not encode: ${(error as Error).message}`,
    );
  }
  const { entry, valueAt } = encodeResourceEntry(typeUrl, any.value);
  const resource = new PackedResource(
    name,
    typeUrl,
    entry,
    valueAt,
    hash([any.value]),
    referencesOf(typeUrl, canonical),
  );
  packed.set(canonical, resource);
  return resource;
}

function referencesOf(typeUrl: string, canonical: Obj): readonly string[] {
  let refs: string[];
  if (typeUrl === TypeUrls.listener) refs = rdsNames(canonical);
  else if (typeUrl === TypeUrls.routes) refs = routeClusters(canonical);
  else if (typeUrl === TypeUrls.cluster) {
    const eds = edsServiceName(canonical);
    refs = eds === undefined ? [] : [eds];
  } else refs = [];
  return refs.length ? refs : NO_REFS;
}

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

/** First 16 hex digits of the SHA-256 of the parts. */
export function hash(parts: readonly (string | Uint8Array)[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex").slice(0, 16);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
