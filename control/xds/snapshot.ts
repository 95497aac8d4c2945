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
import { packAny } from "../../crds/proto_wire.ts";
import { TypeUrls } from "../../crds/protos.ts";

/** A canonical proto message (see docs/ARCHITECTURE.md). */
export type Obj = Record<string, unknown>;

/** A wire `Any` as grpc-js sends it. */
export interface PackedAny {
  readonly type_url: string;
  readonly value: Uint8Array;
}

/** One resource of a snapshot: canonical form, its packed bytes and its own content version. */
export interface Resource {
  readonly name: string;
  /** Canonical object (deep-frozen: the snapshot owns it). */
  readonly canonical: Readonly<Obj>;
  /** Packed once at build time, reused for every response. */
  readonly any: PackedAny;
  /** Hash of `any.value`; the per-resource version of incremental xDS. */
  readonly version: string;
}

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
   */
  static build(resources: SnapshotResources): Snapshot {
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
      types.set(typeUrl, { version: typeVersion(byName), resources: byName });
    }
    return new Snapshot(types, performance.now() - started);
  }

  /** The content version of `typeUrl` (stable for equal content; `""` for an unknown type). */
  version(typeUrl: string): string {
    return this.#types.get(typeUrl)?.version ?? "";
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
  const full = declared === undefined ? { "@type": typeUrl, ...canonical } : canonical;
  let any: PackedAny;
  try {
    any = packAny(full);
  } catch (error) {
    throw new TypeError(
      `Cannot build snapshot: ${TYPE_SHORT[typeUrl]} '${name}' does not encode: ${(error as Error).message}`,
    );
  }
  const resource: Resource = { name, canonical: deepFreeze(full), any, version: hash([any.value]) };
  packed.set(canonical, resource);
  return resource;
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
