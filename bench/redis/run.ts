/**
 * Redis benchmark: `redis-benchmark` SET/GET, 50 clients, `-P 1` and `-P 16`, against a standalone
 * Redis and a 6-node Redis Cluster: direct, through metamesh (filter in its own deno process) and
 * through twemproxy (standalone only). Prints a table; `--write` also updates `bench/RESULTS.md`.
 *
 * Usage: `deno run -A bench/redis/run.ts [--requests=N] [--write]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { freePort, waitForPort } from "../../tests/support/net.ts";
import { type RedisNode, startRedis, startRedisCluster } from "../../tests/support/redis_peer.ts";
import { writeResults } from "./results.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { requests: { type: "string", default: "200000" }, write: { type: "boolean" } },
});
const REQUESTS = values.requests!;

/** One measured row. */
export interface Row {
  target: string;
  path: string;
  pipeline: number;
  test: string;
  rps: number;
  p50: number;
  p99: number;
  upstreamConns: string;
}

async function benchmark(
  port: number,
  pipeline: number,
  clusterMode: boolean,
): Promise<Map<string, [number, number, number]>> {
  const args = [
    "-h",
    "127.0.0.1",
    "-p",
    String(port),
    "-t",
    "set,get",
    "-n",
    REQUESTS,
    "-c",
    "50",
    "-d",
    "100",
    "-P",
    String(pipeline),
    "-r",
    "100000",
    "--csv",
  ];
  if (clusterMode) args.push("--cluster");
  const out = await new Deno.Command("redis-benchmark", { args, stdout: "piped", stderr: "piped" }).output();
  const rows = new Map<string, [number, number, number]>();
  for (const line of new TextDecoder().decode(out.stdout).split("\n").slice(1)) {
    const cells = line.split(",").map((c) => c.replace(/"/g, ""));
    if (cells.length < 8 || cells[0] === "test") continue;
    // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    rows.set(cells[0], [Number(cells[1]), Number(cells[4]), Number(cells[6])]);
  }
  return rows;
}

async function connectedClients(nodes: RedisNode[]): Promise<string> {
  const counts = await Promise.all(
    nodes.map(async (n) => Number((await n.cli("info", "clients")).match(/connected_clients:(\d+)/)![1]) - 1),
  );
  return counts.join("+");
}

async function startMetamesh(mode: string, ports: number[]): Promise<[number, Deno.ChildProcess]> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./proxy_server.ts", import.meta.url).pathname,
      String(port),
      mode,
      ports.join(","),
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  await waitForPort(port);
  return [port, child];
}

async function startTwemproxy(ports: number[]): Promise<[number, Deno.ChildProcess, string]> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "metamesh-nutcracker-" });
  const servers = ports.map((p) => `    - 127.0.0.1:${p}:1`).join("\n");
  await Deno.writeTextFile(
    `${dir}/nc.yml`,
    `pool:\n  listen: 127.0.0.1:${port}\n  hash: fnv1a_64\n  distribution: ketama\n  redis: true\n  servers:\n${servers}\n`,
  );
  const child = new Deno.Command("nutcracker", {
    args: ["-c", `${dir}/nc.yml`, "-s", String(freePort()), "-a", "127.0.0.1", "-o", `${dir}/nc.log`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitForPort(port);
  return [port, child, dir];
}

async function stop(child: Deno.ChildProcess): Promise<void> {
  child.kill("SIGTERM");
  await child.status;
}

const rows: Row[] = [];
async function measure(
  target: string,
  path: string,
  port: number,
  clusterMode: boolean,
  nodes: RedisNode[],
): Promise<void> {
  for (const pipeline of [1, 16]) {
    const result = await benchmark(port, pipeline, clusterMode);
    const conns = await connectedClients(nodes);
    for (const [test, [rps, p50, p99]] of result) {
      rows.push({ target, path, pipeline, test, rps, p50, p99, upstreamConns: conns });
    }
  }
}

const standalone = await startRedis();
try {
  await measure("standalone", "direct", standalone.port, false, [standalone]);
  const [mPort, mChild] = await startMetamesh("standalone", [standalone.port]);
  await measure("standalone", "metamesh", mPort, false, [standalone]);
  await stop(mChild);
  const [tPort, tChild, tDir] = await startTwemproxy([standalone.port]);
  await measure("standalone", "twemproxy", tPort, false, [standalone]);
  await stop(tChild);
  await Deno.remove(tDir, { recursive: true });
} finally {
  await standalone.close();
}
const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
try {
  await measure("cluster 3+3", "direct", cluster.nodes[0].port, true, cluster.masters());
  const [mPort, mChild] = await startMetamesh("cluster", cluster.nodes.map((n) => n.port));
  await measure("cluster 3+3", "metamesh", mPort, false, cluster.masters());
  await stop(mChild);
} finally {
  await cluster.close();
}

const header = "| target | path | -P | test | req/s | p50 ms | p99 ms | upstream conns (per master) |";
const lines = [header, "| --- | --- | --- | --- | --- | --- | --- | --- |"];
for (const r of rows) {
  lines.push(
    `| ${r.target} | ${r.path} | ${r.pipeline} | ${r.test} | ${
      Math.round(r.rps)
    } | ${r.p50} | ${r.p99} | ${r.upstreamConns} |`,
  );
}
const table = lines.join("\n");
console.log(table);
if (values.write) await writeResults(table, REQUESTS);
