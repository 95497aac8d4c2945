/**
 * Listener shapes: outbound per service address (`<address>_<port>`, `0.0.0.0_<port>` without addresses), the
 * inbound listener of a workload's own service port, and gateway listeners (`0.0.0.0_<server port>`).
 *
 * @module
 */
import { inboundClusterName, listenerName } from "./names.ts";

type Obj = Record<string, unknown>;

/** The address listeners bind when a service has none. */
export const ANY_ADDRESS = "0.0.0.0";

/** One outbound listener per service address, each with `filter` as its only network filter. */
export function outboundListeners(addresses: readonly string[], port: number, filter: Obj): Obj[] {
  const list = addresses.length ? addresses : [ANY_ADDRESS];
  return list.map((address) => listener(listenerName(address, port), address, port, filter, "OUTBOUND"));
}

/**
 * The inbound listener of a workload's service port, named like its cluster `inbound|<port>||` and bound to the
 * workload IP (any address when unknown); Istio's `virtualInbound` filter chain match is not needed without
 * iptables capture.
 */
export function inboundListener(ip: string, port: number, filter: Obj): Obj {
  return listener(inboundClusterName(port), ip || ANY_ADDRESS, port, filter, "INBOUND");
}

/** A gateway listener `0.0.0.0_<port>`. */
export function gatewayListener(port: number, filter: Obj): Obj {
  return listener(listenerName(ANY_ADDRESS, port), ANY_ADDRESS, port, filter, "OUTBOUND");
}

function listener(name: string, address: string, port: number, filter: Obj, direction: string): Obj {
  return {
    name,
    address: { socket_address: { address, port_value: port } },
    filter_chains: [{ filters: [filter] }],
    traffic_direction: direction,
  };
}
