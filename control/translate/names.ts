/**
 * Aeraki/istiod naming, written once (spec aeraki-control-plane §4). Every generated resource name and stat
 * prefix comes from here, so a route, a listener and the cluster it targets always agree.
 *
 * @module
 */

/** Istio's outbound cluster name: `outbound|<port>|<subset>|<host>` (subset empty for the whole service). */
export function outboundClusterName(port: number, host: string, subset = ""): string {
  return `outbound|${port}|${subset}|${host}`;
}

/** Istio's (≥ 1.8) inbound cluster name `inbound|<port>||`; also the inline inbound route config name. */
export function inboundClusterName(port: number): string {
  return `inbound|${port}||`;
}

/** Aeraki's MetaRDS route config name: `<host>_<port>`. */
export function metaRouteName(host: string, port: number): string {
  return `${host}_${port}`;
}

/**
 * RDS route config name of a `0.0.0.0_<port>` listener shared by several address-less services (metamesh; see
 * `shared_port.ts`): the port number, as istiod names the route table of a wildcard outbound HTTP listener.
 */
export function sharedRouteName(port: number): string {
  return String(port);
}

/** Outbound listener name: `<address>_<port>` (`0.0.0.0_<port>` for a service without addresses). */
export function listenerName(address: string, port: number): string {
  return `${address}_${port}`;
}

/** Stat prefix of an outbound filter (as Aeraki: the whole-service cluster name). */
export function outboundStatPrefix(port: number, host: string): string {
  return outboundClusterName(port, host);
}

/** Stat prefix of an inbound filter (as Aeraki: the inbound cluster name). */
export function inboundStatPrefix(port: number): string {
  return inboundClusterName(port);
}

/** Proxyless gRPC listener, route config and virtual host name: `<host>:<port>` (the `xds:///` target). */
export function grpcListenerName(host: string, port: number): string {
  return `${host}:${port}`;
}

/** Kubernetes service FQDN: `<name>.<namespace>.svc.<domain>`. */
export function serviceFqdn(name: string, namespace: string, domain = DEFAULT_DOMAIN): string {
  return `${name}.${namespace}.svc.${domain}`;
}

/** The Kubernetes DNS domain Aeraki hard-codes. */
export const DEFAULT_DOMAIN = "cluster.local";

/**
 * Istio's `ResolveShortnameToFQDN`: a host without a dot (`reviews`) becomes `reviews.<ns>.svc.cluster.local`;
 * anything else (FQDNs, `*.example.com`, `reviews.other`) is kept.
 */
export function resolveShortName(host: string, namespace: string): string {
  return host.includes(".") || host === "*" ? host : serviceFqdn(host, namespace);
}
