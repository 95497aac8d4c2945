/**
 * Several address-less services on one port (metamesh's answer to Aeraki's VIP allocation, which metamesh does
 * not need without iptables/DNS capture).
 *
 * Aeraki gives every ServiceEntry without `addresses` a VIP (240.240.0.0/16) and relies on DNS + iptables to
 * bring each host's traffic to its own `<vip>_<port>` listener. metamesh binds such services on
 * `0.0.0.0_<port>`, so two of them on the same port would need the same listener. When the protocol lets the
 * proxy tell the services apart from each request, they share ONE listener whose RDS route table
 * ({@link sharedRouteName}) is the concatenation of each service's own table, every route made specific to its
 * service by an implicit matcher ({@link implicitMatcher}); otherwise the first service keeps the port and the
 * others are reported.
 *
 * @module
 */
import type { MetaHeaderMatcher, MetaRoute, MetaRouteConfiguration } from "../../crds/route_model.ts";
import { TypeUrls } from "../../crds/protos.ts";
import { packResource, type Resource } from "../xds/resource.ts";
import { ANY_ADDRESS, outboundListeners } from "./listeners.ts";
import { outboundMetaFilter } from "./meta_filters.ts";
import { metaToRds } from "./meta_routes.ts";
import type { MeshService } from "./model.ts";
import { listenerName, sharedRouteName } from "./names.ts";
import type { PortProtocol } from "./protocols.ts";

/** One service claiming the listener `0.0.0.0_<port>`. */
export interface PortClaim {
  readonly service: MeshService;
  readonly protocol: PortProtocol;
  readonly port: number;
  /** Builds its own route table for the port (`<host>_<port>`); `undefined` for non-MetaProtocol listeners. */
  readonly table: () => MetaRouteConfiguration | undefined;
  /** The listener it would get alone. */
  readonly listener: Resource;
}

/** What a contended `0.0.0.0_<port>` becomes. */
export interface SharedPort {
  readonly listener: Resource;
  /** The concatenated RDS route table (absent when the first claimant kept the port alone). */
  readonly route?: Resource;
  /** Services left out, and why. */
  readonly warnings: readonly string[];
}

/**
 * The request attribute that tells `service` apart from other services of its protocol on a shared port:
 * Dubbo → `interface` exact, from the ServiceEntry/Service annotation `interface` (which Aeraki's Dubbo samples
 * carry; the Dubbo codec exposes the request's interface under that key). `undefined` when it cannot be told.
 */
export function implicitMatcher(service: MeshService, protocol: PortProtocol): MetaHeaderMatcher | undefined {
  if (protocol.kind !== "meta") return undefined;
  if (protocol.name === "dubbo") {
    const iface = service.annotations.interface;
    if (iface) return { name: "interface", exact_match: iface };
  }
  return undefined;
}

/**
 * Resolves several claims on `0.0.0.0_<port>` (in host order). The first claim anchors the port; a later claim
 * joins when both are MetaProtocol with the same protocol and codec and every member has a distinct implicit
 * matcher; anything else is left out with a warning (`Cannot add listener …`).
 */
export function sharePort(port: number, claims: readonly PortClaim[]): SharedPort {
  const name = listenerName(ANY_ADDRESS, port);
  const [first, ...rest] = claims;
  const warnings: string[] = [];
  const refuse = (c: PortClaim, why: string) =>
    warnings.push(
      `Cannot add listener ${name} for ${c.service.host}: taken by ${first.service.host} (${why})`,
    );
  const key = (c: PortClaim) => {
    const m = implicitMatcher(c.service, c.protocol);
    return m ? `${m.name}=${m.exact_match}` : undefined;
  };
  const firstKey = key(first);
  if (first.protocol.kind !== "meta" || firstKey === undefined) {
    for (const c of rest) refuse(c, "its requests cannot be told apart");
    return { listener: first.listener, warnings };
  }
  const members = [first];
  const seen = new Set([firstKey]);
  for (const c of rest) {
    const p = c.protocol;
    const k = key(c);
    if (p.kind !== "meta" || p.name !== first.protocol.name || p.codec !== first.protocol.codec) {
      refuse(c, `different protocols cannot share a port`);
    } else if (k === undefined || seen.has(k)) {
      refuse(c, k === undefined ? "its requests cannot be told apart" : `same ${k}`);
    } else {
      members.push(c);
      seen.add(k);
    }
  }
  if (members.length === 1) return { listener: first.listener, warnings };
  const routeName = sharedRouteName(port);
  const table: MetaRouteConfiguration = {
    name: routeName,
    routes: members.flatMap((c) =>
      (c.table()?.routes ?? []).map((r) => specific(r, implicitMatcher(c.service, c.protocol)!))
    ),
  };
  const filter = outboundMetaFilter(first.service.host, port, first.protocol, {
    statPrefix: name,
    routeName,
    destinationService: "",
  });
  const [listener] = outboundListeners([], port, filter);
  return {
    listener: packResource(TypeUrls.listener, listener),
    route: packResource(TypeUrls.routes, metaToRds(table)),
    warnings,
  };
}

/** The route restricted to one service: its implicit matcher first (unless the route already has it). */
function specific(route: MetaRoute, matcher: MetaHeaderMatcher): MetaRoute {
  const metadata = route.match?.metadata ?? [];
  const has = metadata.some((m) => m.name === matcher.name && m.exact_match === matcher.exact_match);
  return { ...route, match: { ...route.match, metadata: has ? metadata : [matcher, ...metadata] } };
}
