/**
 * The control plane's admin HTTP server (`--admin-port`, default 15014): `/ready`, `/metrics`,
 * `/debug/config_dump?node=<id>` and `/debug/connections`.
 *
 * @module
 */
import type { SnapshotCache } from "./cache.ts";
import { type Log, silentLog } from "./log.ts";
import type { AdsServer } from "./server.ts";

/** Default admin port (istiod's monitoring port). */
export const DEFAULT_ADMIN_PORT = 15014;

/** Options of {@linkcode startAdminServer}. */
export interface AdminServerOptions {
  cache: SnapshotCache;
  ads: AdsServer;
  /** Port to bind; 0 picks a free one. Default 15014. */
  port?: number;
  /** Default `0.0.0.0`. */
  hostname?: string;
  log?: Log;
}

/** A running admin server. */
export interface AdminServer {
  readonly port: number;
  /** Stops listening. Safe to call twice. */
  close(): Promise<void>;
}

/** Starts the admin server; resolves once it listens. */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const log = options.log ?? silentLog;
  const hostname = options.hostname ?? "0.0.0.0";
  const { promise: listening, resolve } = Promise.withResolvers<number>();
  const server = Deno.serve(
    { hostname, port: options.port ?? DEFAULT_ADMIN_PORT, onListen: ({ port }) => resolve(port) },
    (request) => handle(options, request),
  );
  const port = await listening;
  log("info", `control-plane admin listening on ${hostname}:${port}`);
  let closed: Promise<void> | undefined;
  return {
    port,
    close() {
      closed ??= server.shutdown();
      return closed;
    },
  };
}

function handle({ cache, ads }: AdminServerOptions, request: Request): Response {
  const url = new URL(request.url);
  switch (url.pathname) {
    case "/ready":
      return cache.ready ? text("ready\n") : text("Cannot serve yet: no snapshot built\n", 503);
    case "/metrics":
      return text(ads.metrics.render(cache.stats), 200, "text/plain; version=0.0.4");
    case "/debug/connections":
      return json({ streams: ads.streams() });
    case "/debug/config_dump": {
      const id = url.searchParams.get("node");
      if (!id) return text("Cannot dump config: the 'node' query parameter is missing\n", 400);
      // Prefer the full node of a connected stream: the key function may look beyond the id.
      const node = ads.nodes().find((n) => n.id === id) ?? { id };
      const snapshot = cache.snapshotFor(node);
      if (!snapshot) return text(`Cannot dump config: no snapshot for node '${id}'\n`, 404);
      return json({ node: id, node_key: cache.nodeKeyOf(node), ...snapshot.toJSON() });
    }
    default:
      return text("endpoints: /ready /metrics /debug/config_dump?node=<id> /debug/connections\n", 404);
  }
}

function text(body: string, status = 200, type = "text/plain; charset=utf-8"): Response {
  return new Response(body, { status, headers: { "content-type": type } });
}

function json(value: unknown): Response {
  return new Response(JSON.stringify(value, null, 2) + "\n", {
    headers: { "content-type": "application/json" },
  });
}
