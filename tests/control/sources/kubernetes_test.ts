import assert from "node:assert/strict";
import type { ResourceKind } from "../../../crds/resources/mod.ts";
import { backoffDelay, startKubernetesSource } from "../../../control/sources/kubernetes.ts";
import { loadKubeconfig } from "../../../control/sources/kubeconfig.ts";
import { ResourceStore } from "../../../control/sources/store.ts";
import { FakeKubeApi, type FakeKubeApiOptions } from "../../support/fake_kube_api.ts";

const mr = (name: string, host: string, namespace = "meta") => ({
  apiVersion: "metaprotocol.aeraki.io/v1alpha1",
  kind: "MetaRouter",
  metadata: { name, namespace },
  spec: { hosts: [host], routes: [{ name: "r", route: [{ destination: { host } }] }] },
});
const se = (name: string, host: string, namespace = "meta") => ({
  apiVersion: "networking.istio.io/v1alpha3",
  kind: "ServiceEntry",
  metadata: { name, namespace },
  spec: { hosts: [host], ports: [{ number: 9090, name: "tcp-metaprotocol-thrift", protocol: "TCP" }] },
});
const svc = (name: string, port: number, namespace = "meta") => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace, labels: { app: name } },
  spec: { ports: [{ name: "tcp-metaprotocol-dubbo", port, protocol: "TCP" }], selector: { app: name } },
});
const slice = (name: string, ip: string, namespace = "meta") => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name, namespace, labels: { "kubernetes.io/service-name": name } },
  addressType: "IPv4",
  endpoints: [{ addresses: [ip], conditions: { ready: true } }],
  ports: [{ name: "tcp-metaprotocol-dubbo", port: 20880, protocol: "TCP" }],
});

const KINDS: ResourceKind[] = ["MetaRouter", "ServiceEntry", "Service", "EndpointSlice"];

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Cannot observe ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function withFake(
  options: FakeKubeApiOptions & { namespaces?: string[]; kinds?: ResourceKind[]; istioVersion?: string },
  body: (api: FakeKubeApi, store: ResourceStore) => Promise<void>,
  seed: (api: FakeKubeApi) => void = () => {},
): Promise<void> {
  const api = FakeKubeApi.start(options);
  const kubeconfig = await api.writeKubeconfig();
  const store = new ResourceStore();
  seed(api);
  const source = startKubernetesSource({
    kubeconfig,
    kinds: options.kinds ?? KINDS,
    namespaces: options.namespaces,
    istioVersion: options.istioVersion,
    initialBackoffMs: 10,
    maxBackoffMs: 50,
  }, store);
  try {
    await source.ready;
    await body(api, store);
  } finally {
    await source.close();
    await api.close();
    await Deno.remove(kubeconfig);
  }
}

Deno.test("kube source: initial list, then create/update/delete of MetaRouter, ServiceEntry, Service, EndpointSlice", async () => {
  await withFake({}, async (api, store) => {
    assert.deepEqual(store.get("MetaRouter", "meta", "a")?.spec.hosts, ["a.host"]);
    // Core list items come without kind/apiVersion; the source fills them in.
    assert.equal(store.get("Service", "meta", "a")?.apiVersion, "v1");
    // The fake serves v1beta1, so ServiceEntries are read at v1beta1.
    assert.equal(store.get("ServiceEntry", "meta", "a")?.apiVersion, "networking.istio.io/v1beta1");
    api.create(mr("b", "b.host"));
    api.create(se("b", "b.host"));
    api.create(svc("b", 20880));
    api.create(slice("b", "10.0.0.2"));
    await waitFor("creates", () => store.size === 8);
    api.update(mr("b", "b2.host"));
    api.update(svc("b", 20881));
    api.update(slice("b", "10.0.0.3"));
    api.update(se("b", "b2.host"));
    await waitFor("updates", () => store.get("ServiceEntry", "meta", "b")?.spec.hosts?.[0] === "b2.host");
    assert.deepEqual(store.get("MetaRouter", "meta", "b")?.spec.hosts, ["b2.host"]);
    assert.equal(store.get("Service", "meta", "b")?.spec.ports?.[0].port, 20881);
    assert.equal(store.get("EndpointSlice", "meta", "b")?.endpoints[0].addresses[0], "10.0.0.3");
    for (const obj of [mr("a", ""), se("a", ""), svc("a", 0), slice("a", "")]) api.delete(obj);
    await waitFor("deletes", () => store.size === 4);
    assert.equal(store.get("MetaRouter", "meta", "a"), undefined);
    assert.deepEqual(store.errors(), []);
  }, seed);
});

function seed(api: FakeKubeApi): void {
  api.create(mr("a", "a.host"));
  api.create(se("a", "a.host"));
  api.create(svc("a", 20880));
  api.create(slice("a", "10.0.0.1"));
}

