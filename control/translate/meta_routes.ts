/**
 * MetaRouter → meta `RouteConfiguration` (crds/route_model.ts), exactly as Aeraki's MetaRDS builds it
 * (spec aeraki-control-plane §7), and its Envoy RDS carrier form (`metaToRds`, spec meta-protocol-proxy §6).
 *
 * @module
 */
import type { Destination, DestinationRule, MetaRoute as MetaRouteSpec } from "../../crds/resources/mod.ts";
import type { MetaRouteMatch } from "../../crds/resources/metarouter.ts";
import type {
  MetaHeaderMatcher,
  MetaMirrorPolicy,
  MetaRoute,
  MetaRouteAction,
  MetaRouteConfiguration,
} from "../../crds/route_model.ts";
import type { MeshModel, MeshService } from "./model.ts";
import { metaRouteName, outboundClusterName } from "./names.ts";

type Obj = Record<string, unknown>;

/** Aeraki's denominator for mirror/fault percentages: `uint32(p * 10000)` parts per million. */
const PPM_PER_PERCENT = 10_000;

/**
 * The meta route table served as `<host>_<port>` for a MetaProtocol port of `service`. A MetaRouter with at
 * least one route yields one meta route per MetaRoute; otherwise (no MetaRouter, or one with only rate limits)
 * a single `default` route to `outbound|<port>||<host>` carrying the DestinationRule's hash key (Aeraki).
 */
export function buildMetaRoutes(
  model: MeshModel,
  service: MeshService,
  port: number,
): MetaRouteConfiguration {
  const name = metaRouteName(service.host, port);
  const specs = service.metaRouter?.spec.routes ?? [];
  if (specs.length === 0) {
    const route: MetaRouteAction = { cluster: outboundClusterName(port, service.host) };
    const hash = hashKey(service.destinationRule, "");
    if (hash) route.hash_policy = [hash];
    return { name, routes: [{ name: "default", route }] };
  }
  return { name, routes: specs.map((spec) => metaRoute(model, spec, service, port)) };
}

function metaRoute(model: MeshModel, spec: MetaRouteSpec, service: MeshService, port: number): MetaRoute {
  const destinations = (spec.route ?? []).map((d) => d.destination ?? {});
  const weights = (spec.route ?? []).map((d) => d.weight ?? 0);
  const names = destinations.map((d) => clusterOf(d, service, port));
  const action: MetaRouteAction = destinations.length > 1
    ? {
      weighted_clusters: {
        clusters: names.map((n, i) => ({ name: n, weight: { value: weights[i] } })),
        total_weight: { value: weights.reduce((a, b) => a + b, 0) },
      },
    }
    // Aeraki ignores the weight of a single destination; no destination at all is a webhook error (default).
    : { cluster: names[0] ?? outboundClusterName(port, service.host) };
  const hash = destinations
    .map((d) => hashKey(model.byHost.get(d.host ?? service.host)?.destinationRule, d.subset ?? ""))
    .filter((k): k is string => !!k);
  if (hash.length) action.hash_policy = hash;
  if (spec.mirror) {
    const mirror: MetaMirrorPolicy = { cluster: clusterOf(spec.mirror, service, port) };
    const pct = spec.mirrorPercentage?.value ?? 100;
    mirror.runtime_fraction = {
      default_value: { numerator: Math.trunc(pct * PPM_PER_PERCENT), denominator: "MILLION" },
    };
    action.request_mirror_policies = [mirror];
  }
  const route: MetaRoute = { route: action };
  if (spec.name) route.name = spec.name;
  const metadata = headerMatchers(spec.match);
  if (metadata.length) route.match = { metadata };
  const request = keyValues(spec.requestMutation);
  if (request.length) route.request_mutation = request;
  const response = keyValues(spec.responseMutation);
  if (response.length) route.response_mutation = response;
  return route;
}

