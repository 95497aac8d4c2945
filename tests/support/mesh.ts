/**
 * The e2e mesh harness: a control plane (in-process) on a temporary config directory of YAML, or on a
 * Kubernetes API (`kubeconfig`), and in-process proxies configured only over ADS ({@linkcode adsBootstrap}),
 * each for its own node. {@linkcode Mesh.close} tears down in order: proxies (last started first), the
 * control plane, the directory (or kubeconfig). Peers, clients and fake API servers stay the test's own.
 *
 * @module
 */
import { stringify } from "yaml";
import { type ControlPlane, startControlPlane } from "../../control/run.ts";
import { type Log, silentLog } from "../../control/xds/log.ts";
import { adsBootstrap } from "../../proxy/ads_bootstrap.ts";
import { type ProxyHandle, startProxy } from "../../proxy/run.ts";
import { canConnect, waitFor } from "./net.ts";

/** What the control plane reads. */
export interface MeshOptions {
  /** Files copied unchanged into the config directory: name there → source path (e.g. an Aeraki sample). */
  readonly files?: Record<string, string>;
  /** Files written into the config directory: name → YAML text, or objects (one document each). */
  readonly docs?: Record<string, string | readonly unknown[]>;
  /** A Kubernetes API to watch instead of a config directory (its kubeconfig is written, and removed on close). */
  readonly kube?: { writeKubeconfig(): Promise<string> };
  /** The control plane's log; default silent. */
  readonly log?: Log;
}

/** A proxy's node and what to wait for around its start. */
export interface AddProxyOptions {
  /** `LABELS` of the node metadata (the pod's labels). */
  readonly labels?: Record<string, string>;
  /** Envoy `node.cluster`. */
  readonly cluster?: string;
  /**
   * A fixed listener the proxy will get over ADS: waited for to be free first (another test file may
   * hold it, up to `freeMs`), then for the proxy to bind it (up to `boundMs`, default 10 s).
   */
  readonly listener?: { port: number; hostname?: string; freeMs?: number; boundMs?: number };
  /** Give the proxy an admin endpoint on a free loopback port (`ProxyHandle.adminPort`). */
  readonly admin?: boolean;
  /** The proxy's log sink; default silent. */
  readonly log?: (message: string) => void;
  /** Bootstrap origin in messages; default `mesh`. */
  readonly origin?: string;
}

/** A running control plane with its config directory, and the proxies on it. */
export interface Mesh {
  /** The control plane now running (replaced by {@linkcode Mesh.startPlane}). */
  readonly plane: ControlPlane;
  /** The config directory (empty string on a Kubernetes source). */
  readonly dir: string;
  /** Writes (or overwrites) `name` in the config directory. */
  write(name: string, content: string | readonly unknown[]): Promise<void>;
  /** Copies `source` unchanged to `name` in the config directory. */
  copy(source: string, name: string): Promise<void>;
  /** Removes `name` from the config directory. */
  remove(name: string): Promise<void>;
  /** Starts a proxy over ADS for node `nodeId` in `namespace`; closed by {@linkcode Mesh.close}. */
  addProxy(nodeId: string, namespace: string, opts?: AddProxyOptions): Promise<ProxyHandle>;
  /** Stops the control plane (the proxies keep their last config); {@linkcode Mesh.startPlane} restarts it. */
  stopPlane(): Promise<void>;
  /** Starts the control plane again on the same source and xDS port. */
  startPlane(): Promise<ControlPlane>;
  /** Proxies (last first), control plane, config directory (or kubeconfig). */
  close(): Promise<void>;
}

/** Objects as a multi-document YAML file. */
export function yamlDocs(docs: readonly unknown[]): string {
  return docs.map((d) => stringify(d)).join("---\n");
}

/** Writes the config directory (or the kubeconfig of `kube`), starts the control plane; see the module doc. */
export async function startMesh(opts: MeshOptions = {}): Promise<Mesh> {
  const kubeconfig = await opts.kube?.writeKubeconfig();
  const dir = kubeconfig ? "" : await Deno.makeTempDir({ prefix: "metamesh-mesh-" });
  const removeFiles = () => Deno.remove(kubeconfig ?? dir, { recursive: true });
  const inDir = (name: string) => {
    if (!dir) throw new Error(`Cannot write ${name}: this mesh reads a Kubernetes API, not a directory`);
    return `${dir}/${name}`;
  };
  const write = (name: string, content: string | readonly unknown[]) =>
    Deno.writeTextFile(inDir(name), typeof content === "string" ? content : yamlDocs(content));
  const copy = (source: string, name: string) => Deno.copyFile(source, inDir(name));
  const source = kubeconfig ? { kubeconfig } : { configDir: dir };
  const launch = (xdsPort: number) =>
    startControlPlane({
      ...source,
      xdsPort,
      adminPort: 0,
      hostname: "127.0.0.1",
      log: opts.log ?? silentLog,
    });

  let plane: ControlPlane | undefined;
  try {
    for (const [name, path] of Object.entries(opts.files ?? {})) await copy(path, name);
    for (const [name, content] of Object.entries(opts.docs ?? {})) await write(name, content);
    plane = await launch(0);
  } catch (error) {
    await removeFiles();
    throw error;
  }
  const xdsPort = plane.xdsPort;
  let running = true;
  const proxies: ProxyHandle[] = [];
  const stopPlane = async () => {
    if (running) await plane!.close();
    running = false;
  };

  return {
    get plane() {
      return plane!;
    },
    dir,
    write,
    copy,
    remove: (name) => Deno.remove(inDir(name)),
    async addProxy(nodeId, namespace, o = {}) {
      const listener = o.listener;
      const host = listener?.hostname ?? "127.0.0.1";
      if (listener?.freeMs) {
        await waitFor(
          async () => !(await canConnect(listener.port, host)),
          listener.freeMs,
          `port ${host}:${listener.port} to be free (another test file?)`,
        );
      }
      const metadata = { NAMESPACE: namespace, ...(o.labels ? { LABELS: o.labels } : {}) };
      const bootstrap = adsBootstrap({ xdsPort, node: { id: nodeId, metadata, cluster: o.cluster } });
      if (o.admin) bootstrap.admin = { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } };
      const proxy = await startProxy({ bootstrap, origin: o.origin ?? "mesh", log: o.log ?? (() => {}) });
      proxies.push(proxy);
      if (listener) {
        await waitFor(
          () => canConnect(listener.port, host),
          listener.boundMs ?? 10_000,
          `the proxy to get ${host}_${listener.port} over ADS`,
        );
      }
      return proxy;
    },
    stopPlane,
    async startPlane() {
      if (running) throw new Error("Cannot start the control plane: it is running");
      plane = await launch(xdsPort);
      running = true;
      return plane;
    },
    async close() {
      for (const proxy of proxies.splice(0).reverse()) await proxy.close();
      await stopPlane();
      await removeFiles();
    },
  };
}
