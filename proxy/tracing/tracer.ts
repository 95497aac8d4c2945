/**
 * MetaProtocol tracing (spec §4.7): a per-listener {@linkcode MetaFilter} that runs last before the
 * router. It decides sampling the Envoy way (decision packed into `x-request-id` char 14 when the proxy
 * generated the id; later hops reuse it; `x-b3-sampled` from the client wins), opens a span (child of the
 * client's B3 context when present), injects B3 headers into the request mutation and reports the span
 * to Zipkin when the request finishes.
 *
 * @module
 */
import type { Obj } from "../config_util.ts";
import type { FilterRequest, FilterResult, MetaFilter, RequestOutcome } from "../meta/filter_chain.ts";
import type { ZipkinReporter } from "./zipkin.ts";

/** Sampling percentages (0–100) of the MetaProtocol `tracing` block. */
export interface Sampling {
  readonly client: number;
  readonly random: number;
  readonly overall: number;
}

/** Reads an `envoy.type.v3.Percent` (default 100). */
export function percent(v: unknown): number {
  const n = Number((v as Obj | undefined)?.value ?? 100);
  return Number.isFinite(n) ? Math.min(100, Math.max(0, n)) : 100;
}

/** Envoy's stable random: the first 8 hex digits of the UUID, mod 10000, against `pct` in 1/10000 units. */
export function uuidSampled(uuid: string, pct: number): boolean {
  const r = parseInt(uuid.slice(0, 8), 16);
  if (!Number.isFinite(r)) return false;
  return r % 10000 < Math.round(pct * 100);
}

/** Trace status characters packed into UUID char 14 (Envoy's UuidTraceStatus). */
const TRACED = new Set(["9", "a", "b"]);

/**
 * Decides for a proxy-generated id: returns the id with its trace status set ('b' client, 'a' forced,
 * '9' sampled, '4' not traced).
 */
export function decide(uuid: string, headers: ReadonlyMap<string, string>, s: Sampling): string {
  let status = "4";
  if (headers.has("x-client-trace-id") && uuidSampled(uuid, s.client)) status = "b";
  else if (headers.has("x-envoy-force-trace")) status = "a";
  else if (uuidSampled(uuid, s.random)) status = "9";
  if (status !== "4" && !uuidSampled(uuid, s.overall)) status = "4";
  return uuid.length >= 15 ? uuid.slice(0, 14) + status + uuid.slice(15) : uuid;
}

/** Whether an existing x-request-id carries a traced status. */
export function traceable(uuid: string | undefined): boolean {
  return uuid !== undefined && uuid.length === 36 && TRACED.has(uuid[14]);
}

function hexId(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/** Keys Aeraki copies from the metadata into the request mutation after injecting the span. */
const PROPAGATED = [
  "x-request-id",
  "x-b3-traceid",
  "x-b3-spanid",
  "x-b3-parentspanid",
  "x-b3-sampled",
  "x-b3-flags",
];

/** Options of {@linkcode Tracer}. */
export interface TracerOptions {
  readonly sampling: Sampling;
  readonly reporter: ZipkinReporter;
  /** Listener traffic_direction: OUTBOUND = egress (CLIENT spans), else ingress (SERVER spans). */
  readonly direction: string | undefined;
  readonly node: Obj;
  readonly traceId128: boolean;
  /** Wall clock in ms (tests pass a fake). */
  readonly now?: () => number;
}

/** The tracing filter; see module doc. */
export class Tracer implements MetaFilter {
  readonly sampling: Sampling;
  #reporter: ZipkinReporter;
  #egress: boolean;
  #serviceName: string;
  #nodeId: string;
  #zone: string;
  #traceIdBytes: number;
  #now: () => number;

  constructor(o: TracerOptions) {
    this.sampling = o.sampling;
    this.#reporter = o.reporter;
    this.#egress = o.direction === "OUTBOUND";
    this.#nodeId = String(o.node.id ?? "");
    this.#serviceName = String(o.node.cluster || o.node.id || "metamesh");
    this.#zone = String((o.node.locality as Obj | undefined)?.zone ?? "");
    this.#traceIdBytes = o.traceId128 ? 16 : 8;
    this.#now = o.now ?? (() => performance.timeOrigin + performance.now());
  }

  onRequest(req: FilterRequest): FilterResult {
    const h = req.headers;
    let rid = h.get("x-request-id");
    let sampled: boolean;
    if (req.generatedRequestId && rid) {
      rid = decide(rid, h, this.sampling);
      h.set("x-request-id", rid);
      req.mutation.set("x-request-id", rid);
      sampled = traceable(rid);
    } else sampled = traceable(rid);
    const b3 = h.get("x-b3-sampled");
    if (b3 !== undefined) sampled = b3 === "1" || b3 === "true" || b3 === "d";
    const parentId = h.get("x-b3-spanid");
    const traceId = (parentId && h.get("x-b3-traceid")) || hexId(this.#traceIdBytes);
    const id = hexId(8);
    h.set("x-b3-traceid", traceId);
    h.set("x-b3-spanid", id);
    if (parentId) h.set("x-b3-parentspanid", parentId);
    else h.delete("x-b3-parentspanid");
    h.set("x-b3-sampled", sampled ? "1" : "0");
    for (const k of PROPAGATED) {
      const v = h.get(k);
      if (v !== undefined) req.mutation.set(k, v);
    }
    if (!sampled) return undefined;
    const op = req.frame.operation;
    const name = (this.#egress ? "egress" : "ingress") + (op ? ` ${op}` : "");
    const tags: Record<string, string> = {
      "guid:x-request-id": rid ?? "",
      request_size: String(req.frame.bytes.length),
      request_id: String(req.frame.requestId),
      node_id: this.#nodeId,
    };
    const client = h.get("x-client-trace-id");
    if (client !== undefined) tags["guid:x-client-trace-id"] = client;
    if (this.#zone) tags.zone = this.#zone;
    for (const [k, v] of req.frame.metadata) tags[`request metadata: ${k}`] = v;
    const start = this.#now();
    return {
      observer: {
        onFinish: (o) => this.#finish(o, { traceId, id, parentId, name, start, tags }),
      },
    };
  }

  #finish(
    o: RequestOutcome,
    s: {
      traceId: string;
      id: string;
      parentId?: string;
      name: string;
      start: number;
      tags: Record<string, string>;
    },
  ): void {
    const tags = s.tags;
    tags.component = "proxy";
    if (o.cluster !== undefined) {
      tags.upstream_cluster = o.cluster;
      tags["upstream_cluster.name"] = o.cluster;
    }
    if (o.host !== undefined) tags["peer.address"] = o.host;
    tags.response_size = String(o.responseSize);
    if (o.response) { for (const [k, v] of o.response.metadata) tags[`response metadata: ${k}`] = v; }
    if (o.code !== 0) tags.error = "true";
    if (o.details) tags.response_code_details = o.details;
    const end = this.#now();
    this.#reporter.report({
      traceId: s.traceId,
      id: s.id,
      ...(s.parentId ? { parentId: s.parentId } : {}),
      name: s.name,
      kind: this.#egress ? "CLIENT" : "SERVER",
      timestamp: Math.round(s.start * 1000),
      duration: Math.max(1, Math.round((end - s.start) * 1000)),
      localEndpoint: { serviceName: this.#serviceName },
      tags,
    });
  }

  close(): Promise<void> {
    return this.#reporter.close();
  }
}