/**
 * MetaRouter attributes → Envoy HeaderMatchers (AND): exact → `exact_match`, prefix → `prefix_match`, regex →
 * `safe_regex_match` (RE2), regex `"*"` or a null value → `present_match`; `{}` is dropped (Aeraki quirk §10.3).
 * `exact: ""` becomes `present_match`: Aeraki emits `exact_match: ""`, which the Envoy of its data plane treats
 * as "present with any value" (HeaderUtility: `value_.empty() || value == value_`); Aeraki's gateway sample
 * relies on it (`method: {exact: ""}` routes every method), and newer matchers would read it as "empty".
 */
export function headerMatchers(match: MetaRouteMatch | undefined): MetaHeaderMatcher[] {
  const out: MetaHeaderMatcher[] = [];
  for (const [name, m] of Object.entries(match?.attributes ?? {})) {
    if (m === null || m === undefined || m.regex === "*") out.push({ name, present_match: true });
    else if (m.exact === "") out.push({ name, present_match: true });
    else if (m.exact !== undefined) out.push({ name, exact_match: m.exact });
    else if (m.prefix !== undefined) out.push({ name, prefix_match: m.prefix });
    else if (m.regex !== undefined) out.push({ name, safe_regex_match: { google_re2: {}, regex: m.regex } });
  }
  return out;
}

/** `outbound|<dest port or listener port>|<subset>|<dest host or service host>`. */
function clusterOf(d: Destination, service: MeshService, port: number): string {
  return outboundClusterName(d.port?.number || port, d.host ?? service.host, d.subset ?? "");
}

/** The consistent-hash header (= metadata key) of a subset, or of the rule itself when `subset` is empty. */
function hashKey(rule: DestinationRule | undefined, subset: string): string | undefined {
  const policy = subset === ""
    ? rule?.spec.trafficPolicy
    : rule?.spec.subsets?.find((s) => s.name === subset)?.trafficPolicy;
  return policy?.loadBalancer?.consistentHash?.httpHeaderName || undefined;
}

function keyValues(list: { key?: string; value?: string }[] | undefined): { key: string; value: string }[] {
  return (list ?? []).map((kv) => ({ key: kv.key ?? "", value: kv.value ?? "" }));
}

/**
 * The Envoy `envoy.config.route.v3.RouteConfiguration` that carries a meta route table over RDS, as Aeraki
 * sends it: one virtual host `dummy` with domains `*`; per meta route an HTTP route matching prefix `/` plus the
 * metadata matchers as `headers`, the cluster (or weighted clusters), hash keys as `hash_policy[].header`,
 * mirrors, mutations as `request_headers_to_add` / `response_headers_to_add`; metamesh's `timeout` and
 * `retry_policy` ride in the same-named RouteAction fields. Canonical form without `@type`.
 */
export function metaToRds(config: MetaRouteConfiguration): Obj {
  const routes = (config.routes ?? []).map((r): Obj => {
    const match: Obj = { prefix: "/" };
    if (r.match?.metadata?.length) match.headers = r.match.metadata;
    const a = r.route;
    const action: Obj = {};
    if (a.cluster !== undefined) action.cluster = a.cluster;
    if (a.weighted_clusters !== undefined) action.weighted_clusters = a.weighted_clusters;
    if (a.hash_policy?.length) {
      action.hash_policy = a.hash_policy.map((key) => ({ header: { header_name: key } }));
    }
    if (a.request_mirror_policies?.length) action.request_mirror_policies = a.request_mirror_policies;
    if (a.timeout) action.timeout = a.timeout;
    if (a.retry_policy) action.retry_policy = a.retry_policy;
    const route: Obj = { match, route: action };
    if (r.name) route.name = r.name;
    if (r.request_mutation?.length) route.request_headers_to_add = headersToAdd(r.request_mutation);
    if (r.response_mutation?.length) route.response_headers_to_add = headersToAdd(r.response_mutation);
    return route;
  });
  return { name: config.name ?? "", virtual_hosts: [{ name: "dummy", domains: ["*"], routes }] };
}

function headersToAdd(list: { key: string; value?: string }[]): Obj[] {
  return list.map((kv) => ({ header: { key: kv.key, value: kv.value ?? "" } }));
}
