/**
 * Control-plane benchmark: 10,000 MetaProtocol services / 50,000 endpoints as generated Aeraki manifests in a
 * config directory (ServiceEntries with inline endpoints, two-subset DestinationRules, a MetaRouter for one
 * service in ten), then:
 *
 * 1. full translation time, in this process: directory load, mesh model, first node view, snapshot build
 *    (every resource encoded to protobuf, as the ADS server serves it);
 * 2. `main.ts --mode=control` as a subprocess with 10 connected xDS clients, its RSS (current and peak);
 * 3. the time from rewriting ONE MetaRouter file to the last of the 10 clients applying the new route table.
 *
 * The 10 clients are raw SotW ADS streams (`ads_stream.ts`, `crds/grpc_services.ts` `adsService()`) shaped like
 * a proxy (CDS/LDS wildcard, then EDS/RDS for every name, every response ACKed) with distinct node ids in one
 * namespace. They decode only what a client needs to follow the config (listeners and clusters for the RDS/EDS
 * names, route names, the changed route in full), so the sync time is the server's, not 10 full decoders'. Not `startProxy`: 10 proxies would each bind 10,000 listeners on the
 * services' VIPs, and metamesh's own xDS client (`proxy/xds_client.ts`) cannot receive these responses (grpc-js's
 * default 4 MiB receive limit; the LDS response alone is ~5.2 MB). "Applied" = the stream received the changed
 * RouteConfiguration (its ACK follows at once).
 *
 *   deno run -A bench/control-plane/run.ts [--services 10000] [--changes 3] [--write]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { parseNode } from "../../control/translate/node.ts";
import { buildMeshModel } from "../../control/translate/model.ts";
import { translateForNode } from "../../control/translate/snapshot.ts";
import { startDirectorySource } from "../../control/sources/directory.ts";
import { ResourceStore } from "../../control/sources/store.ts";
import { Snapshot } from "../../control/xds/snapshot.ts";
import { type Resource, RESOURCE_KINDS } from "../../crds/resources/mod.ts";
import {
  conditions,
  deno,
  freePort,
  loadAverage,
  markdownTable,
  repoRoot,
  spawn,
  waitForPort,
} from "../lib.ts";
import { replaceSection } from "../results.ts";
import { AdsStream } from "./ads_stream.ts";
import { writeManifests } from "./manifests.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    services: { type: "string", default: "10000" },
    changes: { type: "string", default: "3" },
    clients: { type: "string", default: "10" },
    write: { type: "boolean", default: false },
    /** V8 flags for the control-plane subprocess, to measure a choice (default none). */
    "v8-flags": { type: "string" },
    /** Extra environment of the control-plane subprocess, `NAME=value`, repeatable (e.g. `MALLOC_ARENA_MAX=2`). */
    env: { type: "string", multiple: true },
  },
});
const SERVICES = Number(args.values.services);
const CLIENTS = Number(args.values.clients);
const CHANGES = Number(args.values.changes);
const ENDPOINTS_PER_SERVICE = 5;
const CHANGED_HOST = "svc-0.ns-0.svc.cluster.local";
const CHANGED_ROUTE = `${CHANGED_HOST}_20880`;

/** Records when each RouteConfiguration arrived (the stream ACKs right after). */
class RecordingSink {
  readonly routes = new Map<string, { json: string; at: number }>();
  onRoute(name: string, decode: () => Record<string, unknown>): void {
    this.routes.set(name, {
      json: name === CHANGED_ROUTE ? JSON.stringify(decode()) : "",
      at: performance.now(),
    });
  }
  appliedAt(marker: string): number | undefined {
    const r = this.routes.get(CHANGED_ROUTE);
    return r && r.json.includes(`"${marker}"`) ? r.at : undefined;
  }
}

