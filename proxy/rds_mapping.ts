/**
 * RDS → MetaProtocol routes (shared/specs/meta-protocol-proxy.md §6): Aeraki serves each meta route table
 * as a standard `envoy.config.route.v3.RouteConfiguration` with exactly one virtual host; every HTTP
 * route becomes one `aeraki.meta_protocol_proxy.config.route.v1alpha.Route`. Pure: canonical in,
 * canonical out (it encodes as the meta RouteConfiguration), `TypeError` naming the field on bad input.
 *
 * Mapping: `name`; `match.headers` → `match.metadata` (the HTTP path matcher is ignored);
 * `route.cluster` / `route.weighted_clusters` (name + weight of each); `route.hash_policy[].header.header_name`
 * → `hash_policy`; `route.request_mirror_policies[]` → `{cluster, runtime_fraction: {default_value}}`
 * (the runtime key is dropped); `request_headers_to_add[].header` → `request_mutation`;
 * `response_headers_to_add[].header` → `response_mutation`; metamesh extensions `route.timeout` and
 * `route.retry_policy` (`retry_on`, `num_retries`, `per_try_timeout`).
 *
 * @module
 */

type Obj = Record<string, unknown>;

/**
 * Converts a canonical Envoy RouteConfiguration into a canonical meta RouteConfiguration. `origin`
 * names the source in errors (e.g. `xds:RDS outbound|20880||demo`). More than one virtual host is an
 * error (Aeraki never sends that); none gives an empty table.
 */
export function metaRouteConfigFromRds(rc: Readonly<Obj>, origin = "RDS"): Obj {
  const name = String(rc.name ?? "");
  const where = `${origin} '${name}'`;
  const vhosts = list(rc.virtual_hosts, `${where}: virtual_hosts`);
  if (vhosts.length > 1) {
    throw new TypeError(
      `Cannot map ${where}: ${vhosts.length} virtual hosts, a meta route table has exactly one`,
    );
  }
  const routes = vhosts.length ? list(vhosts[0].routes, `${where}: virtual_hosts[0].routes`) : [];
  return { name, routes: routes.map((r, i) => metaRoute(r, `${where}: virtual_hosts[0].routes[${i}]`)) };
}

function metaRoute(route: Obj, path: string): Obj {
  const action = object(route.route, `${path}.route`);
  if (action.cluster === undefined && action.weighted_clusters === undefined) {
    throw new TypeError(`Cannot map ${path}.route: a meta route needs cluster or weighted_clusters`);
  }
  const out: Obj = { name: String(route.name ?? "") };
  const headers = list(object(route.match, `${path}.match`).headers, `${path}.match.headers`);
  out.match = headers.length ? { metadata: headers } : {};
  out.route = metaAction(action, `${path}.route`);
  const req = mutations(route.request_headers_to_add, `${path}.request_headers_to_add`);
  const resp = mutations(route.response_headers_to_add, `${path}.response_headers_to_add`);
  if (req.length) out.request_mutation = req;
  if (resp.length) out.response_mutation = resp;
  return out;
}

function metaAction(action: Obj, path: string): Obj {
  const out: Obj = {};
  if (action.cluster !== undefined) {
    out.cluster = String(action.cluster);
  } else {
    const wc = object(action.weighted_clusters, `${path}.weighted_clusters`);
    const clusters = list(wc.clusters, `${path}.weighted_clusters.clusters`).map((c) => ({
      name: String(c.name ?? ""),
      ...(c.weight !== undefined ? { weight: c.weight } : {}),
    }));
    out.weighted_clusters = {
      clusters,
      ...(wc.total_weight !== undefined ? { total_weight: wc.total_weight } : {}),
    };
  }
  const hash = list(action.hash_policy, `${path}.hash_policy`)
    .map((h) => (h.header as Obj | undefined)?.header_name)
    .filter((h): h is string => typeof h === "string" && h !== "");
  if (hash.length) out.hash_policy = hash;
  const mirrors = list(action.request_mirror_policies, `${path}.request_mirror_policies`).map((m) => {
    const mirror: Obj = { cluster: String(m.cluster ?? "") };
    const fraction = (m.runtime_fraction as Obj | undefined)?.default_value;
    if (fraction !== undefined) mirror.runtime_fraction = { default_value: fraction };
    return mirror;
  });
  if (mirrors.length) out.request_mirror_policies = mirrors;
  if (action.timeout !== undefined) out.timeout = action.timeout;
  if (action.retry_policy !== undefined) {
    const rp = object(action.retry_policy, `${path}.retry_policy`);
    const retry: Obj = {};
    for (const key of ["retry_on", "num_retries", "per_try_timeout"]) {
      if (rp[key] !== undefined) retry[key] = rp[key];
    }
    out.retry_policy = retry;
  }
  return out;
}

function mutations(value: unknown, path: string): Obj[] {
  return list(value, path).map((option, i) => {
    const header = object(option.header, `${path}[${i}].header`);
    if (!header.key) throw new TypeError(`Cannot map ${path}[${i}].header: the key is empty`);
    return { key: String(header.key), value: String(header.value ?? "") };
  });
}

function object(value: unknown, path: string): Obj {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`Cannot map ${path}: not an object`);
  }
  return value as Obj;
}

function list(value: unknown, path: string): Obj[] {
  if (value === undefined || value === null) return [];
  const items = Array.isArray(value) ? value : [value];
  items.forEach((v, i) => object(v, `${path}[${i}]`));
  return items as Obj[];
}
