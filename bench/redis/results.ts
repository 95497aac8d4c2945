/**
 * Writes the "## Redis" section of `bench/RESULTS.md`, leaving other sections as they are.
 *
 * @module
 */

const RESULTS = new URL("../RESULTS.md", import.meta.url);

/** Replaces (or appends) the Redis section with `table` and the run's conditions. */
export async function writeResults(
  table: string,
  requests: string,
  rounds: number,
  load: string,
): Promise<void> {
  let text = "";
  try {
    text = await Deno.readTextFile(RESULTS);
  } catch {
    text = "# Benchmark results\n";
  }
  const cpus =
    (await Deno.readTextFile("/proc/cpuinfo")).split("\n").filter((l) => l.startsWith("processor")).length;
  const section = [
    "## Redis",
    "",
    `Run ${
      new Date().toISOString().slice(0, 10)
    } with \`deno run -A bench/redis/run.ts --write\`: \`redis-benchmark -t set,get ` +
    `-n ${requests} -c 50 -d 100 -r 100000 -P 1|16 --csv\` (direct cluster rows use \`--cluster\`), redis-server 7.0, ` +
    `twemproxy 0.5.0 (ketama, fnv1a_64), metamesh filter in its own \`deno\` process (1 upstream connection per node), ` +
    `all on 127.0.0.1, ${cpus} vCPU shared by load generator, proxy and Redis. "upstream conns" = \`connected_clients\` ` +
    "of each master after the run, minus the measuring redis-cli (both proxies stay connected while any path " +
    "runs, so the standalone master shows metamesh's 1 + twemproxy's 1). " +
    `Paths measured interleaved, ${rounds} rounds; each row is the round with the median req/s. ` +
    `"proxy CPU" = user + system time of the proxy process per command. Load average: ${load} ` +
    "(other engineers' tests share the machine, so compare rows of this table only).",
    "",
    table,
    "",
  ].join("\n");
  const start = text.indexOf("## Redis");
  if (start < 0) {
    text = text.trimEnd() + "\n\n" + section;
  } else {
    const next = text.indexOf("\n## ", start + 1);
    text = text.slice(0, start) + section + (next < 0 ? "" : text.slice(next + 1));
  }
  await Deno.writeTextFile(RESULTS, text);
}
