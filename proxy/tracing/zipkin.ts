/**
 * Zipkin v2 JSON span reporter (`envoy.tracers.zipkin` with `collector_endpoint_version: HTTP_JSON`):
 * finished spans are buffered and POSTed as one JSON array to `http://<host of collector_cluster>
 * <collector_endpoint>` when `minFlushSpans` are buffered or `flushIntervalMs` after the first buffered
 * span, whichever comes first. Reporting never blocks or fails the data path: a full buffer drops spans,
 * a failed POST drops its batch; both are counted under `tracing.zipkin.*`.
 *
 * @module
 */
import { at, type ConfigPath, fail, type Obj, str } from "../config_util.ts";
import type { ClusterLookup } from "../extension.ts";
import type { Counter, Stats } from "../stats.ts";

/** The ZipkinConfig type URL. */
export const ZIPKIN_CONFIG_TYPE = "type.googleapis.com/envoy.config.trace.v3.ZipkinConfig";
/** The tracer name. */
export const ZIPKIN_NAME = "envoy.tracers.zipkin";

/** A Zipkin v2 span (JSON model). */
export interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  kind: "CLIENT" | "SERVER";
  /** Start, microseconds since the epoch. */
  timestamp: number;
  /** Microseconds. */
  duration: number;
  localEndpoint: { serviceName: string };
  remoteEndpoint?: { ipv4?: string; port?: number };
  tags: Record<string, string>;
}

/** The parts of ZipkinConfig metamesh uses. */
export interface ZipkinSettings {
  readonly collectorCluster: string;
  readonly collectorEndpoint: string;
  readonly collectorHostname: string;
  readonly traceId128: boolean;
}

/**
 * Reads a `Tracing.Http` provider `{name, typed_config}`; returns `undefined` when it is not Zipkin
 * HTTP_JSON (the caller reports it as unsupported).
 */
export function zipkinSettings(http: Obj, p: ConfigPath): ZipkinSettings | undefined {
  const tc = (http.typed_config ?? {}) as Obj;
  const name = str(http.name, at(p, "name"));
  if (tc["@type"] !== ZIPKIN_CONFIG_TYPE && !(name === ZIPKIN_NAME && tc["@type"] === undefined)) {
    return undefined;
  }
  const version = tc.collector_endpoint_version;
  if (version !== undefined && version !== "HTTP_JSON" && version !== 1) return undefined;
  const collectorCluster = str(tc.collector_cluster, at(p, "typed_config.collector_cluster"));
  if (!collectorCluster) fail(at(p, "typed_config.collector_cluster"), "collector_cluster is required");
  const collectorEndpoint = str(
    tc.collector_endpoint,
    at(p, "typed_config.collector_endpoint"),
    "/api/v2/spans",
  );
  return {
    collectorCluster,
    collectorEndpoint,
    collectorHostname: str(tc.collector_hostname, at(p, "typed_config.collector_hostname")) ||
      collectorCluster,
    traceId128: tc.trace_id_128bit === true,
  };
}

/** Timer functions (replaceable in tests). */
export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(id: unknown): void;
}

const REAL_TIMERS: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (id) => clearTimeout(id as number),
};

/** Options of {@linkcode ZipkinReporter}. */
export interface ReporterOptions {
  flushIntervalMs?: number;
  minFlushSpans?: number;
  maxBufferedSpans?: number;
  timers?: Timers;
}

/** Buffers and ships spans; see module doc. */
export class ZipkinReporter {
  readonly settings: ZipkinSettings;
  #clusters: ClusterLookup;
  #buffer: ZipkinSpan[] = [];
  #timer: unknown;
  #inflight = new Set<Promise<void>>();
  #client: Deno.HttpClient | undefined;
  #closed = false;
  #flushMs: number;
  #minFlush: number;
  #maxBuffer: number;
  #timers: Timers;
  #c: Record<
    | "spansSent"
    | "reportsSent"
    | "reportsDropped"
    | "reportsFailed"
    | "noCluster"
    | "timerFlushed"
    | "spansDropped",
    Counter
  >;

  constructor(settings: ZipkinSettings, clusters: ClusterLookup, stats: Stats, opts: ReporterOptions = {}) {
    this.settings = settings;
    this.#clusters = clusters;
    this.#flushMs = opts.flushIntervalMs ?? 1000;
    this.#minFlush = opts.minFlushSpans ?? 5;
    this.#maxBuffer = opts.maxBufferedSpans ?? 1000;
    this.#timers = opts.timers ?? REAL_TIMERS;
    const c = (n: string) => stats.counter(`tracing.zipkin.${n}`);
    this.#c = {
      spansSent: c("spans_sent"),
      reportsSent: c("reports_sent"),
      reportsDropped: c("reports_dropped"),
      reportsFailed: c("reports_failed"),
      noCluster: c("reports_skipped_no_cluster"),
      timerFlushed: c("timer_flushed"),
      spansDropped: c("spans_dropped"),
    };
  }

  /** Spans waiting to be sent. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Queues a finished span (never throws, never waits). */
  report(span: ZipkinSpan): void {
    if (this.#closed || this.#buffer.length >= this.#maxBuffer) {
      this.#c.spansDropped.inc();
      return;
    }
    this.#buffer.push(span);
    if (this.#buffer.length >= this.#minFlush) this.flush();
    else if (this.#timer === undefined) {
      this.#timer = this.#timers.set(() => {
        this.#timer = undefined;
        this.#c.timerFlushed.inc();
        this.flush();
      }, this.#flushMs);
    }
  }

  /** Sends everything buffered now (asynchronously). */
  flush(): void {
    if (this.#timer !== undefined) {
      this.#timers.clear(this.#timer);
      this.#timer = undefined;
    }
    if (this.#buffer.length === 0) return;
    const spans = this.#buffer;
    this.#buffer = [];
    const ep = this.#clusters.get(this.settings.collectorCluster)?.pick();
    if (!ep) {
      this.#c.noCluster.inc();
      return;
    }
    this.#client ??= Deno.createHttpClient({});
    const url = `http://${ep.address}${this.settings.collectorEndpoint}`;
    const task = fetch(url, {
      method: "POST",
      client: this.#client,
      // fetch cannot set Host: the collector sees its address, not collector_hostname (documented).
      headers: { "content-type": "application/json" },
      body: JSON.stringify(spans),
    }).then(async (res) => {
      await res.body?.cancel();
      if (res.ok) {
        this.#c.reportsSent.inc();
        this.#c.spansSent.inc(spans.length);
      } else this.#c.reportsDropped.inc();
    }, () => this.#c.reportsFailed.inc()).finally(() => this.#inflight.delete(task));
    this.#inflight.add(task);
  }

  /** Flushes, waits for in-flight POSTs and releases the HTTP client. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    await Promise.all(this.#inflight);
    this.#client?.close();
    this.#client = undefined;
  }
}
