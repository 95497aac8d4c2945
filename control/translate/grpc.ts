/**
 * Proxyless gRPC (ports named `grpc…`): what grpc-js-xds resolves for `xds:///<host>:<port>` — an API listener
 * with an HttpConnectionManager (router filter, RDS over ADS), a RouteConfiguration whose single virtual host
 * carries the VirtualService routes (weights over DestinationRule subsets → weighted_clusters), and EDS clusters.
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
  const routes = (vs?.spec.http ?? []).flatMap((http) => httpRoutes(http, service, port, vs!));
  if (routes.length === 0 || routes.at(-1)!.match !== CATCH_ALL) {
    routes.push({ match: CATCH_ALL, route: { cluster: outboundClusterName(port.number, service.host) } });
  }
  return { name, virtual_hosts: [{ name, domains: [service.host, name], routes }] };
}

const CATCH_ALL: Obj = { prefix: "/" };

function httpRoutes(http: HttpRoute, service: MeshService, port: MeshPort, vs: VirtualService): Obj[] {
  const namespace = vs.metadata.namespace ?? "default";
  const destinations = (http.route ?? []).filter((d) => {
    const p = d.destination?.port?.number;
    return p === undefined || p === port.number;
  });
  if (destinations.length === 0) return [];
  const clusters = destinations.map((d) =>
    outboundClusterName(
      d.destination?.port?.number ?? port.number,
      resolveShortName(d.destination?.host ?? service.host, namespace),
      d.destination?.subset ?? "",
    )
  );
  const action: Obj = clusters.length === 1 ? { cluster: clusters[0] } : {
    weighted_clusters: {
      clusters: clusters.map((name, i) => ({ name, weight: { value: destinations[i].weight ?? 0 } })),
    },
  };
  if (http.timeout) action.timeout = duration(http.timeout);
  const matches = http.match?.length ? http.match.map(routeMatch) : [CATCH_ALL];
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
