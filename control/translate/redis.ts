/**
 * Redis (`tcp-redis*` ports) as Aeraki generates it (spec aeraki-control-plane §6.5): Envoy's RedisProxy with
 * RedisService routes, mirrors, faults and settings; RedisDestination cluster mode, upstream auth and TCP pool.
 *
 * @module
 */
import { type RedisDestination, secretValue } from "../../crds/resources/mod.ts";
import type { RedisAuth } from "../../crds/resources/redis.ts";
import { TypeUrls } from "../../crds/protos.ts";
import { endpointPort } from "./endpoints.ts";
import { duration, durationFromMs } from "./meta_filters.ts";
import type { MeshModel, MeshPort, MeshService } from "./model.ts";
import { inboundClusterName, inboundStatPrefix, outboundClusterName, outboundStatPrefix } from "./names.ts";

type Obj = Record<string, unknown>;

/** Network filter name of Envoy's Redis proxy. */
export const REDIS_PROXY_FILTER = "envoy.filters.network.redis_proxy";

const PPM_PER_PERCENT = 10_000;
const UINT32_MAX = 4294967295;

/** The outbound RedisProxy filter of `service`'s port. */
export function outboundRedisFilter(model: MeshModel, service: MeshService, port: MeshPort): Obj {
  const rs = service.redisService?.spec;
  const settings: Obj = { op_timeout: durationFromMs(60_000) };
  const config: Obj = { stat_prefix: outboundStatPrefix(port.number, service.host), settings };
  const self = outboundClusterName(port.number, service.host);
  if (!rs) return redisFilter({ ...config, prefix_routes: { catch_all_route: { cluster: self } } });
  const s = rs.settings ?? {};
  if (s.opTimeout) settings.op_timeout = duration(s.opTimeout);
  if (s.enableCommandStats) settings.enable_command_stats = true;
  if (s.enableHashtagging) settings.enable_hashtagging = true;
  if (s.enableRedirection) settings.enable_redirection = true;
  if (s.bufferFlushTimeout) settings.buffer_flush_timeout = duration(s.bufferFlushTimeout);
  if (s.maxBufferSizeBeforeFlush) settings.max_buffer_size_before_flush = s.maxBufferSizeBeforeFlush;
  // Aeraki maps PREFER_REPLICA to PREFER_MASTER (a bug); metamesh keeps the requested policy.
  if (s.readPolicy && s.readPolicy !== "MASTER") settings.read_policy = s.readPolicy;
  const auth = resolveAuth(model, s.auth, service.namespace);
  if (auth?.password) config.downstream_auth_password = { inline_string: auth.password };
  if (auth?.username) config.downstream_auth_username = { inline_string: auth.username };
  const prefixRoutes: Obj = {};
  const routes: Obj[] = [];
  for (const entry of rs.redis ?? []) {
    const route: Obj = { cluster: redisCluster(model, service, entry.route, port) };
    const mirrors = (entry.mirror ?? []).map((m) => {
      const mirror: Obj = { cluster: redisCluster(model, service, m.route, port) };
      if (m.excludeReadCommands) mirror.exclude_read_commands = true;
      if (m.percentage?.value !== undefined) mirror.runtime_fraction = fraction(m.percentage.value);
      return mirror;
    });
    if (mirrors.length) route.request_mirror_policy = mirrors;
    const key = entry.match?.key;
    if (key) {
      routes.push({
        prefix: key.prefix ?? "",
        ...(key.removePrefix ? { remove_prefix: true } : {}),
        ...route,
      });
    } else prefixRoutes.catch_all_route = route; // the last match-less entry wins (Aeraki)
  }
  if (routes.length) prefixRoutes.routes = routes;
  if (!rs.redis?.length) prefixRoutes.catch_all_route = { cluster: self };
  config.prefix_routes = prefixRoutes;
  const faults = (rs.faults ?? []).map((f) => {
    const fault: Obj = { fault_enabled: { default_value: ppm(f.percentage?.value ?? 0) } };
    // Envoy's RedisFaultType: DELAY = 0 (the default, omitted in canonical form), ERROR = 1.
    if (f.type === "ERROR") fault.fault_type = "ERROR";
    if (f.delay) fault.delay = duration(f.delay);
    if (f.commands?.length) fault.commands = f.commands;
    return fault;
  });
  if (faults.length) config.faults = faults;
  return redisFilter(config);
}

/** The inbound RedisProxy: catch-all to `inbound|<port>||`, 1 h op timeout (Aeraki). */
export function inboundRedisFilter(port: MeshPort): Obj {
  return redisFilter({
    stat_prefix: inboundStatPrefix(port.number),
    settings: { op_timeout: durationFromMs(3_600_000) },
    prefix_routes: { catch_all_route: { cluster: inboundClusterName(port.number) } },
  });
}

/**
 * Aeraki's replacement of a Redis service's `outbound|<port>||<host>` cluster: MAGLEV, unlimited circuit breakers,
 * and the RedisDestination's cluster mode (`envoy.clusters.redis`), upstream auth and TCP settings.
 */