const dir = await Deno.makeTempDir({ prefix: "metamesh-bench-cp-" });
const rows: (string | number)[][] = [];
try {
  const files = await writeManifests(dir, SERVICES, ENDPOINTS_PER_SERVICE);
  console.log(
    `wrote ${files} files for ${SERVICES} services / ${SERVICES * ENDPOINTS_PER_SERVICE} endpoints`,
  );

  // 1. Translation, in process.
  const store = new ResourceStore();
  let t = performance.now();
  const source = await startDirectorySource(dir, store, { watch: false });
  const loadMs = performance.now() - t;
  await source.close();
  const resources = RESOURCE_KINDS.flatMap((kind) => store.list(kind) as Resource[]);
  t = performance.now();
  const model = buildMeshModel(resources);
  const modelMs = performance.now() - t;
  const node = nodeOf(0);
  t = performance.now();
  const view = translateForNode(model, parseNode(node));
  const viewMs = performance.now() - t;
  t = performance.now();
  const snapshot = Snapshot.build({
    listeners: view.listeners.values(),
    routes: view.routes.values(),
    clusters: view.clusters.values(),
    endpoints: view.endpoints.values(),
  });
  const buildMs = performance.now() - t;
  const counts =
    `${view.listeners.size} listeners, ${view.routes.size} routes, ${view.clusters.size} clusters, ` +
    `${view.endpoints.size} load assignments`;
  void snapshot;
  rows.push(["directory load + validation", `${loadMs.toFixed(0)} ms`, `${resources.length} resources`]);
  rows.push(["mesh model", `${modelMs.toFixed(0)} ms`, ""]);
  rows.push(["first node view", `${viewMs.toFixed(0)} ms`, counts]);
  rows.push(["snapshot build (protobuf)", `${buildMs.toFixed(0)} ms`, ""]);
  rows.push([
    "full translation (model + view + snapshot)",
    `${(modelMs + viewMs + buildMs).toFixed(0)} ms`,
    "",
  ]);

  // 2. The control plane as its own process, 10 clients.
  const xdsPort = freePort();
  const adminPort = freePort();
  const started = performance.now();
  const plane = spawn(deno, [
    "run",
    "-A",
    ...(args.values["v8-flags"] ? [`--v8-flags=${args.values["v8-flags"]}`] : []),
    `${repoRoot}main.ts`,
    "--mode=control",
    "--config-dir",
    dir,
    "--xds-port",
    String(xdsPort),
    "--admin-port",
    String(adminPort),
    "--log-level",
    "error",
  ], {
    env: Object.fromEntries(
      (args.values.env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
    ),
  });
  const clients: AdsStream[] = [];
  try {
    await waitForPort(xdsPort, 120_000);
    const readyMs = performance.now() - started;
    rows.push(["control plane start → xDS serving", `${readyMs.toFixed(0)} ms`, "subprocess, includes load"]);
    await waitForPort(adminPort, 10_000);
    const idle = await memory(plane.pid);
    rows.push([
      "control plane RSS (serving, no clients)",
      `${idle.rss} MiB`,
      `anon ${idle.anon} / file ${idle.file} MiB, peak ${idle.peak} MiB; ${await heap(adminPort)}`,
    ]);
    const sinks = Array.from({ length: CLIENTS }, () => new RecordingSink());
    t = performance.now();
    for (let i = 0; i < CLIENTS; i++) {
      clients.push(new AdsStream(`127.0.0.1:${xdsPort}`, nodeOf(i), (n, r) => sinks[i].onRoute(n, r)));
    }
    await waitUntil(
      () => sinks.every((s) => s.routes.has(CHANGED_ROUTE) && s.routes.size >= SERVICES),
      Number(Deno.env.get("SYNC_MS") ?? 180_000),
    );
    const syncMs = performance.now() - t;
    rows.push([
      `initial sync of ${CLIENTS} clients`,
      `${syncMs.toFixed(0)} ms`,
      "until every client has all routes",
    ]);
    const rss = await memory(plane.pid);
    rows.push([
      `control plane RSS (${CLIENTS} clients synced)`,
      `${rss.rss} MiB`,
      `anon ${rss.anon} / file ${rss.file} MiB, peak ${rss.peak} MiB; ${await heap(
        adminPort,
      )}; load ${await loadAverage()}`,
    ]);

    // 3. One MetaRouter change → all clients.
    const latencies: number[] = [];
    for (let n = 1; n <= CHANGES; n++) {
      const marker = `split-${n}`;
      const t0 = performance.now();
      await Deno.writeTextFile(`${dir}/changed.yaml`, changedMetaRouter(marker));
      await waitUntil(
        () => sinks.every((s) => s.appliedAt(marker) !== undefined),
        Number(Deno.env.get("CHANGE_MS") ?? 60_000),
      );
      const last = Math.max(...sinks.map((s) => s.appliedAt(marker)!)) - t0;
      const first = Math.min(...sinks.map((s) => s.appliedAt(marker)!)) - t0;
      latencies.push(last);
      rows.push([
        `MetaRouter change #${n} → all ${CLIENTS} clients`,
        `${last.toFixed(0)} ms`,
        `first client ${first.toFixed(0)} ms`,
      ]);
      await new Promise((r) => setTimeout(r, 300));
    }
    const after = await memory(plane.pid);
    rows.push([
      "control plane RSS (after changes)",
      `${after.rss} MiB`,
      `anon ${after.anon} / file ${after.file} MiB, peak ${after.peak} MiB; ${await heap(adminPort)}`,
    ]);
    const table = markdownTable(["measure", "value", "notes"], rows);
    console.log(table);
    const worst = Math.max(...latencies);
    const peakMB = after.peak * 1.048576; // VmHWM over the whole run, MiB → MB
    const verdict = `targets: change → all proxies < 1 s: ${worst < 1000 ? "met" : "NOT met"} (worst ${
      worst.toFixed(0)
    } ms); RSS < 300 MB: ${peakMB < 300 ? "met" : "NOT met"} (peak ${after.peak} MiB = ${
      peakMB.toFixed(0)
    } MB)`;
    console.log(verdict);
    if (args.values.write) {
      await replaceSection(
        "Control plane",
        `${SERVICES} ServiceEntries (one MetaProtocol port each, a VIP, ${ENDPOINTS_PER_SERVICE} endpoints), ` +
          `${SERVICES} DestinationRules (v1/v2), ${SERVICES / 10} MetaRouters (10/90 split), in ` +
          `${files} YAML files of a config directory; ${CLIENTS} raw SotW ADS streams shaped like proxies (CDS/LDS wildcard, ` +
          `EDS/RDS for every name, ACKed; listeners/clusters decoded for the names they reference, routes read for ` +
          `their name, the changed route decoded, load assignments not decoded; distinct node ids, one namespace) on the control plane ` +
          `subprocess (\`main.ts --mode=control\`). Change latency: from the file write to the last client ` +
          `applying the new RouteConfiguration (directory watch debounce 20 ms, model debounce 10 ms and push ` +
          `coalescing 10 ms included). Heap used of total/external: the control plane's \`Deno.memoryUsage()\` from its /metrics. Memory design behind these numbers: resources are kept only as protobuf bytes (\`control/xds/resource.ts\`), SotW responses are written in 64 KiB pieces of the shared snapshot bytes (\`control/xds/chunked_writer.ts\`: Deno's HTTP/2 stream otherwise keeps a buffer as large as its largest response, ~17 MiB per proxy), and full collections run after the initial load, every 2,000 service views built, 1 s after a new model is served and after every 8 MiB of responses written. \`deno run -A bench/control-plane/run.ts --write\`.\n\n${table}\n\n${verdict}\n\n` +
          `Conditions: ${await conditions()}; other engineers' tests and benchmarks may share the machine (check the load average).`,
      );
      console.log("bench/RESULTS.md updated");
    }
  } finally {
    for (const c of clients) c.close();
    await plane.close();
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

function nodeOf(i: number) {
  return {
    id: `sidecar~10.200.0.${i + 1}~client-${i}.ns-0~ns-0.svc.cluster.local`,
    metadata: { NAMESPACE: "ns-0", LABELS: { app: "client" } },
  };
}

function changedMetaRouter(routeName: string): string {
  return `apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata:
  name: svc-0
  namespace: ns-0
spec:
  hosts:
    - ${CHANGED_HOST}
  routes:
    - name: ${routeName}
      match:
        attributes:
          method:
            exact: sayHello
      route:
        - destination: {host: ${CHANGED_HOST}, subset: v1}
          weight: 80
        - destination: {host: ${CHANGED_HOST}, subset: v2}
          weight: 20
`;
}

async function memory(pid: number): Promise<{ rss: number; peak: number; anon: number; file: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "");
  const mib = (key: string) =>
    Math.round(Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024);
  return { rss: mib("VmRSS"), peak: mib("VmHWM"), anon: mib("RssAnon"), file: mib("RssFile") };
}

/** V8 heap in use and external memory of the control plane, from its admin `/metrics`. */
async function heap(adminPort: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const mib = (name: string) =>
    Math.round(Number(new RegExp(`^${name} (\\d+)`, "m").exec(text)?.[1] ?? 0) / 1048576);
  return `heap used ${mib("metamesh_process_heap_used_bytes")} of ${
    mib("metamesh_process_heap_total_bytes")
  } MiB, external ${mib("metamesh_process_external_bytes")} MiB`;
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Cannot wait: condition not met after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
