import assert from "node:assert/strict";
import { startDirectorySource } from "../../../control/sources/directory.ts";
import { ResourceStore } from "../../../control/sources/store.ts";
import { aerakiPath } from "../../support/paths.ts";

function metaRouterYaml(name: string, host: string): string {
  return `apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata:
  name: ${name}
  namespace: meta
spec:
  hosts: [${host}]
  routes:
    - name: v1
      route:
        - destination: {host: ${host}, subset: v1}
`;
}

const SERVICE_ENTRY = `apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: se}
spec:
  hosts: [svc.example]
  ports: [{number: 20880, name: tcp-metaprotocol-dubbo, protocol: TCP}]
  resolution: STATIC
`;

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Cannot observe ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("directory source: initial read of nested multi-document files and List kinds", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/sub/deeper`, { recursive: true });
    await Deno.writeTextFile(`${dir}/a.yaml`, `${metaRouterYaml("a", "h.a")}---\n${SERVICE_ENTRY}---\n`);
    await Deno.writeTextFile(
      `${dir}/sub/deeper/list.json`,
      JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [JSON.parse(JSON.stringify({
          apiVersion: "metaprotocol.aeraki.io/v1alpha1",
          kind: "ApplicationProtocol",
          metadata: { name: "brpc" },
          spec: { protocol: "brpc", codec: "aeraki.meta_protocol.codec.brpc" },
        }))],
      }),
    );
    await Deno.writeTextFile(
      `${dir}/deploy.yml`,
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
    );
    await Deno.writeTextFile(`${dir}/.hidden.yaml`, "not: [valid");
    await Deno.writeTextFile(`${dir}/notes.txt`, "ignored");
    const store = new ResourceStore();
    const source = await startDirectorySource(dir, store, { watch: false });
    assert.deepEqual(store.list("MetaRouter").map((r) => r.metadata.name), ["a"]);
    assert.equal(store.get("ServiceEntry", "default", "se")?.spec.resolution, "STATIC");
    assert.equal(store.get("ApplicationProtocol", "", "brpc")?.spec.codec, "aeraki.meta_protocol.codec.brpc");
    assert.deepEqual(source.skipped(), [
      { origin: `${dir}/deploy.yml#0`, reason: "unsupported kind Deployment (apps/v1)" },
    ]);
    assert.deepEqual(store.errors(), []);
    await source.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("directory source: hot reload on write, rewrite, half-written file, invalid doc, delete", async () => {
  const dir = await Deno.makeTempDir();
  const store = new ResourceStore();
  const source = await startDirectorySource(dir, store, { debounceMs: 30 });
  try {
    assert.equal(store.size, 0);
    // write
    await Deno.writeTextFile(`${dir}/mr.yaml`, metaRouterYaml("mr", "h.one"));
    await waitFor("new file", () => store.get("MetaRouter", "meta", "mr") !== undefined);
    // rewrite
    await Deno.writeTextFile(`${dir}/mr.yaml`, metaRouterYaml("mr", "h.two"));
    await waitFor("rewrite", () => store.get("MetaRouter", "meta", "mr")?.spec.hosts?.[0] === "h.two");
    // half written: the YAML is cut mid-flow-sequence
    const version = store.version;
    await Deno.writeTextFile(
      `${dir}/mr.yaml`,
      metaRouterYaml("mr", "h.three").slice(0, 120) + "\n  hosts: [h.thr",
    );
    await waitFor("parse error", () => store.errors().length === 1);
    assert.match(
      store.errors()[0].message,
      /^Cannot parse .*mr\.yaml#0: .*keeping the file's last good config/,
    );
    assert.equal(store.get("MetaRouter", "meta", "mr")?.spec.hosts?.[0], "h.two");
    assert.equal(store.version, version);
    // an invalid document: the last good version of that resource stays, the other document loads
    await Deno.writeTextFile(
      `${dir}/mr.yaml`,
      `${metaRouterYaml("mr", "h.four")}          weight: -3\n---\n${SERVICE_ENTRY}`,
    );
    await waitFor("second document", () => store.get("ServiceEntry", "default", "se") !== undefined);
    assert.equal(store.get("MetaRouter", "meta", "mr")?.spec.hosts?.[0], "h.two");
    assert.equal(store.errors().length, 1);
    assert.match(
      store.errors()[0].message,
      /MetaRouter meta\/mr from .*mr\.yaml#0: spec\.routes\[0\]\.route\[0\]\.weight/,
    );
    // fixed again
    await Deno.writeTextFile(`${dir}/mr.yaml`, metaRouterYaml("mr", "h.five"));
    await waitFor("fix", () => store.get("MetaRouter", "meta", "mr")?.spec.hosts?.[0] === "h.five");
    assert.equal(store.get("ServiceEntry", "default", "se"), undefined);
    assert.deepEqual(store.errors(), []);
    // delete
    await Deno.remove(`${dir}/mr.yaml`);
    await waitFor("delete", () => store.size === 0);
  } finally {
    await source.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("directory source: Aeraki's samples folder loads without errors", async () => {
  const store = new ResourceStore();
  const source = await startDirectorySource(aerakiPath("samples", "metaprotocol-thrift"), store, {
    watch: false,
  });
  await source.close();
  assert.deepEqual(store.errors(), []);
  assert.ok(store.list("MetaRouter").length >= 1);
  assert.ok(store.list("DestinationRule").length >= 1);
  assert.ok(store.list("Service").length >= 1);
});

Deno.test("directory source: a missing directory is an error", async () => {
  await assert.rejects(
    startDirectorySource("/nonexistent/metamesh-config", new ResourceStore()),
    /Cannot read config directory \/nonexistent\/metamesh-config: not found/,
  );
});
