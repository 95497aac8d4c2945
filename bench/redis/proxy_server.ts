/**
 * Runs the redis_proxy filter alone in its own process for benchmarks:
 * `deno run -A bench/redis/proxy_server.ts <listenPort> <standalone|cluster> <port,port,...>`.
 * Prints `ready` once listening.
 *
 * @module
 */
import { makeCluster, proxyConfig } from "../../tests/codecs/redis/_harness.ts";
import { createRedisProxyFilter } from "../../codecs/redis/mod.ts";

const [listenPort, mode, ports] = Deno.args;
const cluster = makeCluster("bench", ports.split(",").map(Number), { redisCluster: mode === "cluster" });
const filter = createRedisProxyFilter(proxyConfig("bench", { settings: { enable_redirection: true } }), {
  clusters: { get: (name) => (name === "bench" ? cluster : undefined) },
  listenerName: "bench",
  unsupported: () => {},
});
const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(listenPort) });
console.log("ready");
for await (const conn of listener) void filter.handle(conn);
