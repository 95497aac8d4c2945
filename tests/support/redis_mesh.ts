/**
 * The Redis e2e mesh (tests/e2e/redis_control_test.ts): Aeraki's `samples/redis/` files copied unchanged into a
 * config directory with the Kubernetes-side facts ({@linkcode clusterFacts}), a control plane, and one sidecar
 * proxy over ADS (node `redis-client-1.redis`, the samples' client namespace) with an admin port, whose
 * `/config_dump` the steps wait on.
 *
 * @module
 */
import { Redis } from "ioredis";
import type { ControlPlane } from "../../control/run.ts";
import type { ProxyHandle } from "../../proxy/run.ts";
import { type Mesh, startMesh } from "./mesh.ts";
import { waitFor } from "./net.ts";
import { aerakiPath } from "./paths.ts";
import type { RedisNode } from "./redis_peer.ts";

/** Where the samples are under shared/aeraki. */
export const SAMPLES = "samples/redis";
/** The samples' namespace. */
export const NS = "redis";
/** The redis-single Service's host. */
export const SINGLE = "redis-single.redis.svc.cluster.local";
/** The redis-cluster Service's host. */
export const CLUSTER = "redis-cluster.redis.svc.cluster.local";
/** The sample Services' port (both `tcp-redis`). */
export const PORT = 6379;

/** A loosely typed config object. */
export type Obj = Record<string, unknown>;

/**
 * The Kubernetes-side facts. The Services are those of the samples (same names, namespace, port numbers and
 * names, selectors) plus the ClusterIP the API server assigns. The EndpointSlices stand for the pods the
 * selectors pick: Kubernetes would list pod IPs on port 6379 (16379 for the cluster bus); here every "pod" is
 * 127.0.0.1 on its own port, so each Redis Cluster node gets its own slice (a slice has one port set).
 */
export function clusterFacts(ips: ClusterIps, single: RedisNode, nodes: RedisNode[] | undefined): string {
  const slice = (service: string, name: string, ports: [string, number][]) =>
    `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${name}
  namespace: ${NS}
  labels:
    kubernetes.io/service-name: ${service}
addressType: IPv4
ports:
${ports.map(([n, p]) => `  - name: ${n}\n    port: ${p}\n    protocol: TCP`).join("\n")}
endpoints:
  - addresses: [127.0.0.1]
    conditions: {ready: true}
`;
  const docs = [
    `apiVersion: v1
kind: Service
metadata:
  name: redis-single
  namespace: ${NS}
spec:
  type: ClusterIP
  clusterIP: ${ips.single}
  ports:
    - port: ${PORT}
      targetPort: 6379
      name: tcp-redis
  selector:
    app: redis-single
`,
    slice("redis-single", "redis-single-abcde", [["tcp-redis", single.port]]),
  ];
  if (!nodes) return docs.join("---\n");
  docs.push(
    `apiVersion: v1
kind: Service
metadata:
  name: redis-cluster
  namespace: ${NS}
spec:
  type: ClusterIP
  clusterIP: ${ips.cluster}
  ports:
    - port: ${PORT}
      targetPort: 6379
      name: tcp-redis
    - port: 16379
      targetPort: 16379
      name: tcp-gossip
  selector:
    app: redis-cluster
`,
    ...nodes.map((n, i) =>
      slice("redis-cluster", `redis-cluster-${i}`, [["tcp-redis", n.port], ["tcp-gossip", n.port + 10_000]])
    ),
  );
  return docs.join("---\n");
}

/** The ClusterIPs "assigned" to the sample Services. */
export interface ClusterIps {
  readonly single: string;
  readonly cluster: string;
}

/** Two random loopback addresses on which port 6379 can be bound (the "ClusterIPs"). */
function loopbackClusterIps(): ClusterIps {
  const pick = (): string => {
    for (let i = 0; i < 50; i++) {
      const ip = `127.${1 + rand(250)}.${rand(256)}.${1 + rand(250)}`;
      try {
        Deno.listen({ hostname: ip, port: PORT }).close();
        return ip;
      } catch { /* taken or not bindable: try another */ }
    }
    throw new Error(`Cannot find a loopback address with port ${PORT} free`);
  };
  const single = pick();
  let cluster = pick();
  while (cluster === single) cluster = pick();
  return { single, cluster };
}

function rand(n: number): number {
  return Math.floor(Math.random() * n);
}

