/**
 * Test harness for the redis proxy filter: canonical cluster objects, a tiny ClusterLookup, and a
 * listener that hands each accepted connection to `filter.handle` (as the proxy's listener does).
 *
 * @module
 */
import type { Cluster, ClusterLookup, Endpoint } from "../../../proxy/extension.ts";
import {
  createRedisProxyFilter,
  type RedisProxyFilter,
  type RedisProxyOptions,
} from "../../../codecs/redis/mod.ts";

const T = "type.googleapis.com/";

/** A canonical Cluster over loopback ports; `redisCluster` makes it `envoy.clusters.redis`. */
export function makeCluster(
  name: string,
  ports: number[],
  options: { redisCluster?: boolean; password?: string; username?: string } = {},
): Cluster {
  const endpoints: Endpoint[] = ports.map((port) => ({
    host: "127.0.0.1",
    port,
    weight: 1,
    address: `127.0.0.1:${port}`,
  }));
  const config: Record<string, unknown> = { name, connect_timeout: { seconds: 1, nanos: 0 } };
  if (options.redisCluster) {
    config.lb_policy = "CLUSTER_PROVIDED";
    config.cluster_type = {
      name: "envoy.clusters.redis",
      typed_config: {
        "@type": T + "envoy.extensions.clusters.redis.v3.RedisClusterConfig",
        cluster_refresh_rate: { seconds: 1, nanos: 0 },
        cluster_refresh_timeout: { seconds: 1, nanos: 0 },
      },
    };
  }
  if (options.password) {
    config.typed_extension_protocol_options = {
      "envoy.filters.network.redis_proxy": {
        "@type": T + "envoy.extensions.filters.network.redis_proxy.v3.RedisProtocolOptions",
        auth_password: { inline_string: options.password },
        ...(options.username ? { auth_username: { inline_string: options.username } } : {}),
      },
    };
  }
  let i = 0;
  return {
    name,
    config,
    connectTimeoutMs: 1000,
    endpoints: () => endpoints,
    pick: () => endpoints[i++ % endpoints.length],
  };
}

/** A RedisProxy typed_config with a catch-all route to `cluster` plus `extra` fields. */
export function proxyConfig(cluster: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { settings, ...rest } = extra;
  return {
    "@type": T + "envoy.extensions.filters.network.redis_proxy.v3.RedisProxy",
    stat_prefix: "test",
    settings: { op_timeout: { seconds: 5, nanos: 0 }, ...(settings as Record<string, unknown> ?? {}) },
    prefix_routes: { catch_all_route: { cluster } },
    ...rest,
  };
}

/** A running filter behind a loopback listener. */
export interface ProxyUnderTest {
  readonly port: number;
  readonly filter: RedisProxyFilter;
  close(): Promise<void>;
}

/** Builds the filter from `typedConfig`, listens on a free port and serves until `close()`. */
export function startProxy(
  typedConfig: Record<string, unknown>,
  clusters: Cluster[],
  options?: RedisProxyOptions,
): ProxyUnderTest {
  const byName = new Map(clusters.map((c) => [c.name, c]));
  const lookup: ClusterLookup = { get: (name) => byName.get(name) };
  const unsupported: string[] = [];
  const filter = createRedisProxyFilter(typedConfig, {
    clusters: lookup,
    listenerName: "redis-test",
    unsupported: (p) => void unsupported.push(p),
  }, options);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const handled = new Set<Promise<void>>();
  const accepting = (async () => {
    for await (const conn of listener) {
      const done = filter.handle(conn);
      handled.add(done);
      void done.finally(() => handled.delete(done));
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    filter,
    async close() {
      listener.close();
      await accepting.catch(() => {});
      await filter.close();
      await Promise.allSettled([...handled]);
    },
  };
}

/** Sends raw bytes on a new connection and returns what comes back until the peer closes or `ms` pass. */
export async function rawExchange(port: number, bytes: Uint8Array | string, ms = 1000): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
  const chunks: string[] = [];
  const buf = new Uint8Array(65536);
  const timer = setTimeout(() => conn.close(), ms);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(new TextDecoder().decode(buf.subarray(0, n)));
    }
  } catch { /* closed by the timer */ }
  clearTimeout(timer);
  try {
    conn.close();
  } catch { /* closed */ }
  return chunks.join("");
}
