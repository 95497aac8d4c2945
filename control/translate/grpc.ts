/**
 * Proxyless gRPC (ports named `grpc…`): what grpc-js-xds resolves for `xds:///<host>:<port>` — an API listener
 * with an HttpConnectionManager (router filter, RDS over ADS), a RouteConfiguration whose single virtual host
 * carries the VirtualService routes (weights over DestinationRule subsets → weighted_clusters), and EDS clusters.
 *
 * VirtualService rules, as istiod renders them for proxyless nodes:
 * - a VirtualService bound to gateways only (`gateways` without `mesh`) does not apply; nor does a match whose
 *   `gateways` leave out `mesh` or whose `port` is another port;
 * - destinations of weight 0 are left out when others remain; one destination left is a plain `cluster`; when
 *   every weight is 0 (Istio validation rejects it) the destinations share equally rather than send a weight
 *   sum of 0, which gRPC clients NACK;
 * - `timeout` becomes `max_stream_duration` (what gRPC reads; `timeout` is kept for Envoy);
 * - the whole service is the route only without VirtualService routes for the port: as in Istio, a request no
 *   VirtualService route matches has no route.
 *
 * `sourceLabels` matches are not evaluated (proxyless views are shared per namespace): they match every client.
 *
 * @module
 */
import type { VirtualService } from "../../crds/resources/mod.ts";
import { TypeUrls } from "../../crds/protos.ts";
import { adsConfigSource, duration } from "./meta_filters.ts";
import type { MeshPort, MeshService } from "./model.ts";
import { grpcListenerName, outboundClusterName, resolveShortName } from "./names.ts";

type Obj = Record<string, unknown>;
type HttpRoute = NonNullable<VirtualService["spec"]["http"]>[number];
type StringMatch = { exact?: string; prefix?: string; regex?: string };

/** The API listener `<host>:<port>`. */
export function grpcListener(service: MeshService, port: MeshPort): Obj {
  const name = grpcListenerName(service.host, port.number);
  return {
    name,
    api_listener: {
      api_listener: {
        "@type": TypeUrls.httpConnectionManager,
        stat_prefix: name,
        rds: { config_source: adsConfigSource(), route_config_name: name },
        http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": TypeUrls.httpRouter } }],
      },
    },
  };
}

/** The RouteConfiguration `<host>:<port>`: one virtual host, domains `[host, host:port]`. */
export function grpcRoutes(service: MeshService, port: MeshPort): Obj {
  const name = grpcListenerName(service.host, port.number);
  const vs = service.virtualService;
  const routes = vs && appliesToMesh(vs.spec.gateways)
    ? (vs.spec.http ?? []).flatMap((http) => httpRoutes(http, service, port, vs))
    : [];
  if (routes.length === 0) {
    routes.push({ match: CATCH_ALL, route: { cluster: outboundClusterName(port.number, service.host) } });
  }
  return { name, virtual_hosts: [{ name, domains: [service.host, name], routes }] };
}

const CATCH_ALL: Obj = { prefix: "/" };

/** Istio: absent `gateways` means `mesh`; otherwise sidecars and proxyless clients need `mesh` listed. */
function appliesToMesh(gateways: readonly string[] | undefined): boolean {
  return !gateways || gateways.length === 0 || gateways.includes("mesh");
}

function httpRoutes(http: HttpRoute, service: MeshService, port: MeshPort, vs: VirtualService): Obj[] {
  const namespace = vs.metadata.namespace ?? "default";
  let matches: Obj[] = [CATCH_ALL];
  if (http.match?.length) {
    const own = http.match.filter((m) =>
      (m.port === undefined || m.port === port.number) && appliesToMesh(m.gateways)
    );
    if (own.length === 0) return [];
    matches = own.map(routeMatch);
  }
  const all = (http.route ?? []).filter((d) => {
    const p = d.destination?.port?.number;
    return p === undefined || p === port.number;
  });
  if (all.length === 0) return [];
  const weighted = all.filter((d) => (d.weight ?? 0) > 0);
  const destinations = all.length === 1 || weighted.length === 0 ? all : weighted;
  const clusters = destinations.map((d) =>
    outboundClusterName(
      d.destination?.port?.number ?? port.number,
      resolveShortName(d.destination?.host ?? service.host, namespace),
      d.destination?.subset ?? "",
    )
  );
  const action: Obj = clusters.length === 1 ? { cluster: clusters[0] } : {
    weighted_clusters: {
      clusters: clusters.map((name, i) => ({
        name,
        weight: { value: weighted.length ? destinations[i].weight! : 1 },
      })),
    },
  };
  if (http.timeout) {
    action.timeout = duration(http.timeout);
    action.max_stream_duration = { max_stream_duration: duration(http.timeout) };
  }
  return matches.map((match) => {
    const route: Obj = { match, route: action };
    if (http.name) route.name = http.name;
    return route;
  });
}

function routeMatch(m: NonNullable<HttpRoute["match"]>[number]): Obj {
  const out: Obj = {};
  if (m.uri?.exact !== undefined) out.path = m.uri.exact;
  else if (m.uri?.regex !== undefined) out.safe_regex = { regex: m.uri.regex };
  else out.prefix = m.uri?.prefix ?? "/";
  const headers = Object.entries(m.headers ?? {}).map(([name, sm]) => ({
    name,
    string_match: stringMatch(sm),
  }));
  if (headers.length) out.headers = headers;
  return out;
}

function stringMatch(sm: StringMatch): Obj {
  if (sm.exact !== undefined) return { exact: sm.exact };
  if (sm.prefix !== undefined) return { prefix: sm.prefix };
  if (sm.regex !== undefined) return { safe_regex: { regex: sm.regex } };
  return {};
}
