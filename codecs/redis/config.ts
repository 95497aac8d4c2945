/**
 * Reads the canonical `envoy.extensions.filters.network.redis_proxy.v3.RedisProxy` config (and the
 * cluster-side `RedisProtocolOptions` / `RedisClusterConfig`) into validated, frozen settings.
 * Bad config throws `TypeError` naming the field path.
 *
 * @module
 */

type Obj = Record<string, unknown>;

/** `typed_extension_protocol_options` key Envoy reads upstream AUTH from. */
export const PROTOCOL_OPTIONS_KEY = "envoy.filters.network.redis_proxy";
/** `cluster_type.name` of a Redis Cluster. */
export const REDIS_CLUSTER_TYPE = "envoy.clusters.redis";

/** Read routing of a Redis Cluster (RedisProxy.ConnPoolSettings.ReadPolicy). */
export type ReadPolicy = "MASTER" | "PREFER_MASTER" | "REPLICA" | "PREFER_REPLICA" | "ANY";
const READ_POLICIES: Record<string, ReadPolicy> = {
  MASTER: "MASTER",
  PRIMARY: "MASTER",
  PREFER_MASTER: "PREFER_MASTER",
  PREFER_PRIMARY: "PREFER_MASTER",
  REPLICA: "REPLICA",
  PREFER_REPLICA: "PREFER_REPLICA",
  ANY: "ANY",
};

/** A mirror of a route's traffic. */
export interface MirrorPolicy {
  readonly cluster: string;
  readonly excludeReadCommands: boolean;
  /** Probability in [0, 1] that a command is mirrored. */
  readonly fraction: number;
}

/** A prefix route (or the catch-all when `prefix` is ""). */
export interface Route {
  readonly prefix: string;
  readonly removePrefix: boolean;
  readonly cluster: string;
  readonly mirrors: readonly MirrorPolicy[];
  /** `key_formatter` with `%KEY%` replaced by the key; "" = none. */
  readonly keyFormatter: string;
  /** `read_command_policy.cluster`: reads go there instead; "" = none. */
  readonly readCluster: string;
}

/** A fault (RedisProxy.RedisFault). */
export interface Fault {
  readonly type: "DELAY" | "ERROR";
  /** Probability in [0, 1]. */
  readonly fraction: number;
  readonly delayMs: number;
  /** Lower-case command names; empty = every command. */
  readonly commands: ReadonlySet<string>;
}

/** The filter's validated config. */
export interface RedisProxyConfig {
  readonly statPrefix: string;
  readonly opTimeoutMs: number;
  readonly enableHashtagging: boolean;
  readonly enableRedirection: boolean;
  readonly readPolicy: ReadPolicy;
  /** 0 = flush upstream writes once per batch of downstream reads. */
  readonly maxBufferSizeBeforeFlush: number;
  readonly bufferFlushTimeoutMs: number;
  readonly maxUpstreamUnknownConnections: number;
  readonly routes: readonly Route[];
  readonly caseInsensitive: boolean;
  readonly catchAll: Route | undefined;
  /** Accepted downstream passwords; empty = no downstream AUTH. */
  readonly passwords: readonly string[];
  readonly username: string;
  readonly faults: readonly Fault[];
}

/** Cluster-side settings: upstream AUTH and Redis Cluster refresh knobs. */
export interface UpstreamOptions {
  readonly authUsername: string;
  readonly authPassword: string;
  readonly isRedisCluster: boolean;
  readonly refreshRateMs: number;
  readonly refreshTimeoutMs: number;
  readonly redirectRefreshThreshold: number;
}

function fail(path: string, why: string): never {
  throw new TypeError(`Cannot load redis_proxy config at ${path}: ${why}`);
}

function obj(v: unknown, path: string): Obj {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) fail(path, `expected an object, got ${JSON.stringify(v)}`);
  return v as Obj;
}

function list(v: unknown): unknown[] {
  return v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
}

function str(v: unknown, path: string): string {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") fail(path, `expected a string, got ${JSON.stringify(v)}`);
  return v;
}

