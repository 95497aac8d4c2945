/**
 * The current set of valid resources, by kind/namespace/name, fed by one or more sources (a directory, the
 * Kubernetes API). Each source owns the entries it wrote; when two sources hold the same key, the most recent
 * write wins and removing it from one source falls back to the other's copy.
 *
 * Bad config never removes good config: a source reports an error for a key instead of a resource and the
 * store keeps that key's last good version, recording the error for `/debug` until the key is fixed.
 *
 * @module
 */
import { KINDS, type Resource, type ResourceByKind, type ResourceKind } from "../../crds/resources/mod.ts";
import { keyString, type ResourceKey } from "../../crds/validate.ts";

/** A rejected document, as recorded by the store. */
export interface ResourceError {
  /** The source that reported it (e.g. `dir:/etc/mesh/a.yaml`, `kube:MetaRouter`). */
  readonly source: string;
  /** `path#index` or `kube API`. */
  readonly origin: string;
  /** The resource it was meant to update, when known. */
  readonly key?: ResourceKey;
  /** The full message (`Cannot load … : <path>: <reason>`). */
  readonly message: string;
  /** When it was reported (ms since epoch). */
  readonly at: number;
}

/** What a source reports for one document it could not accept. */
export type SourceError = Omit<ResourceError, "source" | "at">;

/** One change notification: the store version after it and the keys whose effective resource changed. */
export interface StoreChange {
  readonly version: number;
  readonly changed: readonly ResourceKey[];
}

interface Entry {
  resource: Resource;
  key: ResourceKey;
  /** Write sequence number, to pick the most recent among sources. */
  seq: number;
}

/** The key of a validated resource (cluster-scoped kinds get namespace `""`). */
export function resourceKey(resource: Resource): ResourceKey {
  const kind = resource.kind as ResourceKind;
  const namespace = KINDS[kind].namespaced ? resource.metadata.namespace ?? "default" : "";
  return { kind, namespace, name: resource.metadata.name };
}

/**
 * The store. Readers call `list`/`get` and subscribe with `onChange` (listeners run synchronously after every
 * batch that changed something; debouncing is the consumer's job). Writers are sources, identified by a name.
 */
export class ResourceStore {
  #bySource = new Map<string, Map<string, Entry>>();
  #effective = new Map<string, Entry>();
  #errors = new Map<string, Map<string, ResourceError>>();
  #listeners = new Set<(change: StoreChange) => void>();
  #seq = 0;
  #version = 0;

  /** Increases by one with every batch that changed an effective resource. */
  get version(): number {
    return this.#version;
  }

