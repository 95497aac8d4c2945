/**
 * Proxy mode entry points: {@linkcode startProxy} builds and starts the runtime from a canonical
 * bootstrap; {@linkcode runProxy} loads a bootstrap file (YAML or JSON), starts, reports unsupported
 * config once and runs until told to shut down (main.ts: SIGINT/SIGTERM).
 *
 * @module
 */
import { type AdminServer, startAdmin } from "./admin.ts";
import { ProxyRuntime, type ResourceUpdate } from "./bootstrap_runtime.ts";
import { type Obj, obj, str } from "./config_util.ts";
import type { Stats } from "./stats.ts";
import { loadBootstrapFile } from "../crds/proto_json.ts";
import { startXdsClient, type XdsClient } from "./xds_client.ts";

export type { ResourceUpdate } from "./bootstrap_runtime.ts";

/** Options of {@linkcode startProxy}. */
export interface StartProxyOptions {
  /** The canonical envoy.config.bootstrap.v3.Bootstrap. */
  readonly bootstrap: Obj;
  /** Where it came from (file path), for error messages. */
  readonly origin: string;
  /** Warning/info sink; default `console.error`. */
  readonly log?: (msg: string) => void;
  /** Field paths the loader did not recognise (`unknown` from toCanonical), reported with ours. */
  readonly unknownFields?: readonly string[];
}

/** A running proxy. */
export interface ProxyHandle {
  /** Listener name → bound port. */
  readonly listeners: ReadonlyMap<string, number>;
  readonly stats: Stats;
  /** The admin port, when the bootstrap has an admin address. */
  readonly adminPort: number | undefined;
  /** The single startup warning listing unsupported/unknown fields, if any. */
  readonly warning: string | undefined;
  /** The xDS client, started when the bootstrap takes config over ADS or RDS. */
  readonly xds: XdsClient | undefined;
  /** Applies xDS resources atomically: `undefined` = ACK, a string = NACK reason (old config kept). */
  applyResources(update: ResourceUpdate): string | undefined;
  /** Upstream connection counts per `cluster::host:port`. */
  upstreamConnections(): Map<string, number>;
  /** Stops everything and flushes access logs. */
  close(): Promise<void>;
}

/** Starts the proxy; throws a config error (with file and field path) on invalid config. */
export function startProxy(opts: StartProxyOptions): Promise<ProxyHandle> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const rt = new ProxyRuntime(log);
  let unsupported: string[];
  try {
    unsupported = rt.load(opts.bootstrap, opts.origin);
  } catch (error) {
    return rt.close().then(() => Promise.reject(error));
  }
  const all = [...(opts.unknownFields ?? []), ...unsupported];
  const warning = all.length
    ? `metamesh proxy: ${opts.origin}: ignoring ${all.length} unsupported config field(s): ${all.join("; ")}`
    : undefined;
  if (warning) log(warning);
  let admin: AdminServer | undefined;
  const adminCfg = obj(opts.bootstrap.admin, { origin: opts.origin, path: "admin" });
  const sa = obj(obj(adminCfg.address, { origin: opts.origin, path: "admin.address" }).socket_address, {
    origin: opts.origin,
    path: "admin.address.socket_address",
  });
  if (sa.port_value !== undefined) {
    try {
      admin = startAdmin(
        rt,
        str(sa.address, { origin: opts.origin, path: "admin.address" }, "127.0.0.1"),
        Number(sa.port_value),
      );
    } catch (error) {
      return rt.close().then(() =>
        Promise.reject(new Error(`Cannot start admin on port ${sa.port_value}: ${error}`))
      );
    }
  }
  const listeners = new Map<string, number>();
  const refresh = () => {
    listeners.clear();
    for (const [n, l] of rt.listeners) listeners.set(n, l.port);
  };
  refresh();
  const node = obj(opts.bootstrap.node, { origin: opts.origin, path: "node" });
  log(
    `metamesh proxy: node ${String(node.id ?? "-")} listening on ${
      [...rt.listeners.values()].map((l) => `${l.name}=${l.host}:${l.port}`).join(", ") || "(none)"
    }`,
  );
  let xds: XdsClient | undefined;
  const handle: ProxyHandle = {
    get xds() {
      return xds;
    },
    listeners,
    stats: rt.stats,
    adminPort: admin?.port,
    warning,
    applyResources(update) {
      const err = rt.applyResources(update);
      refresh();
      return err;
    },
    upstreamConnections: () => rt.upstreams.connectionCounts(),
    async close() {
      await xds?.close();
      await admin?.close();
      await rt.close();
    },
  };
  // Dynamic config (ADS, or MetaProtocol routes over RDS) comes through the xDS client, which applies
  // every update through the handle (ACK) or reports why it could not (NACK).
  if (needsXdsClient(opts.bootstrap)) {
    try {
      xds = startXdsClient({ bootstrap: opts.bootstrap, origin: opts.origin, sink: handle, log });
    } catch (error) {
      return handle.close().then(() => Promise.reject(error));
    }
  }
  return Promise.resolve(handle);
}

/** True when the bootstrap takes config over xDS: ADS, or a static listener whose routes come over RDS. */
function needsXdsClient(bootstrap: Obj): boolean {
  const dynamic = bootstrap.dynamic_resources as Obj | undefined;
  if (dynamic?.ads_config || dynamic?.lds_config || dynamic?.cds_config) return true;
  const listeners = ((bootstrap.static_resources as Obj | undefined)?.listeners ?? []) as Obj[];
  return listeners.some((listener) =>
    ((listener.filter_chains ?? []) as Obj[]).some((chain) =>
      ((chain.filters ?? []) as Obj[]).some((filter) =>
        Boolean((filter.typed_config as Obj | undefined)?.rds)
      )
    )
  );
}

/** Options of {@linkcode runProxy}. */
export interface RunProxyOptions {
  /** "debug" | "info" | "warn" | "error"; at "error" only errors are printed. */
  readonly logLevel?: string;
}

/**
 * Loads `configPath` (YAML or JSON bootstrap), starts the proxy, reports unsupported config once and
 * serves until `shutdown` resolves. Returns the process exit code (1 on a config or bind error).
 */
export async function runProxy(
  configPath: string,
  shutdown: Promise<void>,
  opts: RunProxyOptions = {},
): Promise<number> {
  const quiet = opts.logLevel === "error";
  const log = (m: string) => {
    if (!quiet) console.error(m);
  };
  let handle: ProxyHandle;
  try {
    const { bootstrap, warnings } = loadBootstrapFile(configPath);
    handle = await startProxy({ bootstrap, origin: configPath, unknownFields: warnings, log });
  } catch (error) {
    console.error(`metamesh proxy: ${error instanceof Error ? error.message : error}`);
    return 1;
  }
  await shutdown;
  await handle.close();
  return 0;
}