function num(v: unknown, path: string, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  const n = typeof v === "string" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) {
    fail(path, `expected a non-negative number, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** A canonical Duration `{seconds, nanos}` in milliseconds (`fallback` when absent). */
export function durationMs(v: unknown, path: string, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  const d = obj(v, path);
  return num(d.seconds, `${path}.seconds`, 0) * 1000 + num(d.nanos, `${path}.nanos`, 0) / 1e6;
}

/** A canonical DataSource's content ("" when absent). */
export function dataSource(v: unknown, path: string): string {
  if (v === undefined || v === null) return "";
  const d = obj(v, path);
  if (d.inline_string !== undefined) return str(d.inline_string, `${path}.inline_string`);
  if (d.inline_bytes !== undefined) {
    return new TextDecoder().decode(
      Uint8Array.from(atob(str(d.inline_bytes, `${path}.inline_bytes`)), (c) => c.charCodeAt(0)),
    );
  }
  if (d.environment_variable !== undefined) {
    const name = str(d.environment_variable, `${path}.environment_variable`);
    const value = Deno.env.get(name);
    if (value === undefined) fail(path, `environment variable '${name}' is not set`);
    return value;
  }
  if (d.filename !== undefined) return Deno.readTextFileSync(str(d.filename, `${path}.filename`)).trim();
  fail(path, "expected one of inline_string, inline_bytes, environment_variable, filename");
}

const DENOMINATORS: Record<string, number> = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 };

/** A canonical RuntimeFractionalPercent (or FractionalPercent) as a probability; absent = `fallback`. */
export function fraction(v: unknown, path: string, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  const o = obj(v, path);
  const fp = o.default_value !== undefined ? obj(o.default_value, `${path}.default_value`) : o;
  const denominator = DENOMINATORS[str(fp.denominator, `${path}.denominator`) || "HUNDRED"];
  if (!denominator) fail(`${path}.denominator`, `unknown denominator ${JSON.stringify(fp.denominator)}`);
  return Math.min(1, num(fp.numerator, `${path}.numerator`, 0) / denominator);
}

function readRoute(v: unknown, path: string, prefixAllowed: boolean): Route {
  const r = obj(v, path);
  const cluster = str(r.cluster, `${path}.cluster`);
  if (!cluster) fail(`${path}.cluster`, "must not be empty");
  const mirrors = list(r.request_mirror_policy).map((m, i): MirrorPolicy => {
    const mp = obj(m, `${path}.request_mirror_policy[${i}]`);
    const mc = str(mp.cluster, `${path}.request_mirror_policy[${i}].cluster`);
    if (!mc) fail(`${path}.request_mirror_policy[${i}].cluster`, "must not be empty");
    return {
      cluster: mc,
      excludeReadCommands: mp.exclude_read_commands === true,
      fraction: fraction(mp.runtime_fraction, `${path}.request_mirror_policy[${i}].runtime_fraction`, 1),
    };
  });
  const keyFormatter = str(r.key_formatter, `${path}.key_formatter`);
  if (keyFormatter && /%(?!KEY%)[A-Z_]+%/.test(keyFormatter)) {
    fail(`${path}.key_formatter`, `only %KEY% is supported, got '${keyFormatter}'`);
  }
  return {
    prefix: prefixAllowed ? str(r.prefix, `${path}.prefix`) : "",
    removePrefix: r.remove_prefix === true,
    cluster,
    mirrors,
    keyFormatter,
    readCluster: str(
      obj(r.read_command_policy, `${path}.read_command_policy`).cluster,
      `${path}.read_command_policy.cluster`,
    ),
  };
}

/** Validates a canonical RedisProxy typed_config. */
export function readRedisProxyConfig(typedConfig: Obj): RedisProxyConfig {
  const settings = obj(typedConfig.settings, "settings");
  const policyName = str(settings.read_policy, "settings.read_policy") || "MASTER";
  const readPolicy = READ_POLICIES[policyName];
  if (!readPolicy) fail("settings.read_policy", `unknown read policy '${policyName}'`);
  const pr = obj(typedConfig.prefix_routes, "prefix_routes");
  const caseInsensitive = pr.case_insensitive === true;
  const routes = list(pr.routes).map((r, i) => readRoute(r, `prefix_routes.routes[${i}]`, true));
  const seen = new Set<string>();
  for (const [i, r] of routes.entries()) {
    const p = caseInsensitive ? r.prefix.toLowerCase() : r.prefix;
    if (seen.has(p)) fail(`prefix_routes.routes[${i}].prefix`, `duplicate prefix '${r.prefix}'`);
    seen.add(p);
  }
  const catchAll = pr.catch_all_route === undefined
    ? undefined
    : readRoute(pr.catch_all_route, "prefix_routes.catch_all_route", false);
  const passwords = [
    dataSource(typedConfig.downstream_auth_password, "downstream_auth_password"),
    ...list(typedConfig.downstream_auth_passwords).map((d, i) =>
      dataSource(d, `downstream_auth_passwords[${i}]`)
    ),
  ].filter((p) => p !== "");
  const faults = list(typedConfig.faults).map((f, i): Fault => {
    const path = `faults[${i}]`;
    const fo = obj(f, path);
    const type = str(fo.fault_type, `${path}.fault_type`) || "DELAY";
    if (type !== "DELAY" && type !== "ERROR") fail(`${path}.fault_type`, `unknown fault type '${type}'`);
    if (fo.fault_enabled === undefined) fail(`${path}.fault_enabled`, "is required");
    return {
      type,
      fraction: fraction(fo.fault_enabled, `${path}.fault_enabled`, 0),
      delayMs: durationMs(fo.delay, `${path}.delay`, 0),
      commands: new Set(list(fo.commands).map((c, j) => str(c, `${path}.commands[${j}]`).toLowerCase())),
    };
  });
  const maxUnknown = settings.max_upstream_unknown_connections;
  return Object.freeze({
    statPrefix: str(typedConfig.stat_prefix, "stat_prefix"),
    opTimeoutMs: durationMs(settings.op_timeout, "settings.op_timeout", 0),
    enableHashtagging: settings.enable_hashtagging === true,
    enableRedirection: settings.enable_redirection === true,
    readPolicy,
    maxBufferSizeBeforeFlush: num(
      settings.max_buffer_size_before_flush,
      "settings.max_buffer_size_before_flush",
      0,
    ),
    bufferFlushTimeoutMs: durationMs(settings.buffer_flush_timeout, "settings.buffer_flush_timeout", 3),
    maxUpstreamUnknownConnections: maxUnknown === undefined ? 100 : num(
      obj(maxUnknown, "settings.max_upstream_unknown_connections").value,
      "settings.max_upstream_unknown_connections.value",
      0,
    ),
    routes,
    caseInsensitive,
    catchAll,
    passwords,
    username: dataSource(typedConfig.downstream_auth_username, "downstream_auth_username"),
    faults,
  });
}

/** Reads upstream AUTH and Redis Cluster settings from a canonical Cluster object. */
export function readUpstreamOptions(cluster: Readonly<Obj>): UpstreamOptions {
  const name = String(cluster.name ?? "");
  const path = `cluster '${name}'`;
  const tepo = obj(cluster.typed_extension_protocol_options, `${path}.typed_extension_protocol_options`);
  const po = obj(tepo[PROTOCOL_OPTIONS_KEY], `${path}.typed_extension_protocol_options`);
  const ct = obj(cluster.cluster_type, `${path}.cluster_type`);
  const isRedisCluster = ct.name === REDIS_CLUSTER_TYPE;
  const rc = obj(ct.typed_config, `${path}.cluster_type.typed_config`);
  return Object.freeze({
    authUsername: dataSource(po.auth_username, `${path}.auth_username`),
    authPassword: dataSource(po.auth_password, `${path}.auth_password`),
    isRedisCluster,
    refreshRateMs: durationMs(rc.cluster_refresh_rate, `${path}.cluster_refresh_rate`, 5000),
    refreshTimeoutMs: durationMs(rc.cluster_refresh_timeout, `${path}.cluster_refresh_timeout`, 3000),
    redirectRefreshThreshold: num(
      obj(rc.redirect_refresh_threshold, `${path}.redirect_refresh_threshold`).value,
      `${path}.redirect_refresh_threshold`,
      5,
    ),
  });
}
