import assert from "node:assert/strict";
import type { MetaRouter, Resource } from "../../../crds/resources/mod.ts";
import { ResourceStore, type StoreChange } from "../../../control/sources/store.ts";

function mr(name: string, hosts: string[], namespace = "ns"): MetaRouter {
  return {
    apiVersion: "metaprotocol.aeraki.io/v1alpha1",
    kind: "MetaRouter",
    metadata: { name, namespace },
    spec: { hosts },
  } as MetaRouter;
}

function recorder(store: ResourceStore): StoreChange[] {
  const changes: StoreChange[] = [];
  store.onChange((c) => changes.push(c));
  return changes;
}

Deno.test("upsert/get/list/delete with change events only for real changes", () => {
  const store = new ResourceStore();
  const changes = recorder(store);
  store.upsert("a", mr("b", ["h1"]));
  store.upsert("a", mr("a", ["h1"]));
  assert.deepEqual(store.list("MetaRouter").map((r) => r.metadata.name), ["a", "b"]);
  assert.deepEqual(store.get("MetaRouter", "ns", "a")?.spec.hosts, ["h1"]);
  assert.equal(store.get("MetaRouter", "other", "a"), undefined);
  assert.deepEqual(store.list("ServiceEntry"), []);
  const withRv = mr("a", ["h1"]);
  withRv.metadata.resourceVersion = "77";
  store.upsert("a", withRv); // same content apart from bookkeeping
  assert.equal(changes.length, 2);
  store.delete("a", { kind: "MetaRouter", namespace: "ns", name: "a" });
  store.delete("a", { kind: "MetaRouter", namespace: "ns", name: "zzz" });
  assert.equal(changes.length, 3);
  assert.deepEqual(changes[2], { version: 3, changed: [{ kind: "MetaRouter", namespace: "ns", name: "a" }] });
  assert.equal(store.version, 3);
});

Deno.test("replaceSource diffs in one event and keeps the last good version of errored keys", () => {
  const store = new ResourceStore();
  store.replaceSource("file", [mr("a", ["h1"]), mr("b", ["h1"]), mr("c", ["h1"])]);
  const changes = recorder(store);
  const bKey = { kind: "MetaRouter", namespace: "ns", name: "b" } as const;
  store.replaceSource("file", [mr("a", ["h1"]), mr("d", ["h1"])], [
    { origin: "f.yaml#1", key: bKey, message: "Cannot load MetaRouter ns/b from f.yaml#1: spec.hosts: bad" },
  ]);
  assert.equal(changes.length, 1);
  assert.deepEqual(changes[0].changed.map((k) => k.name).sort(), ["c", "d"]);
  assert.deepEqual(store.list("MetaRouter").map((r) => r.metadata.name), ["a", "b", "d"]);
  assert.equal(store.errors().length, 1);
  assert.equal(store.errors()[0].source, "file");
  assert.match(store.errors()[0].message, /spec\.hosts: bad/);
  // Fixed: the error disappears and the new version replaces the kept one.
  store.replaceSource("file", [mr("a", ["h1"]), mr("b", ["h2"])]);
  assert.deepEqual(store.errors(), []);
  assert.deepEqual(store.get("MetaRouter", "ns", "b")?.spec.hosts, ["h2"]);
  assert.equal(store.get("MetaRouter", "ns", "d"), undefined);
});

Deno.test("several sources: most recent write wins, removal falls back to the other source", () => {
  const store = new ResourceStore();
  store.upsert("dir", mr("a", ["from-dir"]));
  store.upsert("kube", mr("a", ["from-kube"]));
  assert.deepEqual(store.get("MetaRouter", "ns", "a")?.spec.hosts, ["from-kube"]);
  const changes = recorder(store);
  store.removeSource("kube");
  assert.deepEqual(store.get("MetaRouter", "ns", "a")?.spec.hosts, ["from-dir"]);
  assert.equal(changes.length, 1);
  assert.deepEqual(store.keysOf("dir"), [{ kind: "MetaRouter", namespace: "ns", name: "a" }]);
});

Deno.test("cluster-scoped kinds are keyed with an empty namespace; a throwing listener does not stop others", () => {
  const store = new ResourceStore();
  let seen = 0;
  store.onChange(() => {
    throw new Error("consumer bug");
  });
  const off = store.onChange(() => seen++);
  const originalError = console.error;
  console.error = () => {};
  try {
    store.upsert("x", {
      apiVersion: "metaprotocol.aeraki.io/v1alpha1",
      kind: "ApplicationProtocol",
      metadata: { name: "brpc" },
      spec: { protocol: "brpc", codec: "c" },
    } as Resource);
    off();
    store.upsert("x", mr("z", []));
  } finally {
    console.error = originalError;
  }
  assert.equal(seen, 1);
  assert.equal(store.get("ApplicationProtocol", "", "brpc")?.spec.codec, "c");
  assert.equal(store.size, 2);
});