  /** All current resources of `kind`, sorted by namespace then name. */
  list<K extends ResourceKind>(kind: K): ResourceByKind[K][] {
    const out: Entry[] = [];
    for (const entry of this.#effective.values()) if (entry.key.kind === kind) out.push(entry);
    out.sort((a, b) => compareKeys(a.key, b.key));
    return out.map((e) => e.resource as ResourceByKind[K]);
  }

  /** The current resource with this key, if any (`namespace` is `""` for cluster-scoped kinds). */
  get<K extends ResourceKind>(kind: K, namespace: string, name: string): ResourceByKind[K] | undefined {
    return this.#effective.get(keyString({ kind, namespace, name }))?.resource as
      | ResourceByKind[K]
      | undefined;
  }

  /** Number of current resources (all kinds). */
  get size(): number {
    return this.#effective.size;
  }

  /** Registers `listener` for changes; returns the function that unregisters it. */
  onChange(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The currently outstanding errors of all sources, oldest first. */
  errors(): ResourceError[] {
    const all: ResourceError[] = [];
    for (const bySource of this.#errors.values()) all.push(...bySource.values());
    return all.sort((a, b) => a.at - b.at);
  }

  /** Adds or replaces one resource owned by `source`, and clears that key's error in `source`. */
  upsert(source: string, resource: Resource): void {
    const key = resourceKey(resource);
    this.#errorsOf(source).delete(keyString(key));
    this.#commit(this.#write(source, key, resource));
  }

  /** Removes one resource from `source` (no-op when `source` does not hold it). */
  delete(source: string, key: ResourceKey): void {
    this.#errorsOf(source).delete(keyString(key));
    this.#commit(this.#remove(source, key));
  }

  /** Records a rejected update; the key's last good version (if any) stays. */
  reportError(source: string, error: SourceError): void {
    const id = error.key ? keyString(error.key) : `origin:${error.origin}`;
    this.#errorsOf(source).set(id, { ...error, source, at: Date.now() });
  }

  /**
   * Replaces everything `source` holds by `resources` in one batch (one change event): keys no longer present
   * are removed, except keys named by one of `errors`, which keep their last good version.
   */
  replaceSource(source: string, resources: readonly Resource[], errors: readonly SourceError[] = []): void {
    const held = this.#bySource.get(source) ?? new Map<string, Entry>();
    const keep = new Set(errors.flatMap((e) => (e.key ? [keyString(e.key)] : [])));
    const next = new Map<string, Resource>();
    for (const resource of resources) next.set(keyString(resourceKey(resource)), resource);
    const changed: ResourceKey[] = [];
    for (const [id, entry] of [...held]) {
      if (!next.has(id) && !keep.has(id)) changed.push(...this.#remove(source, entry.key));
    }
    for (const resource of next.values()) {
      changed.push(...this.#write(source, resourceKey(resource), resource));
    }
    this.#errors.delete(source);
    for (const error of errors) this.reportError(source, error);
    this.#commit(changed);
  }

  /** Removes everything `source` holds, and its errors. */
  removeSource(source: string): void {
    this.replaceSource(source, []);
    this.#bySource.delete(source);
    this.#errors.delete(source);
  }

  /** Keys `source` currently holds. */
  keysOf(source: string): ResourceKey[] {
    return [...(this.#bySource.get(source)?.values() ?? [])].map((e) => e.key);
  }

  #errorsOf(source: string): Map<string, ResourceError> {
    let map = this.#errors.get(source);
    if (!map) this.#errors.set(source, map = new Map());
    return map;
  }

  #write(source: string, key: ResourceKey, resource: Resource): ResourceKey[] {
    let held = this.#bySource.get(source);
    if (!held) this.#bySource.set(source, held = new Map());
    const id = keyString(key);
    const previous = held.get(id);
    if (previous && previous.resource !== resource && sameJson(previous.resource, resource)) {
      // Identical rewrite (a re-read file): keep the object, so translation caches keyed by it stay valid.
      resource = previous.resource;
    }
    // An equal update keeps its place in the write order, so it cannot take over from another source.
    const seq = previous && sameContent(previous.resource, resource) ? previous.seq : ++this.#seq;
    held.set(id, { resource, key, seq });
    return this.#refresh(id, key);
  }

  #remove(source: string, key: ResourceKey): ResourceKey[] {
    const id = keyString(key);
    if (!this.#bySource.get(source)?.delete(id)) return [];
    return this.#refresh(id, key);
  }

  /** Recomputes the effective entry of `id` (most recent write among sources); returns `[key]` if it changed. */
  #refresh(id: string, key: ResourceKey): ResourceKey[] {
    let best: Entry | undefined;
    for (const held of this.#bySource.values()) {
      const entry = held.get(id);
      if (entry && (!best || entry.seq > best.seq)) best = entry;
    }
    const current = this.#effective.get(id);
    if (best === current) return [];
    if (best) this.#effective.set(id, best);
    else this.#effective.delete(id);
    if (current && best && sameContent(current.resource, best.resource)) return [];
    return [key];
  }

  #commit(changed: ResourceKey[]): void {
    if (changed.length === 0) return;
    this.#version++;
    const change = { version: this.#version, changed };
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch (error) {
        // A consumer's bug must not leave other consumers (or the writing source) behind.
        console.error(`Cannot notify store listener: ${error}`);
      }
    }
  }
}

function compareKeys(a: ResourceKey, b: ResourceKey): number {
  return a.namespace < b.namespace
    ? -1
    : a.namespace > b.namespace
    ? 1
    : a.name < b.name
    ? -1
    : +(a.name > b.name);
}

function sameJson(a: Resource, b: Resource): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Equal apart from bookkeeping the API server changes on every write (status, resourceVersion…). */
function sameContent(a: Resource, b: Resource): boolean {
  return a === b || JSON.stringify(comparable(a)) === JSON.stringify(comparable(b));
}

function comparable(resource: Resource): unknown {
  const { resourceVersion: _rv, managedFields: _mf, generation: _g, ...metadata } = resource.metadata;
  return { ...resource, status: undefined, metadata };
}
