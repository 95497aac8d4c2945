/**
 * The router: route match, cluster choice, request mutation, mirroring, upstream send with timeout and
 * retries, and the answer (response or local reply) written back to the downstream connection. One
 * {@linkcode ActiveRequest} per request; responses are written in whatever order they complete.
 *
 * @module
 */
import type { Codec, Frame, LocalErrorKind } from "../../codecs/codec.ts";
import type { LogEntry } from "../access_log.ts";
import { copyBytes } from "../bytes.ts";
import type { Expirable } from "../deadlines.ts";
import type { ClusterImpl } from "../cluster_manager.ts";
import type {
  Ticket,
  UpstreamCallbacks,
  UpstreamConnection,
  UpstreamFailure,
} from "../upstream/connection.ts";
import type { MetaFilterConfig } from "./filter_config.ts";
import type { FilterTarget, RequestObserver } from "./filter_chain.ts";
import type { Route } from "./route_table.ts";

/** Metadata key the proxy adds with the application protocol name. */
export const APP_PROTOCOL_KEY = "x-meta-protocol-application-protocol";
/** Metadata key of the proxy-generated request UUID. */
export const REQUEST_ID_KEY = "x-request-id";

/** What the router needs from the downstream connection. */
export interface Downstream {
  readonly cfg: MetaFilterConfig;
  readonly codec: Codec;
  readonly localAddress: string;
  readonly remoteAddress: string;
  /** Queues bytes for the client (dropped if the connection is gone). */
  write(bytes: Uint8Array): void;
  /** Requests in flight on this connection. */
  active: number;
}

const FAILURE_DETAILS: Record<UpstreamFailure, string> = {
  upstream_connect_failure: "upstream_reset_before_response_started{connection_failure}",
  upstream_reset: "upstream_reset_before_response_started{connection_termination}",
  overloaded: "upstream_overflow",
  bad_response: "upstream_bad_response",
};

/**
 * Adds a generated `x-request-id` to the request's headers and to its mutation (so the upstream sees it).
 *
 * Aeraki's router does this for every request that lacks one. metamesh does it only when something uses
 * the id, because adding it to the mutation forces the codec to re-encode the frame (e.g. a whole
 * attachment map or header block) on every request: when an access log reads `%REQ(X-REQUEST-ID)%`
 * or tracing is configured (`MetaFilterConfig.requestIdEager`: generated before any filter runs), or when
 * the matched route has a request mutation (the frame is re-encoded anyway; generated after route
 * matching, so routes never match on a generated id). An id the client sent is always kept and forwarded.
 */
export function addRequestId(headers: Map<string, string>, mutation: Map<string, string>): void {
  const uuid = crypto.randomUUID();
  headers.set(REQUEST_ID_KEY, uuid);
  mutation.set(REQUEST_ID_KEY, uuid);
}

/** Routes one decoded request or oneway frame (its bytes are copied; the read buffer may move on). */
export function routeRequest(ds: Downstream, decoded: Frame): void {
  const cfg = ds.cfg;
  const st = cfg.stats;
  st.requestDecodingSuccess.inc();
  (decoded.type === "oneway" ? st.requestOneway : st.requestTwoway).inc();
  st.requestActive.inc();
  ds.active++;
  const frame: Frame = { ...decoded, bytes: copyBytes(decoded.bytes) };
  const headers = new Map<string, string>();
  for (const [k, v] of frame.metadata) headers.set(k.toLowerCase(), v);
  headers.set(APP_PROTOCOL_KEY, cfg.appName);
  const mutation = new Map<string, string>();
  if (cfg.requestIdEager && !headers.has(REQUEST_ID_KEY)) addRequestId(headers, mutation);
  const req = new ActiveRequest(ds, frame, headers, mutation);
  if (cfg.rateLimit && !cfg.rateLimit.allow(headers)) {
    req.localReply(
      "rate_limited",
      `meta protocol local rate limit: request '${frame.requestId}' has been rate limited`,
      undefined,
      false,
    );
    return;
  }
  if (cfg.filters) {
    // Configured filters (global rate limit, metadata exchange, stats, tracing) run first; see filter_chain.ts.
    cfg.filters.run({ frame, headers, mutation, generatedRequestId: mutation.has(REQUEST_ID_KEY) }, req);
    return;
  }
  forward(req, cfg, frame, headers);
}

