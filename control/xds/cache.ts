/**
 * The snapshot cache: one immutable {@linkcode Snapshot} per node key, set directly
 * (`setSnapshot`) or computed lazily per key by a generator (`setGenerator` + `invalidate`). No gRPC in
 * here: the ADS server only asks for a node's snapshot and watches for changes.
 *
 * @module
 */
import { consistencyProblems } from "./consistency.ts";
import { type Log, silentLog } from "./log.ts";
import type { Obj } from "./resource.ts";
import type { Snapshot } from "./snapshot.ts";

/** Maps an xDS `node` (canonical `envoy.config.core.v3.Node`) to the key of its snapshot. */
export type NodeKeyFn = (node: Readonly<Obj>) => string;

/**
 * Builds the snapshot of one node key; `node` is the first node seen with that key. Returning
 * `undefined` means "nothing to serve yet". May throw: the error is logged and the previous snapshot kept.
 */
export type SnapshotGenerator = (node: Readonly<Obj>, key: string) => Snapshot | undefined;

/** Options of {@linkcode SnapshotCache}. */
export interface SnapshotCacheOptions {
  /** Node → key; default: `node.id`. */
  nodeKeyOf?: NodeKeyFn;
  /** Lazy per-key builder (see {@linkcode SnapshotCache.setGenerator}). */
  generate?: SnapshotGenerator;
  log?: Log;
}

/** Counters of the cache, for `/metrics`. */
export interface CacheStats {
  builds: number;
  refused: number;
  lastBuildMs: number;
}

interface Entry {
  snapshot?: Snapshot;
  /** Set by `invalidate`: regenerate on the next read. */
  stale: boolean;
  node: Readonly<Obj>;
}

// Snapshots are immutable and often shared by several node keys: check each once.
const checked = new WeakMap<Snapshot, string[]>();

/** Snapshots per node key, with change notification. All methods are synchronous. */
export class SnapshotCache {
  #nodeKeyOf: NodeKeyFn;
  #generate: SnapshotGenerator | undefined;
  #log: Log;
  #entries = new Map<string, Entry>();
  #watchers = new Map<string, Set<() => void>>();
  #ready = false;
  #stats: CacheStats = { builds: 0, refused: 0, lastBuildMs: 0 };

  constructor(options: SnapshotCacheOptions = {}) {
    this.#nodeKeyOf = options.nodeKeyOf ?? ((node) => String(node.id ?? ""));
    this.#generate = options.generate;
    this.#log = options.log ?? silentLog;
  }

  /** The snapshot key of `node`. */
  nodeKeyOf(node: Readonly<Obj>): string {
    return this.#nodeKeyOf(node);
  }

  /** Replaces the node → key function (existing entries keep their keys). */
  setNodeKey(nodeKeyOf: NodeKeyFn): void {
    this.#nodeKeyOf = nodeKeyOf;
  }

  /**
   * Installs the lazy builder and invalidates every key. Installing a generator also makes the cache
   * ready: the caller installs it once its config sources are synced.
   */
  setGenerator(generate: SnapshotGenerator): void {
    this.#generate = generate;
    this.#ready = true;
    this.invalidate();
  }

  /**
   * Sets the snapshot of `key` if it is consistent and notifies its watchers; an inconsistent one is
   * refused (logged, previous kept) and `false` returned.
   */
  setSnapshot(key: string, snapshot: Snapshot, node: Readonly<Obj> = { id: key }): boolean {
    const entry = this.#entries.get(key);
    if (!this.#accept(key, snapshot, snapshot.buildMs, entry?.snapshot)) return false;
    this.#entries.set(key, { snapshot, stale: false, node: entry?.node ?? node });
    this.#notify(key);
    return true;
  }

  /** Marks generated snapshots stale (all keys, or one) and notifies their watchers. */
  invalidate(key?: string): void {
    const keys = key === undefined
      ? [...new Set([...this.#entries.keys(), ...this.#watchers.keys()])]
      : [key];
    for (const k of keys) {
      const entry = this.#entries.get(k);
      if (entry) entry.stale = true;
      this.#notify(k);
    }
  }

  /** The current snapshot of `node`'s key, generating it when missing or stale. */
  snapshotFor(node: Readonly<Obj>): Snapshot | undefined {
    const key = this.#nodeKeyOf(node);
    let entry = this.#entries.get(key);
    if (!entry) this.#entries.set(key, entry = { stale: true, node });
    if (entry.stale && this.#generate) {
      entry.stale = false;
      const started = performance.now();
      let built: Snapshot | undefined;
      try {
        built = this.#generate(entry.node, key);
      } catch (error) {
        this.#stats.refused++;
        this.#log(
          "error",
          `Cannot build snapshot for '${key}': ${(error as Error).message}; keeping the previous one`,
        );
      }
      if (
        built && built !== entry.snapshot &&
        this.#accept(key, built, performance.now() - started, entry.snapshot)
      ) {
        entry.snapshot = built;
      }
    }
    return entry.snapshot;
  }

  /** The stored snapshot of `key` without generating. */
  snapshot(key: string): Snapshot | undefined {
    return this.#entries.get(key)?.snapshot;
  }

  /** Keys that have (or had) an entry. */
  keys(): string[] {
    return [...this.#entries.keys()];
  }

  /**
   * Calls `onChange` (synchronously) whenever `node`'s key gets a new snapshot or is invalidated; read
   * it with {@linkcode snapshotFor}. Returns the cancel function.
   */
  watch(node: Readonly<Obj>, onChange: () => void): () => void {
    const key = this.#nodeKeyOf(node);
    if (!this.#entries.has(key)) this.#entries.set(key, { stale: true, node });
    let set = this.#watchers.get(key);
    if (!set) this.#watchers.set(key, set = new Set());
    set.add(onChange);
    return () => {
      set.delete(onChange);
      if (set.size === 0) this.#watchers.delete(key);
    };
  }

  /** `true` once a snapshot was accepted or a generator installed. */
  get ready(): boolean {
    return this.#ready;
  }

  /** A copy of the build counters. */
  get stats(): CacheStats {
    return { ...this.#stats };
  }

  /** `verified`: the key's current snapshot (consistent, or it would not be there), for an incremental check. */
  #accept(key: string, snapshot: Snapshot, buildMs: number, verified?: Snapshot): boolean {
    this.#stats.lastBuildMs = buildMs;
    let problems = checked.get(snapshot);
    if (!problems) checked.set(snapshot, problems = consistencyProblems(snapshot, verified));
    if (problems.length > 0) {
      this.#stats.refused++;
      this.#log(
        "error",
        `Cannot accept snapshot for '${key}': inconsistent (${
          problems.join("; ")
        }); keeping the previous one`,
      );
      return false;
    }
    this.#stats.builds++;
    this.#ready = true;
    return true;
  }

  #notify(key: string): void {
    for (const watcher of [...this.#watchers.get(key) ?? []]) {
      try {
        watcher();
      } catch (error) {
        this.#log("error", `Cannot notify a watcher of '${key}': ${(error as Error).message}`);
      }
    }
  }
}
