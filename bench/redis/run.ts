/**
 * Redis benchmark: `redis-benchmark` SET/GET, 50 clients, `-P 1` and `-P 16`, against a standalone
 * Redis and a 6-node Redis Cluster: direct, through metamesh (filter in its own deno process) and
 * through twemproxy (standalone only). Prints a table; `--write` also updates `bench/RESULTS.md`.
 *
 * Paths are measured interleaved (direct, metamesh, twemproxy for -P 1, then for -P 16) for `--rounds`
 * rounds; each row reports the round with the median req/s, all rounds' req/s, and the proxy process's
 * CPU time per command (user + system from /proc: steadier than req/s on a shared machine).
 *
 * Usage: `deno run -A bench/redis/run.ts [--requests=N] [--rounds=N] [--write]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { freePort, waitForPort } from "../../tests/support/net.ts";
import { type RedisNode, startRedis, startRedisCluster } from "../../tests/support/redis_peer.ts";
import { writeResults } from "./results.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    requests: { type: "string", default: "200000" },
    rounds: { type: "string", default: "3" },
    write: { type: "boolean" },
  },
});
const REQUESTS = values.requests!;
const ROUNDS = Number(values.rounds);

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
  /** Proxy process CPU (user + system) per command, or null for direct rows. */
  cpuUs: number | null;
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

/** Proxy process CPU time (user + system) in ms, from /proc. */
async function cpuMs(pid: number): Promise<number> {
  const fields = (await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime in 10 ms ticks
}

/** A path under test: its port and, for proxies, the process whose CPU is measured. */
interface Path {
  readonly name: string;
  readonly port: number;
  readonly clusterMode: boolean;
  readonly pid?: number;
}

const samples = new Map<string, Row[]>();
/** Measures every path in turn, for each pipeline depth, `ROUNDS` times (interleaved). */
async function measure(target: string, paths: Path[], nodes: RedisNode[]): Promise<void> {
  for (let round = 0; round < ROUNDS; round++) {
    for (const pipeline of [1, 16]) {
      for (const path of paths) {
        const before = path.pid === undefined ? 0 : await cpuMs(path.pid);
        const result = await benchmark(path.port, pipeline, path.clusterMode);
        const cpu = path.pid === undefined
          ? null
          : ((await cpuMs(path.pid)) - before) * 1000 / (result.size * Number(REQUESTS));
        const conns = await connectedClients(nodes);
        for (const [test, [rps, p50, p99]] of result) {
          const key = `${target}|${path.name}|${pipeline}|${test}`;
          const row = {
            target,
            path: path.name,
            pipeline,
            test,
            rps,
            p50,
            p99,
            upstreamConns: conns,
            cpuUs: cpu,
          };
          samples.set(key, [...(samples.get(key) ?? []), row]);
        }
      }
    }
  }
}

const loadBefore = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
const standalone = await startRedis();
try {
  const [mPort, mChild] = await startMetamesh("standalone", [standalone.port]);
  const [tPort, tChild, tDir] = await startTwemproxy([standalone.port]);
  await measure("standalone", [
    { name: "direct", port: standalone.port, clusterMode: false },
    { name: "metamesh", port: mPort, clusterMode: false, pid: mChild.pid },
    { name: "twemproxy", port: tPort, clusterMode: false, pid: tChild.pid },
  ], [standalone]);
  await stop(mChild);
  await stop(tChild);
  await Deno.remove(tDir, { recursive: true });
} finally {
  await standalone.close();
}
const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
try {
  const [mPort, mChild] = await startMetamesh("cluster", cluster.nodes.map((n) => n.port));
  await measure("cluster 3+3", [
    { name: "direct", port: cluster.nodes[0].port, clusterMode: true },
    { name: "metamesh", port: mPort, clusterMode: false, pid: mChild.pid },
  ], cluster.masters());
  await stop(mChild);
} finally {
  await cluster.close();
}
const loadAfter = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");

/** Per row, the round with the median req/s. */
const order = (r: Row) =>
  `${r.target === "standalone" ? 0 : 1}|${
    r.path === "direct" ? 0 : r.path === "metamesh" ? 1 : 2
  }|${r.pipeline}`;
const rows = [...samples.values()]
  .map((list) => [...list].sort((a, b) => a.rps - b.rps)[Math.floor(list.length / 2)])
  .sort((a, b) =>
    order(a).localeCompare(order(b)) || a.pipeline - b.pipeline || b.test.localeCompare(a.test)
  );

const header =
  "| target | path | -P | test | req/s (median) | req/s (all rounds) | p50 ms | p99 ms | proxy CPU µs/cmd | upstream conns (per master) |";
const lines = [header, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"];
for (const r of rows) {
  const all = samples.get(`${r.target}|${r.path}|${r.pipeline}|${r.test}`)!.map((x) => Math.round(x.rps));
  lines.push(
    `| ${r.target} | ${r.path} | ${r.pipeline} | ${r.test} | ${Math.round(r.rps)} | ${
      all.join(" / ")
    } | ${r.p50} | ${r.p99} | ${r.cpuUs === null ? "-" : r.cpuUs.toFixed(1)} | ${r.upstreamConns} |`,
  );
}
const table = lines.join("\n");
console.log(table);
console.log(`load average before ${loadBefore}, after ${loadAfter}`);
if (values.write) await writeResults(table, REQUESTS, ROUNDS, `${loadBefore} before, ${loadAfter} after`);