for (const goneAsStatus of [false, true]) {
  Deno.test(`kube source: 410 Gone (${goneAsStatus ? "HTTP status" : "ERROR event"}) → relist without losing state`, async () => {
    await withFake({ goneAsStatus, kinds: ["MetaRouter"] }, async (api, store) => {
      const changed: string[] = [];
      store.onChange((c) => changed.push(...c.changed.map((k) => k.name)));
      const lists = () => api.requests.filter((r) => r.endsWith("/metarouters")).length;
      assert.equal(lists(), 1);
      // Compact and cut the connection in one go, then change things the watch will never replay.
      api.compact();
      api.dropWatches();
      api.delete(mr("gone", ""));
      api.update(mr("changed", "new.host"));
      api.create(mr("added", "added.host"));
      await waitFor("relist", () => store.get("MetaRouter", "meta", "added") !== undefined);
      assert.equal(lists(), 2);
      assert.equal(store.get("MetaRouter", "meta", "gone"), undefined);
      assert.deepEqual(store.get("MetaRouter", "meta", "changed")?.spec.hosts, ["new.host"]);
      assert.deepEqual(store.get("MetaRouter", "meta", "kept")?.spec.hosts, ["kept.host"]);
      // The unchanged object never flickered out of the store.
      assert.ok(!changed.includes("kept"));
      assert.deepEqual(changed.sort(), ["added", "changed", "gone"]);
      // And the watch resumes after the relist.
      api.create(mr("later", "later.host"));
      await waitFor("event after relist", () => store.get("MetaRouter", "meta", "later") !== undefined);
    }, (api) => {
      api.create(mr("kept", "kept.host"));
      api.create(mr("gone", "gone.host"));
      api.create(mr("changed", "old.host"));
    });
  });
}

Deno.test("kube source: dropped watch → reconnect from the last resourceVersion and catch up", async () => {
  await withFake({ kinds: ["MetaRouter", "Service"] }, async (api, store) => {
    await waitFor("watches open", () => api.openWatches === 2);
    const rvBefore = api.resourceVersion;
    api.dropWatches();
    api.create(mr("while-down", "x.host"));
    api.delete(svc("a", 0));
    await waitFor("catch up", () => store.get("MetaRouter", "meta", "while-down") !== undefined);
    await waitFor("catch up delete", () => store.get("Service", "meta", "a") === undefined);
    // Caught up by watching from the old resourceVersion, not by listing again.
    assert.equal(api.requests.filter((r) => !r.includes("watch=")).length, 2);
    assert.ok(
      api.requests.some((r) =>
        r.includes("metarouters?watch=1") && r.includes(`resourceVersion=${rvBefore}`)
      ),
    );
  }, seed);
});

Deno.test("kube source: BOOKMARK advances the resourceVersion used to re-watch", async () => {
  await withFake({ kinds: ["MetaRouter"] }, async (api) => {
    await waitFor("watch open", () => api.openWatches === 1);
    assert.ok(api.requests.some((r) => r.includes("allowWatchBookmarks=true")));
    api.create(svc("unwatched", 1)); // bumps the global resourceVersion only
    const rv = api.resourceVersion;
    api.sendBookmarks();
    await new Promise((r) => setTimeout(r, 30));
    api.dropWatches();
    await waitFor("re-watch", () => api.requests.some((r) => r.includes(`resourceVersion=${rv}`)));
  });
});

Deno.test("kube source: --namespaces watches per namespace; Istio falls back to v1alpha3", async () => {
  await withFake({
    namespaces: ["a", "b"],
    istioVersions: ["v1alpha3"],
    kinds: ["MetaRouter", "ServiceEntry"],
  }, async (api, store) => {
    assert.deepEqual(store.list("MetaRouter").map((r) => r.metadata.namespace), ["a", "b"]);
    assert.equal(store.get("ServiceEntry", "a", "s")?.apiVersion, "networking.istio.io/v1alpha3");
    assert.ok(api.requests.includes("/apis/metaprotocol.aeraki.io/v1alpha1/namespaces/a/metarouters"));
    assert.ok(api.requests.includes("/apis/networking.istio.io/v1beta1/namespaces/b/serviceentries"));
    assert.ok(api.requests.includes("/apis/networking.istio.io/v1alpha3/namespaces/b/serviceentries"));
    api.create(mr("y", "y", "c"));
    api.create(mr("z", "z", "b"));
    await waitFor("ns b event", () => store.get("MetaRouter", "b", "z") !== undefined);
    assert.equal(store.get("MetaRouter", "c", "y"), undefined);
  }, (api) => {
    api.create(mr("x", "x", "a"));
    api.create(mr("x", "x", "b"));
    api.create(mr("x", "x", "c"));
    api.create(se("s", "s", "a"));
  });
});

