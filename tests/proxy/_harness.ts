/**
 * Builds canonical bootstraps around the fake codec and starts the proxy in-process for proxy tests.
 *
 * @module
 */
import { type ProxyHandle, startProxy } from "../../proxy/run.ts";
import { FAKE_CODEC, registerFakeCodec } from "../support/fake_codec.ts";

registerFakeCodec();

/** Options of {@linkcode fakeBootstrap}. */
export interface FakeBootstrapOptions {
  /** Cluster name → endpoint ports on 127.0.0.1 (or full cluster objects). */
  clusters: Record<string, number[] | Record<string, unknown>>;
  /** Meta routes (canonical); default: one catch-all route to the first cluster. */
  routes?: Record<string, unknown>[];
  codec?: string;
  /** Extra MetaProtocolProxy fields (access_log, idle_timeout, meta_protocol_filters, rds...). */
  filter?: Record<string, unknown>;
  listenerPort?: number;
  admin?: boolean;
  lbPolicy?: string;
}

/** A canonical Envoy bootstrap with one MetaProtocol listener on 127.0.0.1. */
export function fakeBootstrap(o: FakeBootstrapOptions): Record<string, unknown> {
  const clusters = Object.entries(o.clusters).map(([name, eps]) =>
    Array.isArray(eps)
      ? {
        name,
        type: "STATIC",
        connect_timeout: { seconds: 1, nanos: 0 },
        ...(o.lbPolicy ? { lb_policy: o.lbPolicy } : {}),
        load_assignment: {
          cluster_name: name,
          endpoints: [{
            lb_endpoints: eps.map((port) => ({
              endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } },
            })),
          }],
        },
      }
      : { name, ...eps }
  );
  const first = Object.keys(o.clusters)[0];
  const filter: Record<string, unknown> = {
    "@type": "type.googleapis.com/aeraki.meta_protocol_proxy.v1alpha.MetaProtocolProxy",
    stat_prefix: "test",
    protocol: { name: "fake", codec: { name: o.codec ?? FAKE_CODEC } },
    ...(o.filter?.rds
      ? {}
      : { route_config: { name: "r", routes: o.routes ?? [{ name: "all", route: { cluster: first } }] } }),
    ...o.filter,
  };
  return {
    node: { id: "test-node" },
    ...(o.admin ? { admin: { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } } } : {}),
    static_resources: {
      listeners: [{
        name: "meta",
        address: { socket_address: { address: "127.0.0.1", port_value: o.listenerPort ?? 0 } },
        filter_chains: [{ filters: [{ name: "aeraki.meta_protocol_proxy", typed_config: filter }] }],
      }],
      clusters,
    },
  };
}

/** A started proxy plus the lines it logged. */
export interface TestProxy {
  handle: ProxyHandle;
  port: number;
  logs: string[];
  close(): Promise<void>;
}

/** Starts the proxy in-process on `bootstrap`. */
export async function startTestProxy(bootstrap: Record<string, unknown>): Promise<TestProxy> {
  const logs: string[] = [];
  const handle = await startProxy({ bootstrap, origin: "test", log: (m) => logs.push(m) });
  return { handle, port: handle.listeners.get("meta")!, logs, close: () => handle.close() };
}

/** Waits until `cond()` holds (polling), or throws after `ms`. */
export async function until(cond: () => boolean, ms = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`Cannot observe ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
