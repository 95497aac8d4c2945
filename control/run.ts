/**
 * Control-plane mode: config sources → resource store → mesh model → per-node snapshots → ADS.
 *
 * The model is rebuilt (debounced) on every store change; per-node views are generated lazily by the
 * snapshot cache, which only pushes the types whose content changed.
 *
 * @module
 */
import { type Resource, RESOURCE_KINDS } from "../crds/resources/mod.ts";
import { startDirectorySource } from "./sources/directory.ts";
import { startKubernetesSource } from "./sources/kubernetes.ts";
import { ResourceStore } from "./sources/store.ts";
import { buildMeshModel, type MeshModel } from "./translate/model.ts";
import { nodeKeyOf, parseNode } from "./translate/node.ts";
import { type NodeResources, translateForNode } from "./translate/snapshot.ts";
import { setViewCheckpoint } from "./translate/service_view.ts";
import { SnapshotCache } from "./xds/cache.ts";
import { type ControlServer, startControlServer } from "./xds/control_server.ts";
import { type Log, type LogLevel, stderrLog } from "./xds/log.ts";
import { Snapshot } from "./xds/snapshot.ts";
import { fullCollection } from "./xds/collect.ts";

/** Options of {@linkcode startControlPlane}. */
export interface ControlPlaneOptions {
  configDir?: string;
  /** Namespace of directory manifests that name none (default "default"), like `kubectl -n`. */
  defaultNamespace?: string;
  kubeconfig?: string;
  inCluster?: boolean;
  namespaces?: string[];
  /** 0 picks a free port. */
  xdsPort: number;
  adminPort: number;
  hostname?: string;
  log?: Log;
  /** Store-change coalescing before the model is rebuilt (default 10 ms: a source writes a batch at once). */
  debounceMs?: number;
}

/** A running control plane. */
export interface ControlPlane {
  readonly xdsPort: number;
  readonly adminPort: number;
  readonly store: ResourceStore;
  readonly cache: SnapshotCache;
  /** Resolves once the current store content is what the cache serves. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/** Starts sources, translation and the xDS/admin servers. Resolves once the first config is served. */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const log = opts.log ?? stderrLog();
  const store = new ResourceStore();
  const cache = new SnapshotCache({ nodeKeyOf: (node) => nodeKeyOf(parseNode(node)), log });
  let model: MeshModel | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let waiters: (() => void)[] = [];
  // Translation leaves its garbage (parsed YAML, canonical objects, the slabs packed resources were written
  // to before a snapshot's payload took them over) in the old generation, where V8 lets it pile up for
  // seconds; a full collection once a new model has been served keeps the resident size near what is live.
  const collect = fullCollection();
  if (collect) setViewCheckpoint(2_000, collect);
  let collectTimer: ReturnType<typeof setTimeout> | undefined;
  const collectSoon = () => {
    if (!collect || collectTimer !== undefined) return;
    collectTimer = setTimeout(() => {
      collectTimer = undefined;
      collect();
    }, 1_000); // after the pushes this snapshot causes, not in their way
  };

  const rebuild = () => {
    timer = undefined;
    const started = performance.now();
    try {
      model = buildMeshModel(allResources(store), model);
    } catch (error) {
      log("error", `Cannot rebuild the mesh model: ${(error as Error).message}; keeping the previous config`);
    }
    const current = model;
    if (current) {
      // Node keys that share a view (sidecars without inbound listeners) share its snapshot too.
      const snapshots = new WeakMap<NodeResources, Snapshot>();
      cache.setGenerator((node, key) => {
        const view = translateForNode(current, node);
        let snapshot = snapshots.get(view);
        if (!snapshot) {
          // The key's last snapshot lets unchanged types keep their version, payload and consistency check.
          snapshot = Snapshot.build({
            listeners: view.listeners.values(),
            routes: view.routes.values(),
            clusters: view.clusters.values(),
            endpoints: view.endpoints.values(),
          }, cache.snapshot(key));
          snapshots.set(view, snapshot);
          collectSoon();
        }
        return snapshot;
      });
      log(
        "debug",
        `mesh model rebuilt in ${(performance.now() - started).toFixed(1)} ms (${store.size} resources)`,
      );
    }
    for (const resolve of waiters) resolve();
    waiters = [];
  };
  const unsubscribe = store.onChange(() => {
    clearTimeout(timer);
    timer = setTimeout(rebuild, opts.debounceMs ?? 10);
  });

  const sources: { close(): Promise<void> }[] = [];
  try {
    if (opts.kubeconfig || opts.inCluster) {
      const kube = startKubernetesSource(
        { kubeconfig: opts.kubeconfig, namespaces: opts.namespaces, log },
        store,
      );
      sources.push(kube);
      await kube.ready;
    } else {
      sources.push(
        await startDirectorySource(opts.configDir ?? "config", store, {
          defaultNamespace: opts.defaultNamespace,
        }),
      );
    }
    clearTimeout(timer);
    rebuild();
    collect?.(); // the initial load's garbage, before the first node view is built on top of it
  } catch (error) {
    unsubscribe();
    clearTimeout(timer);
    for (const source of sources) await source.close();
    throw error;
  }

  let server: ControlServer;
  try {
    server = await startControlServer({
      cache,
      xdsPort: opts.xdsPort,
      adminPort: opts.adminPort,
      hostname: opts.hostname,
      log,
    });
  } catch (error) {
    unsubscribe();
    for (const source of sources) await source.close();
    throw error;
  }
  return {
    xdsPort: server.xdsPort,
    adminPort: server.adminPort,
    store,
    cache,
    settled: () => timer === undefined ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve)),
    async close() {
      unsubscribe();
      clearTimeout(timer);
      clearTimeout(collectTimer);
      for (const source of sources) await source.close();
      await server.close();
    },
  };
}

function allResources(store: ResourceStore): Resource[] {
  return RESOURCE_KINDS.flatMap((kind) => store.list(kind) as Resource[]);
}

/** `main.ts --mode=control`: runs until `shutdown` resolves (main.ts: SIGINT/SIGTERM); returns the exit code. */
export async function runControlPlane(
  cli: Omit<ControlPlaneOptions, "log"> & { logLevel: string },
  shutdown: Promise<void>,
): Promise<number> {
  const log = stderrLog(cli.logLevel as LogLevel);
  let plane: ControlPlane;
  try {
    plane = await startControlPlane({ ...cli, log });
  } catch (error) {
    console.error(`metamesh control: ${(error as Error).message}`);
    return 1;
  }
  log(
    "info",
    `metamesh control plane: xDS on :${plane.xdsPort}, admin on :${plane.adminPort}, ${plane.store.size} resources`,
  );
  await shutdown;
  await plane.close();
  return 0;
}
