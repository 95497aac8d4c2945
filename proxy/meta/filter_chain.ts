/**
 * The hook between the router and the optional MetaProtocol filters (spec §4.1): global rate limit,
 * metadata exchange, Istio stats and tracing. Each configured filter sees a request once before routing
 * (it may add to the request mutation, deny it, or pause it on a promise) and may return an observer that
 * sees the response (to add to the response mutation) and the request's end (to report stats or spans).
 *
 * A listener with none of these filters has no chain at all (`undefined`), so the data path pays nothing.
 *
 * @module
 */
import type { Frame, LocalError } from "../../codecs/codec.ts";

/** What a filter sees of a request, before routing. */
export interface FilterRequest {
  /** The request frame (bytes owned by the proxy). */
  readonly frame: Frame;
  /** Lower-cased request metadata, including `x-request-id` and the application protocol key. */
  readonly headers: Map<string, string>;
  /** The request mutation the router applies when forwarding (filters add to it). */
  readonly mutation: Map<string, string>;
  /** Whether the proxy generated `x-request-id` for this request (it is the first hop). */
  readonly generatedRequestId: boolean;
}

/** How a request ended, as observers see it. */
export interface RequestOutcome {
  /** 0 = OK, 1 = error (access-log `%RESPONSE_CODE%`). */
  readonly code: number;
  /** `%RESPONSE_CODE_DETAILS%` when the proxy answered or failed. */
  readonly details: string | undefined;
  /** The chosen upstream cluster, if routing got that far. */
  readonly cluster: string | undefined;
  /** The upstream host `ip:port`, if one was picked. */
  readonly host: string | undefined;
  /** The decoded upstream response, when one came back. */
  readonly response: Frame | undefined;
  /** Response size in bytes (0 for local replies). */
  readonly responseSize: number;
}

/** Per-request callbacks a filter may return from {@linkcode MetaFilter.onRequest}. */
export interface RequestObserver {
  /** A response came back: `mutation` is the response mutation the codec applies (add to it). */
  onResponse?(response: Frame, mutation: Map<string, string>): void;
  /** The request is finished (answered, failed, or sent one-way). Called exactly once. */
  onFinish?(outcome: RequestOutcome): void;
}

/** What a filter decides about one request. `undefined` = continue with no observer. */
export type FilterResult = undefined | {
  /** Answer locally with this error instead of routing. */
  readonly deny?: LocalError;
  readonly observer?: RequestObserver;
};

/** One configured MetaProtocol filter (router and local rate limit are built in elsewhere). */
export interface MetaFilter {
  /** Runs before routing; a promise pauses this request only (the connection keeps decoding). */
  onRequest(req: FilterRequest): FilterResult | Promise<FilterResult>;
  /** Releases clients, timers and buffers (flushes what it can). */
  close?(): Promise<void>;
}

/** What the chain drives: the router's request. */
export interface FilterTarget {
  /** Observers of this request (set by the chain before it continues or denies). */
  observer: RequestObserver | undefined;
  /** Continues with routing. */
  proceed(): void;
  /** Answers locally (no access log, like Aeraki's filter replies) and finishes. */
  deny(error: LocalError): void;
}

class Observers implements RequestObserver {
  #list: RequestObserver[] = [];
  add(o: RequestObserver): void {
    this.#list.push(o);
  }
  get single(): RequestObserver | undefined {
    return this.#list.length === 0 ? undefined : this;
  }
  onResponse(response: Frame, mutation: Map<string, string>): void {
    for (const o of this.#list) {
      try {
        o.onResponse?.(response, mutation);
      } catch { /* an observer never fails the request */ }
    }
  }
  onFinish(outcome: RequestOutcome): void {
    for (const o of this.#list) {
      try {
        o.onFinish?.(outcome);
      } catch { /* an observer never fails the request */ }
    }
  }
}

/** The configured filters of one MetaProtocolProxy, run in configured order. */
export class MetaFilterChain {
  readonly filters: readonly MetaFilter[];

  constructor(filters: readonly MetaFilter[]) {
    this.filters = filters;
  }

  /** Runs every filter for `req`, then calls `target.proceed()` or `target.deny()`. Never throws. */
  run(req: FilterRequest, target: FilterTarget): void {
    this.#step(req, target, new Observers(), 0);
  }

  #step(req: FilterRequest, target: FilterTarget, obs: Observers, from: number): void {
    for (let i = from; i < this.filters.length; i++) {
      let r: FilterResult | Promise<FilterResult>;
      try {
        r = this.filters[i].onRequest(req);
      } catch (error) {
        target.observer = obs.single;
        target.deny({ kind: "bad_response", message: `meta protocol filter error: ${error}` });
        return;
      }
      if (r instanceof Promise) {
        r.then(
          (v) => this.#after(v, req, target, obs, i),
          (error) => {
            target.observer = obs.single;
            target.deny({ kind: "bad_response", message: `meta protocol filter error: ${error}` });
          },
        );
        return;
      }
      if (r?.observer) obs.add(r.observer);
      if (r?.deny) {
        target.observer = obs.single;
        target.deny(r.deny);
        return;
      }
    }
    target.observer = obs.single;
    target.proceed();
  }

  #after(r: FilterResult, req: FilterRequest, target: FilterTarget, obs: Observers, i: number): void {
    if (r?.observer) obs.add(r.observer);
    if (r?.deny) {
      target.observer = obs.single;
      target.deny(r.deny);
      return;
    }
    this.#step(req, target, obs, i + 1);
  }

  /** Closes every filter. */
  async close(): Promise<void> {
    await Promise.all(this.filters.map((f) => f.close?.().catch(() => {})));
  }
}
