/**
 * The MetaProtocol route table (`aeraki.meta_protocol_proxy.config.route.v1alpha.RouteConfiguration`),
 * compiled once: first matching route wins; a route without matchers matches everything.
 *
 * Besides Aeraki's fields, a RouteAction may carry metamesh's `timeout` (Duration) and `retry_policy`
 * (`{num_retries, retry_on}`): see docs in {@linkcode RetryPolicy}.
 *
 * @module
 */
import { at, type ConfigPath, durationMs, fail, list, type Obj, obj, str, wrapped } from "../config_util.ts";
import { compileHeaderMatchers, type MetadataPredicate } from "./header_matcher.ts";

/**
 * Default per-request timeout when a route sets none. Aeraki has no request timeout at all; metamesh
 * bounds every request at 30 s so a silent upstream cannot pin memory forever.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * Retries happen only when nothing came back yet: a failed connect (`connect-failure`) or a connection
 * reset before the response (`reset`). A request that reached the server may run twice: only enable it
 * for idempotent calls. `retry_on` is a comma list; absent = both.
 */
export interface RetryPolicy {
  readonly numRetries: number;
  readonly onConnectFailure: boolean;
  readonly onReset: boolean;
}

/** One mirror target. */
export interface MirrorPolicy {
  readonly cluster: string;
  /** Probability in [0, 1]. */
  readonly fraction: number;
}

/** A compiled route. */
export interface Route {
  readonly name: string;
  readonly matches: MetadataPredicate;
  /** A single cluster, or weighted clusters with cumulative weights. */
  readonly cluster?: string;
  readonly weighted?: { readonly names: string[]; readonly cumulative: number[]; readonly total: number };
  /** Hash-policy keys, sorted (Aeraki sorts them so the order does not matter). */
  readonly hashKeys: readonly string[];
  readonly mirrors: readonly MirrorPolicy[];
  readonly requestMutation: ReadonlyMap<string, string>;
  readonly responseMutation: ReadonlyMap<string, string>;
  readonly timeoutMs: number;
  readonly retry?: RetryPolicy;
}

/** A compiled route configuration. */
export class RouteTable {
  readonly name: string;
  readonly routes: readonly Route[];
  /** The canonical config it was built from (for config_dump). */
  readonly config: Obj;

  constructor(config: Obj, p: ConfigPath) {
    this.config = config;
    this.name = str(config.name, at(p, "name"));
    this.routes = list(config.routes).map((r, i) =>
      compileRoute(obj(r, at(at(p, "routes"), i)), at(at(p, "routes"), i))
    );
  }

  /** The first route whose matchers all hold, or `undefined`. */
  match(headers: ReadonlyMap<string, string>): Route | undefined {
    for (const r of this.routes) if (r.matches(headers)) return r;
    return undefined;
  }

  /** Every cluster name referenced (primary, weighted and mirrors). */
  clusterNames(): Set<string> {
    const out = new Set<string>();
    for (const r of this.routes) {
      if (r.cluster) out.add(r.cluster);
      for (const n of r.weighted?.names ?? []) out.add(n);
      for (const m of r.mirrors) out.add(m.cluster);
    }
    return out;
  }
}

function compileRoute(r: Obj, p: ConfigPath): Route {
  const match = obj(r.match, at(p, "match"));
  const action = obj(r.route, at(p, "route"));
  const ap = at(p, "route");
  if (r.route === undefined) fail(ap, "a route needs an action");
  let cluster: string | undefined;
  let weighted: Route["weighted"];
  if (typeof action.cluster === "string" && action.cluster) {
    cluster = action.cluster;
  } else if (action.weighted_clusters !== undefined) {
    const wp = at(ap, "weighted_clusters");
    const names: string[] = [];
    const cumulative: number[] = [];
    let total = 0;
    list(obj(action.weighted_clusters, wp).clusters).forEach((c, i) => {
      const cp = at(at(wp, "clusters"), i);
      const co = obj(c, cp);
      const name = str(co.name, at(cp, "name"));
      if (!name) fail(at(cp, "name"), "a weighted cluster needs a name");
      const w = wrapped(co.weight, at(cp, "weight"), 0);
      if (w <= 0) return;
      total += w;
      names.push(name);
      cumulative.push(total);
    });
    if (names.length === 0) fail(wp, "weighted_clusters needs at least one cluster with a positive weight");
    weighted = { names, cumulative, total };
  } else {
    fail(ap, "a route action needs cluster or weighted_clusters");
  }
  const mirrors = list(action.request_mirror_policies).map((m, i) => {
    const mp = at(at(ap, "request_mirror_policies"), i);
    const mo = obj(m, mp);
    const name = str(mo.cluster, at(mp, "cluster"));
    if (!name) fail(at(mp, "cluster"), "a mirror policy needs a cluster");
    return { cluster: name, fraction: fraction(mo.runtime_fraction, at(mp, "runtime_fraction")) };
  });
  const hashKeys = list(action.hash_policy).map((k, i) => str(k, at(at(ap, "hash_policy"), i))).sort();
  const timeoutMs = durationMs(action.timeout, at(ap, "timeout"));
  return {
    name: str(r.name, at(p, "name")),
    matches: compileHeaderMatchers(match.metadata, at(at(p, "match"), "metadata")),
    cluster,
    weighted,
    hashKeys,
    mirrors,
    requestMutation: keyValues(r.request_mutation, at(p, "request_mutation")),
    responseMutation: keyValues(r.response_mutation, at(p, "response_mutation")),
    // 0 means "no timeout" in Envoy; we still cap at the default bound.
    timeoutMs: timeoutMs && timeoutMs > 0 ? timeoutMs : DEFAULT_REQUEST_TIMEOUT_MS,
    retry: action.retry_policy === undefined
      ? undefined
      : retryPolicy(obj(action.retry_policy, at(ap, "retry_policy")), at(ap, "retry_policy")),
  };
}

function fraction(rf: unknown, p: ConfigPath): number {
  if (rf === undefined) return 1;
  const dv = obj(obj(rf, p).default_value, at(p, "default_value"));
  const n = wrapped(dv.numerator, at(p, "default_value.numerator"), 0);
  const denom = dv.denominator ?? "HUNDRED";
  const d = denom === "HUNDRED" || denom === 0
    ? 100
    : denom === "TEN_THOUSAND" || denom === 1
    ? 10_000
    : denom === "MILLION" || denom === 2
    ? 1_000_000
    : fail(at(p, "default_value.denominator"), `unknown denominator ${JSON.stringify(denom)}`);
  return Math.min(1, n / d);
}

function keyValues(kvs: unknown, p: ConfigPath): Map<string, string> {
  const out = new Map<string, string>();
  list(kvs).forEach((kv, i) => {
    const o = obj(kv, at(p, i));
    const key = str(o.key, at(at(p, i), "key"));
    if (!key) fail(at(at(p, i), "key"), "a mutation needs a key");
    out.set(key, str(o.value, at(at(p, i), "value")));
  });
  return out;
}

function retryPolicy(r: Obj, p: ConfigPath): RetryPolicy {
  const on = str(r.retry_on, at(p, "retry_on"), "connect-failure,reset").split(",").map((s) => s.trim());
  return {
    numRetries: wrapped(r.num_retries, at(p, "num_retries"), 1),
    onConnectFailure: on.includes("connect-failure"),
    onReset: on.includes("reset"),
  };
}
