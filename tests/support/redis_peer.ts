/**
 * Real Redis peers for tests: standalone `redis-server` processes and Redis Clusters (masters with
 * replicas) on free loopback ports, each node in a fresh temp dir, with persistence off.
 *
 * @module
 */
import { freePort, waitForPort } from "./net.ts";

/** Options of {@linkcode startRedis}. */
export interface RedisOptions {
  port?: number;
  password?: string;
  extraArgs?: string[];
}

/** A running (or stopped, restartable) redis-server. */
export interface RedisNode {
  readonly port: number;
  readonly dir: string;
  /** "master" or "replica" (clusters: as created). */
  role: "master" | "replica";
  /** Runs `redis-cli -p port ...args` and returns its trimmed stdout. */
  cli(...args: string[]): Promise<string>;
  /** Kills the process (SIGKILL: a crash) but keeps its dir; `start()` brings it back on the same port. */
  kill(): Promise<void>;
  /** (Re)starts the process with the same port, dir and args. */
  start(): Promise<void>;
  /** Stops the process and removes its dir. */
  close(): Promise<void>;
}

/** Runs redis-cli and returns trimmed stdout (throws on a non-zero exit). */
export async function redisCli(port: number, args: string[], password?: string): Promise<string> {
  const auth = password ? ["-a", password, "--no-auth-warning"] : [];
  const out = await new Deno.Command("redis-cli", {
    args: ["-h", "127.0.0.1", "-p", String(port), ...auth, ...args],
    stdin: "null",
  })
    .output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(`Cannot run redis-cli ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

class Node implements RedisNode {
  readonly port: number;
  readonly dir: string;
  role: "master" | "replica" = "master";
  #args: string[];
  #password: string | undefined;
  #child: Deno.ChildProcess | null = null;

  constructor(port: number, dir: string, args: string[], password: string | undefined) {
    this.port = port;
    this.dir = dir;
    this.#args = args;
    this.#password = password;
  }

  cli(...args: string[]): Promise<string> {
    return redisCli(this.port, args, this.#password);
  }

  async start(): Promise<void> {
    this.#child = new Deno.Command("redis-server", {
      args: this.#args,
      cwd: this.dir,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    })
      .spawn();
    await waitForPort(this.port);
  }

  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (!child) return;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
  }

  async close(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (child) {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
    }
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** Starts a standalone redis-server on a free (or the given) loopback port. */
export async function startRedis(options: RedisOptions = {}): Promise<RedisNode> {
  const port = options.port ?? freePort();
  const dir = await Deno.makeTempDir({ prefix: "metamesh-redis-" });
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
  ];
  if (options.password) args.push("--requirepass", options.password);
  args.push(...(options.extraArgs ?? []));
  const node = new Node(port, dir, args, options.password);
  await node.start();
  return node;
}

/** Options of {@linkcode startRedisCluster}. */
export interface RedisClusterOptions {
  masters?: number;
  replicasPerMaster?: number;
  password?: string;
  extraArgs?: string[];
}

/** A running Redis Cluster. */
export interface RedisCluster {
  readonly nodes: RedisNode[];
  /** Masters as assigned at creation. */
  masters(): RedisNode[];
  replicas(): RedisNode[];
  close(): Promise<void>;
}

/** Starts `masters × (1 + replicasPerMaster)` nodes and joins them with `redis-cli --cluster create`. */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const count = masters * (1 + replicas);
  const clusterArgs = [
    "--cluster-enabled",
    "yes",
    "--cluster-config-file",
    "nodes.conf",
    "--cluster-node-timeout",
    "5000",
  ];
  if (options.password) clusterArgs.push("--masterauth", options.password);
  const nodes = await Promise.all(
    Array.from(
      { length: count },
      () =>
        startRedis({ password: options.password, extraArgs: [...clusterArgs, ...(options.extraArgs ?? [])] }),
    ),
  );
  const close = async () => void await Promise.all(nodes.map((n) => n.close()));
  try {
    await redisCli(nodes[0].port, [
      "--cluster",
      "create",
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      "--cluster-replicas",
      String(replicas),
      "--cluster-yes",
    ], options.password);
    await waitClusterReady(nodes, masters * replicas);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    nodes,
    masters: () => nodes.filter((n) => n.role === "master"),
    replicas: () => nodes.filter((n) => n.role === "replica"),
    close,
  };
}

/**
 * Redis 7 leaves replicas whose replication offset is still 0 out of CLUSTER SLOTS: one write + delete
 * per master moves the offsets; then every node must list every replica.
 */
async function replicasListed(nodes: RedisNode[]): Promise<boolean> {
  const replicaPorts = nodes.filter((n) => n.role === "replica").map((n) => `\n${n.port}\n`);
  for (let i = 0; i < 12; i++) {
    await redisCli(nodes[0].port, ["-c", "set", `warmup:${i}`, "1"]);
    await redisCli(nodes[0].port, ["-c", "del", `warmup:${i}`]);
  }
  const views = await Promise.all(nodes.map((n) => n.cli("cluster", "slots")));
  return views.every((v) => replicaPorts.every((p) => v.includes(p)));
}

/** Waits until every node sees `cluster_state:ok`, `replicaCount` replicas are attached and listed. */
async function waitClusterReady(nodes: RedisNode[], replicaCount: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const infos = await Promise.all(nodes.map((n) => n.cli("cluster", "info")));
    const roles = await Promise.all(nodes.map((n) => n.cli("role")));
    const attached = roles.filter((r) => r.startsWith("slave") && r.includes("connected")).length;
    if (infos.every((i) => i.includes("cluster_state:ok")) && attached === replicaCount) {
      nodes.forEach((n, i) => (n.role = roles[i].startsWith("master") ? "master" : "replica"));
      if (await replicasListed(nodes)) return;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Cannot form a Redis Cluster within 30 s: ${attached}/${replicaCount} replicas attached`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
