/**
 * Dependency recording for memoized translation: a view of a `MeshModel` that records which parts were
 * read (`byHost`/`secrets` entries by key, any other property as a whole), and the check that those parts
 * are the same objects in a later model.
 *
 * @module
 */
import type { MeshModel } from "./model.ts";

/** One read: a map entry (`map` + `key`) or a whole property (`key` only); `value` is what it returned. */
export interface ModelRead {
  readonly map?: "byHost" | "secrets";
  readonly key: string;
  readonly value: unknown;
}

/** `model` with every read of it appended to `reads`. */
export function recording(model: MeshModel, reads: ModelRead[]): MeshModel {
  const mapView = (name: "byHost" | "secrets") => {
    const map = model[name] as ReadonlyMap<string, unknown>;
    return {
      get(key: string) {
        const value = map.get(key);
        reads.push({ map: name, key, value });
        return value;
      },
      has(key: string) {
        const value = map.get(key);
        reads.push({ map: name, key, value });
        return value !== undefined;
      },
    };
  };
  const byHost = mapView("byHost");
  const secrets = mapView("secrets");
  return new Proxy(model, {
    get(target, prop, receiver) {
      if (prop === "byHost") return byHost;
      if (prop === "secrets") return secrets;
      const value = Reflect.get(target, prop, receiver);
      reads.push({ key: String(prop), value });
      return value;
    },
  });
}

/** Whether every recorded read gives the same object in `model`. */
export function stillValid(model: MeshModel, reads: readonly ModelRead[]): boolean {
  for (const read of reads) {
    const now = read.map
      ? (model[read.map] as ReadonlyMap<string, unknown>).get(read.key)
      : (model as unknown as Record<string, unknown>)[read.key];
    if (now !== read.value) return false;
  }
  return true;
}