Deno.test("kube source: an invalid update keeps the last good version and records the error", async () => {
  await withFake({ kinds: ["MetaRouter"] }, async (api, store) => {
    const bad = mr("a", "a.host");
    (bad.spec.routes[0].route[0] as Record<string, unknown>).weight = "heavy";
    api.update(bad);
    await waitFor("error", () => store.errors().length === 1);
    assert.match(
      store.errors()[0].message,
      /^Cannot load MetaRouter meta\/a from kube API: spec\.routes\[0\]\.route\[0\]\.weight/,
    );
    assert.deepEqual(store.get("MetaRouter", "meta", "a")?.spec.hosts, ["a.host"]);
    api.update(mr("a", "fixed.host"));
    await waitFor("fix", () => store.get("MetaRouter", "meta", "a")?.spec.hosts?.[0] === "fixed.host");
    assert.deepEqual(store.errors(), []);
  }, seed);
});

Deno.test("kubeconfig: token, server and context are read; a wrong token is refused by the fake", async () => {
  const api = FakeKubeApi.start({ token: "s3cret" });
  const path = await api.writeKubeconfig();
  try {
    const conn = await loadKubeconfig(path);
    assert.equal(conn.server, api.url);
    assert.equal(conn.headers.authorization, "Bearer s3cret");
    await assert.rejects(loadKubeconfig(path, "nope"), /Cannot use kubeconfig .*: context "nope" not found/);
    const refused = await fetch(`${api.url}/api/v1/services`, { headers: { authorization: "Bearer wrong" } });
    await refused.body?.cancel();
    assert.equal(refused.status, 401);
  } finally {
    await api.close();
    await Deno.remove(path);
  }
});

Deno.test("backoff: exponential, capped, jittered between half and full delay", () => {
  const opts = { initialMs: 100, maxMs: 1000 };
  assert.deepEqual([1, 2, 3, 4, 5, 50].map((n) => backoffDelay(n, { ...opts, random: () => 1 })), [
    100,
    200,
    400,
    800,
    1000,
    1000,
  ]);
  assert.equal(backoffDelay(3, { ...opts, random: () => 0 }), 200);
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(2, opts);
    assert.ok(d >= 100 && d <= 200, `${d}`);
  }
});

Deno.test("kube source: an unreachable server is retried with backoff until it appears", async () => {
  const { freePort } = await import("../../support/net.ts");
  const port = freePort();
  const store = new ResourceStore();
  const source = startKubernetesSource({
    connection: { server: `http://127.0.0.1:${port}`, headers: { authorization: "Bearer fake-token" } },
    kinds: ["MetaRouter"],
    initialBackoffMs: 10,
    maxBackoffMs: 40,
  }, store);
  const originalError = console.error;
  const logged: string[] = [];
  console.error = (msg: string) => logged.push(msg);
  let api: FakeKubeApi | undefined;
  try {
    // Backoff 10, 20, 40 ms: two retries take ~60 ms (longer on a loaded machine).
    await waitFor("two retries", () => logged.length >= 2, 2000);
    assert.match(
      logged[0],
      /^Cannot GET http:\/\/127\.0\.0\.1:\d+\/apis\/metaprotocol\.aeraki\.io\/v1alpha1\/metarouters: .*; retrying$/,
    );
    api = FakeKubeApi.start({ port });
    api.create(mr("late", "late.host"));
    await source.ready;
    assert.ok(store.get("MetaRouter", "meta", "late"));
  } finally {
    console.error = originalError;
    await source.close();
    await api?.close();
  }
});

Deno.test("kube source: a server answering 410 to every watch is relisted with backoff, not in a loop", async () => {
  const paths: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    paths.push(url.search.includes("watch") ? "watch" : "list");
    if (url.search.includes("watch")) {
      return Response.json({ kind: "Status", code: 410, message: "too old resource version" }, {
        status: 410,
      });
    }
    return Response.json({ kind: "MetaRouterList", metadata: { resourceVersion: "7" }, items: [] });
  });
  const lines: string[] = [];
  const store = new ResourceStore();
  const source = startKubernetesSource({
    connection: { server: `http://127.0.0.1:${server.addr.port}`, headers: {} },
    kinds: ["MetaRouter"],
    initialBackoffMs: 40,
    maxBackoffMs: 200,
    log: (level, message) => lines.push(`${level} ${message}`),
  }, store);
  try {
    await source.ready;
    await new Promise((r) => setTimeout(r, 600));
  } finally {
    await source.close();
    await server.shutdown();
  }
  const lists = paths.filter((p) => p === "list").length;
  // 40, 80, 160, 200… ms (jittered down to half): a handful of lists in 600 ms, not hundreds.
  assert.ok(lists >= 3 && lists <= 12, `lists: ${lists}`);
  assert.ok(lines.some((l) => l.startsWith("debug Relisted MetaRouter: 0 objects")), lines.join("\n"));
  assert.ok(lines.every((l) => l.startsWith("debug ")), lines.join("\n"));
});