function forward(
  req: ActiveRequest,
  cfg: MetaFilterConfig,
  frame: Frame,
  headers: Map<string, string>,
): void {
  const route = cfg.routes.current()?.match(headers);
  if (!route) {
    req.localReply(
      "route_not_found",
      `meta protocol router: no matched route for request '${frame.requestId}'`,
      "no_matched_route",
    );
    return;
  }
  try {
    req.start(route);
  } catch (error) {
    // A codec that throws on encode fails this request only; the connection and its decoder go on.
    req.localReply(
      "bad_response",
      `meta protocol router: cannot forward request '${frame.requestId}': ${error}`,
      "codec_error",
    );
  }
}

/** One request in flight. */
class ActiveRequest implements UpstreamCallbacks, Expirable, FilterTarget {
  /** Observers from the filter chain (undefined when no filter is configured). */
  observer: RequestObserver | undefined = undefined;
  #response: Frame | undefined;
  #ds: Downstream;
  #frame: Frame;
  #headers: Map<string, string>;
  #mutation: Map<string, string>;
  #start = performance.now();
  #startWall = Date.now();
  #route: Route | undefined;
  #clusterName: string | undefined;
  #cluster: ClusterImpl | undefined;
  #host: string | undefined;
  /** Endpoint counted in the cluster's active map (LEAST_REQUEST), until released. */
  #activeAddr: string | undefined;
  #bytes: Uint8Array | undefined;
  #ticket: Ticket | undefined;
  #retriesLeft = 0;
  #firstSend = true;
  #failedHost: string | undefined;
  #done = false;

  constructor(ds: Downstream, frame: Frame, headers: Map<string, string>, mutation: Map<string, string>) {
    this.#ds = ds;
    this.#frame = frame;
    this.#headers = headers;
    this.#mutation = mutation;
  }

