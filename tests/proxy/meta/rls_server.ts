/**
 * A real `envoy.service.ratelimit.v3.RateLimitService` gRPC server (grpc-js) for tests, implementing the
 * rules of an envoyproxy/ratelimit `config.yaml` (domain, descriptors key/value, `rate_limit.unit` and
 * `requests_per_unit`) with fixed windows on an injectable clock, like the reference server.
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { parse } from "yaml";
import { serviceDefinition } from "../../../crds/grpc_services.ts";

type Obj = Record<string, unknown>;

/** One rule of config.yaml (top-level descriptors only). */
export interface RlsRule {
  key: string;
  value?: string;
  unit: "second" | "minute" | "hour" | "day";
  requestsPerUnit: number;
}

/** Reads an envoyproxy/ratelimit config.yaml. */
export function rulesFromConfigYaml(path: string): { domain: string; rules: RlsRule[] } {
  const doc = parse(Deno.readTextFileSync(path)) as Obj;
  const rules = ((doc.descriptors ?? []) as Obj[]).map((d) => {
    const rl = d.rate_limit as Obj;
    return {
      key: String(d.key),
      value: d.value === undefined ? undefined : String(d.value),
      unit: String(rl.unit).toLowerCase() as RlsRule["unit"],
      requestsPerUnit: Number(rl.requests_per_unit),
    };
  });
  return { domain: String(doc.domain), rules };
}

const UNIT_MS = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** A running RLS server. */
export interface RlsServer {
  readonly port: number;
  /** Every RateLimitRequest received (canonical, snake_case). */
  readonly requests: Obj[];
  /** `"answer"` (default) or `"hang"` (never answer, to exercise the caller's deadline). */
  mode: "answer" | "hang";
  close(): Promise<void>;
}

/** Starts the server on a free loopback port; `now` is the clock of the rate windows (ms). */
export async function startRlsServer(
  config: { domain: string; rules: RlsRule[] },
  now: () => number = Date.now,
): Promise<RlsServer> {
  const server = new grpc.Server();
  const counts = new Map<string, number>();
  const requests: Obj[] = [];
  const hanging: (() => void)[] = [];
  const state: RlsServer = {
    port: 0,
    requests,
    mode: "answer",
    close: () => {
      for (const h of hanging.splice(0)) h();
      server.forceShutdown();
      return Promise.resolve();
    },
  };
  server.addService(serviceDefinition("envoy.service.ratelimit.v3.RateLimitService"), {
    ShouldRateLimit: (call: grpc.ServerUnaryCall<Obj, Obj>, cb: grpc.sendUnaryData<Obj>) => {
      const req = call.request;
      requests.push(req);
      if (state.mode === "hang") {
        hanging.push(() => cb({ code: grpc.status.UNAVAILABLE, details: "shutting down" }));
        return;
      }
      let over = false;
      const statuses: Obj[] = [];
      for (const d of (req.descriptors ?? []) as Obj[]) {
        const entries = (d.entries ?? []) as { key: string; value: string }[];
        const e = entries[0];
        const rule = req.domain === config.domain && e
          ? config.rules.find((r) => r.key === e.key && (r.value === undefined || r.value === e.value))
          : undefined;
        if (!rule) {
          statuses.push({ code: "OK" });
          continue;
        }
        const window = Math.floor(now() / UNIT_MS[rule.unit]);
        const k = `${req.domain}|${e.key}|${e.value}|${window}`;
        const n = (counts.get(k) ?? 0) + 1;
        counts.set(k, n);
        const limited = n > rule.requestsPerUnit;
        over ||= limited;
        statuses.push({
          code: limited ? "OVER_LIMIT" : "OK",
          limit_remaining: Math.max(0, rule.requestsPerUnit - n),
        });
      }
      cb(null, { overall_code: over ? "OVER_LIMIT" : "OK", statuses });
    },
  });
  const port = await new Promise<number>((ok, fail) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? fail(e) : ok(p)))
  );
  (state as { port: number }).port = port;
  return state;
}