/** A control plane on a directory of facts + sample files, and an ADS proxy; see the module doc. */
export class RedisMesh {
  readonly #clients: Redis[] = [];

  private constructor(
    readonly mesh: Mesh,
    readonly ips: ClusterIps,
    readonly proxy: ProxyHandle,
    /** The proxy's NACK log lines (config it rejected). */
    readonly nacks: string[],
  ) {}

  /** The config directory. */
  get dir(): string {
    return this.mesh.dir;
  }

  /** The control plane. */
  get plane(): ControlPlane {
    return this.mesh.plane;
  }

  /** Writes the facts and `samples` (copied unchanged), starts the control plane and the proxy. */
  static async start(facts: (ips: ClusterIps) => string, samples: string[]): Promise<RedisMesh> {
    const ips = loopbackClusterIps();
    const mesh = await startMesh({
      docs: { "cluster-facts.yaml": facts(ips) },
      files: Object.fromEntries(samples.map((f) => [f, aerakiPath(SAMPLES, f)])),
    });
    try {
      const nacks: string[] = [];
      const proxy = await mesh.addProxy(
        `sidecar~127.0.0.1~redis-client-1.${NS}~${NS}.svc.cluster.local`,
        NS,
        {
          cluster: "redis-client",
          labels: { app: "redis-client" },
          admin: true,
          origin: "redis_control_test",
          log: (m) => {
            if (/reject/i.test(m)) nacks.push(m);
          },
        },
      );
      return new RedisMesh(mesh, ips, proxy, nacks);
    } catch (error) {
      await mesh.close();
      throw error;
    }
  }

  /** Copies a sample file (unchanged) into the config dir. */
  apply(file: string): Promise<void> {
    return this.mesh.copy(aerakiPath(SAMPLES, file), file);
  }

  /** Removes a file from the config dir. */
  remove(file: string): Promise<void> {
    return this.mesh.remove(file);
  }

  /** Runs `body` with `file` applied; removes it afterwards. */
  async with(file: string, body: () => Promise<void>): Promise<void> {
    await this.apply(file);
    try {
      await body();
    } finally {
      await this.remove(file);
    }
  }

  /** The proxy's current config (its admin `/config_dump`). */
  async dump(): Promise<{ listeners: Obj[]; clusters: Obj[] }> {
    const res = await fetch(`http://127.0.0.1:${this.proxy.adminPort}/config_dump`);
    return await res.json() as { listeners: Obj[]; clusters: Obj[] };
  }

  /** Waits until the redis_proxy config of the outbound listener of `host` satisfies `ok`. */
  waitListener(host: string, ok: (config: Obj) => boolean, what: string): Promise<void> {
    const name = `${this.#ip(host)}_${PORT}`;
    return this.#wait(async () => {
      const l = (await this.dump()).listeners.find((l) => l.name === name);
      const filter = ((l?.filter_chains as Obj[] | undefined)?.[0]?.filters as Obj[] | undefined)?.[0];
      return filter !== undefined && ok(filter.typed_config as Obj);
    }, `the proxy's listener ${name} (${host}) to have ${what}`);
  }

  /** Waits until the proxy's cluster `name` satisfies `ok`. */
  waitCluster(name: string, ok: (cluster: Obj | undefined) => boolean, what: string): Promise<void> {
    return this.#wait(
      async () => ok((await this.dump()).clusters.find((c) => c.name === name)),
      `the proxy's cluster ${name} to have ${what}`,
    );
  }

  /** A non-cluster ioredis client on the outbound listener of `host` (closed by {@link close}). */
  client(host: string, extra: Obj = {}): Redis {
    const c = new Redis({
      host: this.#ip(host),
      port: PORT,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      ...extra,
    });
    this.#clients.push(c);
    return c;
  }

  /** Disconnects the clients; closes the proxy, the control plane, the config dir. */
  async close(): Promise<void> {
    for (const c of this.#clients) c.disconnect();
    await this.mesh.close();
  }

  #ip(host: string): string {
    return host === SINGLE ? this.ips.single : this.ips.cluster;
  }

  /** Like {@link waitFor}, naming the proxy's last NACK in the timeout error. */
  async #wait(check: () => Promise<boolean>, what: string): Promise<void> {
    try {
      await waitFor(check, 10_000, what);
    } catch (error) {
      const nack = this.nacks.at(-1);
      throw nack ? new Error(`${(error as Error).message}; the proxy's last NACK: ${nack}`) : error;
    }
  }
}