export function redisClusterOverrides(
  model: MeshModel,
  service: MeshService,
  port: MeshPort,
  cluster: Obj,
): Obj {
  const out: Obj = { ...cluster, lb_policy: "MAGLEV" };
  out.circuit_breakers = {
    thresholds: [{
      max_connections: { value: UINT32_MAX },
      max_pending_requests: { value: UINT32_MAX },
      max_requests: { value: UINT32_MAX },
      max_retries: { value: UINT32_MAX },
    }],
  };
  const rd: RedisDestination["spec"] | undefined = service.redisDestination?.spec;
  const pool = rd?.trafficPolicy?.connectionPool;
  if (pool?.tcp?.connectTimeout) out.connect_timeout = duration(pool.tcp.connectTimeout);
  if (pool?.tcp?.maxConnections) {
    (out.circuit_breakers as { thresholds: Obj[] }).thresholds[0].max_connections = {
      value: pool.tcp.maxConnections,
    };
  }
  const keepalive = pool?.tcp?.tcpKeepalive;
  if (keepalive) {
    const ka: Obj = {};
    if (keepalive.probes) ka.keepalive_probes = { value: keepalive.probes };
    if (keepalive.time) ka.keepalive_time = { value: Math.trunc(duration(keepalive.time).seconds ?? 0) };
    if (keepalive.interval) {
      ka.keepalive_interval = { value: Math.trunc(duration(keepalive.interval).seconds ?? 0) };
    }
    out.upstream_connection_options = { tcp_keepalive: ka };
  }
  const auth = resolveAuth(model, pool?.redis?.auth, service.namespace);
  if (auth?.password) {
    const options: Obj = {
      "@type": "type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProtocolOptions",
      auth_password: { inline_string: auth.password },
    };
    if (auth.username) options.auth_username = { inline_string: auth.username };
    out.typed_extension_protocol_options = { [REDIS_PROXY_FILTER]: options };
  }
  if (pool?.redis?.mode === "CLUSTER") {
    delete out.type;
    delete out.eds_cluster_config;
    out.cluster_type = {
      name: "envoy.clusters.redis",
      typed_config: { "@type": "type.googleapis.com/envoy.extensions.clusters.redis.v3.RedisClusterConfig" },
    };
    out.lb_policy = "CLUSTER_PROVIDED";
    out.load_assignment = {
      cluster_name: cluster.name,
      endpoints: [{ lb_endpoints: clusterSeeds(service, port, pool.redis.discoveryEndpoints) }],
    };
  }
  return out;
}

/**
 * The seed nodes of a Redis Cluster: `discoveryEndpoints` (`host[:port]`, default port = the service port) when
 * given; else the service's own endpoints (pod IP and target port), which metamesh knows and which need neither
 * cluster DNS nor kube-proxy; else, as Aeraki, `<host>:<port>` (resolved by the proxy).
 */
function clusterSeeds(service: MeshService, port: MeshPort, discovery: readonly string[] | undefined): Obj[] {
  const socket = (address: string, portValue: number) => ({
    endpoint: { address: { socket_address: { address, port_value: portValue } } },
  });
  if (discovery?.length) {
    return discovery.map((seed) => {
      const [address, p] = seed.split(":");
      return socket(address, p ? Number(p) : port.number);
    });
  }
  const seeds = new Map<string, Obj>();
  for (const ep of service.endpoints) {
    if (ep.address === service.host) continue; // a DNS ServiceEntry's implicit endpoint: the fallback below
    const portValue = endpointPort(ep, port);
    seeds.set(`${ep.address}:${portValue}`, socket(ep.address, portValue));
  }
  return seeds.size ? [...seeds.values()] : [socket(service.host, port.number)];
}

/** Whether the cluster no longer uses EDS (cluster mode): then no ClusterLoadAssignment is served. */
export function isRedisClusterMode(service: MeshService): boolean {
  return service.redisDestination?.spec.trafficPolicy?.connectionPool?.redis?.mode === "CLUSTER";
}

function redisFilter(config: Obj): Obj {
  return { name: REDIS_PROXY_FILTER, typed_config: { "@type": TypeUrls.redisProxy, ...config } };
}

/** Route port: the given one, else the port of the service hosting `host` (only / same number / same name). */
function redisCluster(
  model: MeshModel,
  service: MeshService,
  dest: { host?: string; port?: number } | undefined,
  port: MeshPort,
): string {
  const host = dest?.host ?? service.host;
  if (dest?.port) return outboundClusterName(dest.port, host);
  const target = model.byHost.get(host);
  const ports = target?.ports ?? [];
  const chosen = ports.length === 1
    ? ports[0]
    : ports.find((p) => p.number === port.number) ?? ports.find((p) => p.name === port.name);
  return outboundClusterName(chosen?.number ?? port.number, host);
}

function resolveAuth(
  model: MeshModel,
  auth: RedisAuth | undefined,
  namespace: string,
): { password?: string; username?: string } | undefined {
  if (!auth) return undefined;
  if (auth.plain) return { password: auth.plain.password, username: auth.plain.username };
  const ref = auth.secret;
  const secret = ref?.name ? model.secrets.get(`${namespace}/${ref.name}`) : undefined;
  if (!secret || !ref) return undefined;
  const password = ref.passwordField
    ? secretValue(secret, ref.passwordField)
    : secretValue(secret, "password") ?? secretValue(secret, "token");
  // Aeraki 1.3.0 never applies the `username` default; metamesh does when the key exists.
  const username = secretValue(secret, ref.usernameField ?? "username");
  return { password: password?.trim(), username: username?.trim() };
}

function ppm(percent: number): Obj {
  return { numerator: Math.trunc(percent * PPM_PER_PERCENT), denominator: "MILLION" };
}

function fraction(percent: number): Obj {
  return { default_value: ppm(percent) };
}