  proceed(): void {
    forward(this, this.#ds.cfg, this.#frame, this.#headers);
  }

  deny(error: { kind: LocalErrorKind; message: string }): void {
    this.localReply(error.kind, error.message, undefined, false);
  }

  start(route: Route): void {
    this.#route = route;
    const w = route.weighted;
    if (w) {
      const r = Math.random() * w.total;
      let i = 0;
      while (i < w.cumulative.length - 1 && r >= w.cumulative[i]) i++;
      this.#clusterName = w.names[i];
    } else {
      this.#clusterName = route.cluster;
    }
    if (route.requestMutation.size > 0 && !this.#headers.has(REQUEST_ID_KEY)) {
      addRequestId(this.#headers, this.#mutation); // the request is re-encoded anyway
    }
    for (const [k, v] of route.requestMutation) this.#mutation.set(k, v);
    const enc = this.#ds.codec.encode(this.#frame, this.#mutation);
    this.#bytes = enc.kind === "bytes" ? enc.bytes : this.#frame.bytes;
    for (const m of route.mirrors) {
      if (m.fraction >= 1 || Math.random() < m.fraction) this.#mirror(m.cluster);
    }
    this.#retriesLeft = route.retry?.numRetries ?? 0;
    if (this.#frame.type !== "oneway") this.#ds.cfg.services.deadlines.add(route.timeoutMs, this);
    this.#attempt();
  }

  #hash(): string | undefined {
    const keys = this.#route!.hashKeys;
    if (keys.length === 0) return undefined;
    let s = "";
    for (const k of keys) s += (this.#frame.metadata.get(k) ?? "") + "\u0000";
    return s;
  }

  #attempt(): void {
    const cfg = this.#ds.cfg;
    const name = this.#clusterName!;
    const cluster = cfg.services.clusters.get(name);
    if (!cluster) {
      this.localReply(
        "cluster_not_found",
        `meta protocol router: unknown cluster '${name}'`,
        "unknown_cluster",
      );
      return;
    }
    let ep = cluster.pick(this.#hash());
    // A retry avoids the host that just failed when the cluster has another (Envoy's previous_hosts).
    for (let i = 0; i < 3 && ep && ep.address === this.#failedHost && cluster.endpoints().length > 1; i++) {
      ep = cluster.pick(Math.random().toString());
    }
    if (!ep) {
      this.localReply(
        "no_healthy_upstream",
        `meta protocol router: no healthy upstream for '${name}'`,
        "no_healthy_upstream",
      );
      return;
    }
    this.#cluster = cluster;
    this.#host = ep.address;
    if (cluster.lbPolicy === "LEAST_REQUEST") {
      this.#activeAddr = ep.address;
      cluster.active.set(ep.address, (cluster.active.get(ep.address) ?? 0) + 1);
    }
    const pool = cfg.services.upstreams.pool(cluster, ep, cfg.factory, cfg.multiplexed);
    const oneway = this.#frame.type === "oneway";
    this.#ticket = pool.send(
      this.#frame,
      this.#ds.codec,
      this.#sendCopy(cfg.multiplexed),
      oneway ? null : this,
    );
    if (oneway) this.#finish(0, undefined, undefined, 0);
  }

  /**
   * Bytes for one upstream send. Multiplexed sends rewrite the id in place, so they need a buffer nobody
   * else reads: the encoded bytes themselves on the first attempt (mirrors copied theirs earlier), a copy
   * after that. The frame's own bytes stay pristine for local replies.
   */
  #sendCopy(multiplexed: boolean): Uint8Array {
    const b = this.#bytes!;
    if (!multiplexed) return b;
    if (this.#firstSend && b !== this.#frame.bytes) {
      this.#firstSend = false;
      return b;
    }
    return copyBytes(b);
  }

  #mirror(clusterName: string): void {
    const cfg = this.#ds.cfg;
    const cluster = cfg.services.clusters.get(clusterName);
    const ep = cluster?.pick(this.#hash());
    if (!cluster || !ep) return;
    const pool = cfg.services.upstreams.pool(cluster, ep, cfg.factory, cfg.multiplexed);
    const oneway = this.#frame.type === "oneway";
    // Multiplexed: send without a pending entry; the answer carries an unknown id and is dropped.
    if (cfg.multiplexed || oneway) {
      pool.send(this.#frame, this.#ds.codec, copyBytes(this.#bytes!), null);
      return;
    }
    let done = false;
    const t = pool.send(this.#frame, this.#ds.codec, copyBytes(this.#bytes!), {
      onResponse: () => (done = true),
      onFailure: () => (done = true),
    });
    cfg.services.deadlines.add(this.#route!.timeoutMs, {
      live: () => !done,
      expired: () => {
        done = true;
        t.cancel();
      },
    });
  }

