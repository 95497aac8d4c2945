/**
 * One call for `main.ts --mode=control`: the ADS server and the admin server over one snapshot cache.
 *
 * @module
 */
import { type AdminServer, DEFAULT_ADMIN_PORT, startAdminServer } from "./admin.ts";
import type { SnapshotCache } from "./cache.ts";
import { type Log, stderrLog } from "./log.ts";
import { type AdsServer, DEFAULT_XDS_PORT, startAdsServer } from "./server.ts";

/** Options of {@linkcode startControlServer}. */
export interface ControlServerOptions {
  cache: SnapshotCache;
  /** Default 15010; 0 picks a free port. */
  xdsPort?: number;
  /** Default 15014; 0 picks a free port. */
  adminPort?: number;
  /** Default `0.0.0.0`. */
  hostname?: string;
  log?: Log;
  /** Push coalescing window, default 75 ms. */
  debounceMs?: number;
}

/** The running control-plane servers. */
export interface ControlServer {
  readonly xdsPort: number;
  readonly adminPort: number;
  readonly ads: AdsServer;
  readonly admin: AdminServer;
  /** Stops both servers. */
  close(): Promise<void>;
}

/** Starts ADS then admin; if admin fails to bind, ADS is stopped again before rethrowing. */
export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const log = options.log ?? stderrLog();
  const ads = await startAdsServer({
    cache: options.cache,
    port: options.xdsPort ?? DEFAULT_XDS_PORT,
    hostname: options.hostname,
    log,
    debounceMs: options.debounceMs,
  });
  let admin: AdminServer;
  try {
    admin = await startAdminServer({
      cache: options.cache,
      ads,
      port: options.adminPort ?? DEFAULT_ADMIN_PORT,
      hostname: options.hostname,
      log,
    });
  } catch (error) {
    await ads.close();
    throw error;
  }
  return {
    xdsPort: ads.port,
    adminPort: admin.port,
    ads,
    admin,
    async close() {
      await Promise.all([ads.close(), admin.close()]);
    },
  };
}
