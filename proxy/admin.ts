/**
 * The admin HTTP endpoint (bootstrap `admin.address`): `/ready`, `/stats` (Envoy-like `name: value`),
 * `/stats/prometheus`, `/config_dump` (JSON), `/clusters` (endpoints and upstream connection counts).
 *
 * @module
 */
import type { ProxyRuntime } from "./bootstrap_runtime.ts";

/** A running admin server. */
export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the admin server on `host:port` (port 0 = any). */
export function startAdmin(rt: ProxyRuntime, host: string, port: number): AdminServer {
  const server = Deno.serve({ hostname: host, port, onListen() {} }, (req) => handle(rt, new URL(req.url)));
  return {
    port: server.addr.port,
    close: () => server.shutdown(),
  };
}

function text(body: string, type = "text/plain; charset=utf-8"): Response {
  return new Response(body, { headers: { "content-type": type } });
}

function handle(rt: ProxyRuntime, url: URL): Response {
  switch (url.pathname) {
    case "/ready":
      return text("LIVE\n");
    case "/stats":
      return text(rt.stats.text());
    case "/stats/prometheus":
      return text(rt.stats.prometheus(), "text/plain; version=0.0.4");
    case "/config_dump":
      return text(
        JSON.stringify(
          {
            bootstrap: rt.bootstrap,
            listeners: [...rt.listeners.values()].map((l) => l.config),
            clusters: rt.clusters.all().map((c) => c.config),
            meta_protocol_routes: Object.fromEntries(rt.dynamic.routes),
          },
          null,
          2,
        ),
        "application/json",
      );
    case "/clusters": {
      const counts = rt.upstreams.connectionCounts();
      const lines: string[] = [];
      for (const c of rt.clusters.all()) {
        for (const e of c.endpoints()) {
          const k = `${c.name}::${e.address}`;
          lines.push(`${k}::weight::${e.weight}`, `${k}::cx_active::${counts.get(k) ?? 0}`);
        }
      }
      return text(lines.join("\n") + "\n");
    }
    default:
      return new Response(
        "Cannot find admin page: try /ready, /stats, /stats/prometheus, /config_dump, /clusters\n",
        {
          status: 404,
        },
      );
  }
}
