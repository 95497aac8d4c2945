/**
 * The route model both modes share: the canonical form of Aeraki's
 * `aeraki.meta_protocol_proxy.config.route.v1alpha.RouteConfiguration` (see crds/proto/). The control plane
 * translates MetaRouters into it (and serves it over RDS as Envoy's RouteConfiguration, as Aeraki does);
 * the proxy compiles it into matchers. Field names are the proto names.
 *
 * @module
 */

/** Envoy `HeaderMatcher` (route_components.proto) as used on metadata keys; one match kind is set. */
export interface MetaHeaderMatcher {
  name: string;
  exact_match?: string;
  prefix_match?: string;
  suffix_match?: string;
  contains_match?: string;
  safe_regex_match?: { regex: string; google_re2?: Record<string, unknown> };
  present_match?: boolean;
  range_match?: { start: number; end: number };
  string_match?: {
    exact?: string;
    prefix?: string;
    suffix?: string;
    contains?: string;
    safe_regex?: { regex: string };
    ignore_case?: boolean;
  };
  invert_match?: boolean;
  treat_missing_header_as_empty?: boolean;
}

/** `envoy.config.core.v3.RuntimeFractionalPercent` (denominator defaults to HUNDRED). */
export interface RuntimeFraction {
  default_value?: { numerator?: number; denominator?: "HUNDRED" | "TEN_THOUSAND" | "MILLION" };
  runtime_key?: string;
}

/** A mirror target. */
export interface MetaMirrorPolicy {
  cluster: string;
  runtime_fraction?: RuntimeFraction;
}

/** One cluster of a weighted split (`envoy.config.route.v3.WeightedCluster.ClusterWeight`, name + weight used). */
export interface MetaClusterWeight {
  name: string;
  weight?: { value: number };
}

/** metamesh extension: retries before any response byte arrived. */
export interface MetaRetryPolicy {
  retry_on?: string;
  num_retries?: { value: number };
  per_try_timeout?: { seconds: number; nanos: number };
}

/** Where a matched request goes. Exactly one of `cluster` / `weighted_clusters`. */
export interface MetaRouteAction {
  cluster?: string;
  weighted_clusters?: { clusters: MetaClusterWeight[]; total_weight?: { value: number } };
  hash_policy?: string[];
  request_mirror_policies?: MetaMirrorPolicy[];
  /** metamesh extension (field 100). */
  timeout?: { seconds: number; nanos: number };
  /** metamesh extension (field 101). */
  retry_policy?: MetaRetryPolicy;
}

/** A key/value mutation entry. */
export interface MetaKeyValue {
  key: string;
  value?: string;
}

/** One route: all `match.metadata` matchers must hold; first matching route wins. */
export interface MetaRoute {
  name?: string;
  match?: { metadata?: MetaHeaderMatcher[] };
  route: MetaRouteAction;
  request_mutation?: MetaKeyValue[];
  response_mutation?: MetaKeyValue[];
}

/** The route table of one MetaProtocol listener (inline `route_config` or fetched over RDS). */
export interface MetaRouteConfiguration {
  name?: string;
  routes?: MetaRoute[];
}