  onResponse(frame: Frame, codec: Codec, upstream: UpstreamConnection): void {
    if (this.#done) return;
    const ds = this.#ds;
    const cfg = ds.cfg;
    // Mutate first (the codec re-emits the frame with the upstream id), then restore the client's id.
    let bytes: Uint8Array = frame.bytes;
    let rm = this.#route!.responseMutation;
    if (this.observer?.onResponse) {
      const m = new Map(rm);
      this.observer.onResponse(frame, m);
      rm = m;
    }
    if (rm.size > 0) {
      const r = codec.encode(frame, rm);
      if (r.kind === "bytes") bytes = r.bytes;
    }
    if (bytes === frame.bytes) bytes = copyBytes(bytes); // the read buffer moves on: the writer needs its own copy
    if (cfg.multiplexed) bytes = codec.setRequestId(frame, bytes, this.#frame.requestId);
    ds.write(bytes);
    const st = cfg.stats;
    st.response.inc();
    if (frame.type === "error") st.responseBusinessException.inc();
    if (frame.ok) st.responseSuccess.inc();
    else st.responseError.inc();
    let resp: Map<string, string> | undefined;
    if (cfg.accessLogs.length > 0) {
      resp = new Map();
      for (const [k, v] of frame.metadata) resp.set(k.toLowerCase(), v);
    }
    this.#response = frame;
    this.#finish(frame.ok ? 0 : 1, undefined, resp, frame.bytes.length, upstream.localAddress);
  }

  onFailure(kind: UpstreamFailure, reason: string): void {
    if (this.#done) return;
    this.#releaseActive();
    const retry = this.#route?.retry;
    if (
      retry && this.#retriesLeft > 0 &&
      ((kind === "upstream_connect_failure" && retry.onConnectFailure) ||
        (kind === "upstream_reset" && retry.onReset))
    ) {
      this.#retriesLeft--;
      this.#failedHost = this.#host;
      this.#attempt();
      return;
    }
    const localKind: LocalErrorKind = kind;
    const message = kind === "bad_response" ? reason : `meta protocol upstream request: ${reason}`;
    this.localReply(localKind, message, FAILURE_DETAILS[kind], true, reason);
  }

  live(): boolean {
    return !this.#done;
  }

  expired(): void {
    if (this.#done) return;
    this.#ticket?.cancel();
    this.#releaseActive();
    this.localReply(
      "timeout",
      `meta protocol router: upstream request timeout after ${this.#route!.timeoutMs} ms`,
      "upstream_response_timeout",
    );
  }

  /** Answers with the codec's native error reply, logs (unless `log` is false) and finishes. */
  localReply(
    kind: LocalErrorKind,
    message: string,
    details?: string,
    log = true,
    transportFailure?: string,
  ): void {
    if (this.#done) return;
    let reply: Uint8Array | null = null;
    try {
      reply = this.#ds.codec.localReply(this.#frame, { kind, message });
    } catch { /* a codec that cannot render the error: the request is still finished and logged */ }
    if (reply) this.#ds.write(reply);
    this.#ds.cfg.stats.localResponseBusinessException.inc();
    this.#finish(1, details, undefined, 0, undefined, log, transportFailure);
  }

  #releaseActive(): void {
    const c = this.#cluster;
    const a = this.#activeAddr;
    if (c && a) {
      c.active.set(a, Math.max(0, (c.active.get(a) ?? 1) - 1));
      this.#activeAddr = undefined;
    }
  }

  #finish(
    code: number | undefined,
    details: string | undefined,
    resp: Map<string, string> | undefined,
    respSize: number,
    upstreamLocal?: string,
    log = true,
    transportFailure?: string,
  ): void {
    this.#done = true;
    if (this.#frame.type !== "oneway") this.#releaseActive();
    const ds = this.#ds;
    const cfg = ds.cfg;
    cfg.stats.requestActive.dec();
    cfg.stats.request.inc();
    ds.active--;
    this.observer?.onFinish?.({
      code: code ?? 0,
      details,
      cluster: this.#clusterName,
      host: this.#host,
      response: this.#response,
      responseSize: respSize,
    });
    if (!log || cfg.accessLogs.length === 0) return;
    const entry: LogEntry = {
      startMs: this.#startWall,
      headers: this.#headers,
      respHeaders: resp,
      responseCode: code,
      details,
      transportFailure,
      bytesReceived: respSize,
      bytesSent: this.#frame.bytes.length,
      durationMs: performance.now() - this.#start,
      upstreamCluster: this.#clusterName,
      upstreamHost: this.#host,
      upstreamLocal,
      downstreamLocal: ds.localAddress,
      downstreamRemote: ds.remoteAddress,
      routeName: this.#route?.name,
    };
    for (const l of cfg.accessLogs) l.log(entry);
  }
}
