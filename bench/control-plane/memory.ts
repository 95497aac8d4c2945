/**
 * Where the control plane's heap goes at N services: heap used (after a forced GC) after each stage of
 * the pipeline the control plane runs (directory load into the store, mesh model, node view, snapshot, a
 * rebuild after one change), in this process.
 *
 *   deno run -A --v8-flags=--expose-gc bench/control-plane/memory.ts [--services 10000]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { startDirectorySource } from "../../control/sources/directory.ts";
import { ResourceStore } from "../../control/sources/store.ts";
import { buildMeshModel } from "../../control/translate/model.ts";
import { parseNode } from "../../control/translate/node.ts";
import { translateForNode } from "../../control/translate/snapshot.ts";
import { Snapshot } from "../../control/xds/snapshot.ts";
import { type Resource, RESOURCE_KINDS } from "../../crds/resources/mod.ts";
import { writeManifests } from "./manifests.ts";

const args = parseArgs({ args: Deno.args, options: { services: { type: "string", default: "10000" } } });
const SERVICES = Number(args.values.services);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("Cannot measure: run with --v8-flags=--expose-gc");

let last = 0;
function stage(name: string): void {
  gc!();
  gc!();
  const { heapUsed, rss, external } = Deno.memoryUsage();
  const mib = (n: number) => (n / 1048576).toFixed(1).padStart(7);
  console.log(
    `${name.padEnd(32)} heap ${mib(heapUsed)} MiB (+${mib(heapUsed - last)})  external ${
      mib(external)
    }  rss ${mib(rss)}`,
  );
  last = heapUsed;
}

const dir = await Deno.makeTempDir({ prefix: "metamesh-mem-" });
try {
  await writeManifests(dir, SERVICES, 5);
  stage("baseline");
  const store = new ResourceStore();
  const source = await startDirectorySource(dir, store, { watch: false });
  stage("store (+ directory texts)");
  const all = () => RESOURCE_KINDS.flatMap((kind) => store.list(kind) as Resource[]);
  let model = buildMeshModel(all());
  stage("mesh model");
  const node = parseNode({
    id: "sidecar~10.200.0.1~c.ns-0~ns-0.svc.cluster.local",
    metadata: { NAMESPACE: "ns-0" },
  });
  let view = translateForNode(model, node);
  stage("node view");
  const build = () =>
    Snapshot.build({
      listeners: view.listeners.values(),
      routes: view.routes.values(),
      clusters: view.clusters.values(),
      endpoints: view.endpoints.values(),
    });
  let snapshot = build();
  stage("snapshot");
  await Deno.writeTextFile(
    `${dir}/changed.yaml`,
    (await Deno.readTextFile(`${dir}/changed.yaml`)).replace("split-0", "split-1"),
  );
  await source.reload();
  model = buildMeshModel(all(), model);
  view = translateForNode(model, node);
  snapshot = build();
  stage("after one change (old dropped)");
  void snapshot;
} finally {
  await Deno.remove(dir, { recursive: true });
}
